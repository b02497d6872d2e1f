"""Shapes from a cooperative run's generator: one forward pass, optionally refined by the
descriptor's Langevin dynamics; latent interpolation (Figure 6) and arithmetic (Figure 7).

python -m gvoxel.generate --workdir=runs/coop_chair --num=16 --out=gen
python -m gvoxel.generate --workdir=runs/coop_chair --out=gen --interpolate=8
python -m gvoxel.generate --workdir=runs/coop_chair --out=gen --arithmetic --latents=z.npz

--latents=FILE.npz holds `z` (N, latent_dim): the vectors to generate from (sampling), taken
in pairs (interpolation: one strip per pair) or in triples a, b, c (arithmetic: a − b + c).
Every run writes the vectors it used to OUT/latents.npz, so good ones can be reused.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from gvoxel import cli, train, visual
from gvoxel.data.dataset import atomic_output, save_voxels
from gvoxel.errors import ConfigError, InputError

_WORKDIR = flags.DEFINE_string(
    "workdir", None, "a cooperative training workdir", allow_override=True
)
_OUT = flags.DEFINE_string("out", None, "output folder", allow_override=True)
_NUM = flags.DEFINE_integer(
    "num", 16, "shapes to sample (ignored with --latents)", allow_override=True
)
_REFINE = flags.DEFINE_integer(
    "refine_steps", 0, "Langevin steps of the descriptor after g", allow_override=True
)
_NOISE = flags.DEFINE_bool("noise", True, "Langevin noise while refining", allow_override=True)
_INTERP = flags.DEFINE_integer(
    "interpolate", 0, "shapes per interpolation strip (>= 2)", allow_override=True
)
_ARITH = flags.DEFINE_bool(
    "arithmetic", False, "latent arithmetic z_a − z_b + z_c", allow_override=True
)
_LATENTS = flags.DEFINE_string(
    "latents", None, "FILE.npz with z (N, latent_dim)", allow_override=True
)
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed", allow_override=True)
_STEP = flags.DEFINE_integer(
    "step", None, "checkpoint iteration (default: latest)", allow_override=True
)
_FORMATS = flags.DEFINE_list(
    "formats", ["obj"], "mesh formats: obj, ply, stl, glb", allow_override=True
)
flags.mark_flags_as_required(["workdir", "out"])


def interpolation_latents(z_a, z_b, n: int):
    """n vectors from z_a to z_b on the straight line; the ends are z_a and z_b exactly."""
    t = jnp.linspace(0.0, 1.0, n)[:, None]
    return (1.0 - t) * z_a[None] + t * z_b[None]


def arithmetic_latents(z_a, z_b, z_c):
    return z_a - z_b + z_c


def load_latents(path: str, latent_dim: int) -> np.ndarray:
    if not os.path.isfile(path):
        raise InputError(f"--latents {path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "z" not in f.files:
                raise InputError(f"--latents {path}: no array 'z' (has {', '.join(f.files)})")
            z = np.asarray(f["z"], np.float32)
    except (OSError, ValueError) as e:
        raise InputError(f"--latents {path}: not a readable .npz ({e})") from e
    if z.ndim != 2 or z.shape[1] != latent_dim or len(z) == 0:
        raise InputError(
            f"--latents {path}: z must be (N, {latent_dim}) for this generator, got {z.shape}"
        )
    if not np.isfinite(z).all():
        raise InputError(f"--latents {path}: z holds NaN or inf")
    return z


def check_flags():
    if _NUM.value < 1:
        raise ConfigError(f"--num must be positive, got {_NUM.value}")
    if _REFINE.value < 0:
        raise ConfigError(f"--refine_steps must be >= 0, got {_REFINE.value}")
    if _INTERP.value and _INTERP.value < 2:
        raise ConfigError(f"--interpolate needs at least 2 shapes per strip, got {_INTERP.value}")


def _grouped(z: np.ndarray, k: int, what: str) -> np.ndarray:
    if len(z) % k:
        raise InputError(f"{what} takes the --latents vectors in groups of {k}, got {len(z)}")
    return z.reshape(-1, k, z.shape[1])


def main(argv):
    if len(argv) > 1:
        raise ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
    check_flags()
    exp, state, step = train.load_experiment(_WORKDIR.value, _STEP.value)
    if exp.config.variant != "cooperative":
        raise ConfigError(
            f"{_WORKDIR.value} holds a {exp.config.variant!r} run; gvoxel.generate needs a "
            "cooperative one (use gvoxel.sample)"
        )
    v = exp.variant
    rng = jax.random.PRNGKey(_SEED.value)
    k_z, k_refine = jax.random.split(rng)
    refine_steps = _REFINE.value

    @jax.jit
    def shapes(state, z, rng):
        y = v.generate(state, z)
        if refine_steps:
            y = v.refine(state, rng, y, refine_steps, _NOISE.value)
        return v.postprocess(state, y)

    def run(z):
        return np.asarray(jax.device_get(shapes(state, jnp.asarray(z), k_refine)))

    os.makedirs(_OUT.value, exist_ok=True)
    formats = tuple(_FORMATS.value)
    if _LATENTS.value:
        z = load_latents(_LATENTS.value, v.latent_dim)
    else:
        n = 3 if _ARITH.value else 2 if _INTERP.value else _NUM.value
        z = np.asarray(v.latents(k_z, n))
    with atomic_output(os.path.join(_OUT.value, "latents.npz")) as tmp, open(tmp, "wb") as f:
        np.savez(f, z=z)
    written = []

    if _INTERP.value:
        pairs = _grouped(z, 2, "--interpolate")
        strips = [run(interpolation_latents(a, b, _INTERP.value)) for a, b in pairs]
        path = os.path.join(_OUT.value, "interpolation.png")
        visual.save_rows(strips, path, columns_titles=_interp_titles(_INTERP.value))
        save_voxels(os.path.join(_OUT.value, "interpolation.npz"), np.stack(strips))
        for i, strip in enumerate(strips):
            visual.export_meshes(
                strip, os.path.join(_OUT.value, "interpolation_meshes"), f"strip{i}", formats
            )
        written.append(path)
    if _ARITH.value:
        triples = _grouped(z, 3, "--arithmetic")
        rows = []
        for a, b, c in triples:
            rows.append(run(np.stack([a, b, c, arithmetic_latents(a, b, c)])))
        path = os.path.join(_OUT.value, "arithmetic.png")
        titles = ["z_a", "z_b", "z_c", "z_a − z_b + z_c"]
        visual.save_rows(rows, path, columns_titles=titles)
        save_voxels(os.path.join(_OUT.value, "arithmetic.npz"), np.stack(rows))
        for i, row in enumerate(rows):
            visual.export_meshes(
                row, os.path.join(_OUT.value, "arithmetic_meshes"), f"eq{i}", formats
            )
        written.append(path)
    if not (_INTERP.value or _ARITH.value):
        grids = run(z)
        prefix = "refined" if refine_steps else "generated"
        written.append(visual.write_samples(grids, _OUT.value, prefix, formats=formats)["png"])
    print(f"checkpoint {step}: wrote {', '.join(written)}")


def _interp_titles(n: int):
    return [f"{t:.2f}" for t in np.linspace(0.0, 1.0, n)]


if __name__ == "__main__":
    cli.run(main)
