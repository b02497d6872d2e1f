"""Shapes from a cooperative run's generator: one forward pass, optionally refined by the
descriptor's Langevin dynamics; latent interpolation (Figure 6) and arithmetic (Figure 7).

python -m gvoxel generate --workdir=runs/coop_chair --num=16 --out=gen
python -m gvoxel generate --workdir=runs/coop_chair --out=gen --interpolate=8
python -m gvoxel generate --workdir=runs/coop_chair --out=gen --arithmetic --latents=z.npz

--latents=FILE.npz holds `z` (N, latent_dim): the vectors to generate from (sampling), taken
in pairs (interpolation: one strip per pair) or in triples a, b, c (arithmetic: a − b + c,
scaled to their mean norm).
Every run writes the vectors it used to OUT/latents.npz, so good ones can be reused.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from gvoxel import visual
from gvoxel.cli import common
from gvoxel.cli import flags as shared
from gvoxel.data.files import atomic_output, save_voxels
from gvoxel.errors import ConfigError, InputError
from gvoxel.experiment import run as run_lib
from gvoxel.variants import base

_INTERP = flags.DEFINE_integer("interpolate", 0, "generate: shapes per interpolation strip (>= 2)")
_ARITH = flags.DEFINE_bool(
    "arithmetic", False, "generate: latent arithmetic z_a − z_b + z_c (at the inputs' mean norm)"
)
_LATENTS = flags.DEFINE_string("latents", None, "generate: FILE.npz with z (N, latent_dim)")
NUM = 16


def interpolation_latents(z_a, z_b, n: int):
    """n vectors from z_a to z_b on the straight line; the ends are z_a and z_b exactly."""
    t = jnp.linspace(0.0, 1.0, n)[:, None]
    return (1.0 - t) * z_a[None] + t * z_b[None]


def arithmetic_latents(z_a, z_b, z_c):
    """z_a − z_b + z_c scaled to the three inputs' mean norm: the plain sum has √3 the norm
    of a typical latent, where g draws over-filled blobs; the direction is the arithmetic."""
    v = z_a - z_b + z_c
    norm = (np.linalg.norm(z_a) + np.linalg.norm(z_b) + np.linalg.norm(z_c)) / 3.0
    return v * (norm / max(float(np.linalg.norm(v)), 1e-12))


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


def check_flags() -> int:
    """Checks the flags; returns the Langevin refinement steps (0: g(Z) alone)."""
    if shared.value_or(shared.NUM, NUM) < 1:
        raise ConfigError(f"--num must be positive, got {shared.NUM.value}")
    refine_steps = shared.value_or(shared.LANGEVIN_STEPS, 0)
    if refine_steps < 0:
        raise ConfigError(f"--langevin_steps must be >= 0, got {refine_steps}")
    if _INTERP.value and _INTERP.value < 2:
        raise ConfigError(f"--interpolate needs at least 2 shapes per strip, got {_INTERP.value}")
    return refine_steps


def _grouped(z: np.ndarray, k: int, what: str) -> np.ndarray:
    if len(z) % k:
        raise InputError(f"{what} takes the --latents vectors in groups of {k}, got {len(z)}")
    return z.reshape(-1, k, z.shape[1])


def main(argv):
    del argv
    refine_steps = check_flags()
    exp, state, step = run_lib.load_experiment(shared.WORKDIR.value, shared.CHECKPOINT.value)
    v = base.require(exp.variant, exp.config.variant, "generate from latents")
    rng = jax.random.PRNGKey(shared.SEED.value)
    noise = shared.value_or(shared.NOISE, True)
    k_z, k_refine = jax.random.split(rng)

    @jax.jit
    def shapes(state, z, rng):
        y = v.generate(state, z)
        if refine_steps:
            y = v.refine(state, rng, y, refine_steps, noise)
        return v.postprocess(state, y)

    def run(z):
        return np.asarray(jax.device_get(shapes(state, jnp.asarray(z), k_refine)))

    out = shared.OUT.value
    os.makedirs(out, exist_ok=True)
    formats = tuple(shared.FORMATS.value)
    if _LATENTS.value:
        z = load_latents(_LATENTS.value, v.latent_dim)
    else:
        n = 3 if _ARITH.value else 2 if _INTERP.value else shared.value_or(shared.NUM, NUM)
        z = np.asarray(v.latents(k_z, n))
    with atomic_output(os.path.join(out, "latents.npz")) as tmp, open(tmp, "wb") as f:
        np.savez(f, z=z)
    written = []

    if _INTERP.value:
        pairs = _grouped(z, 2, "--interpolate")
        strips = [run(interpolation_latents(a, b, _INTERP.value)) for a, b in pairs]
        path = os.path.join(out, "interpolation.png")
        visual.save_rows(strips, path, columns_titles=_interp_titles(_INTERP.value))
        save_voxels(os.path.join(out, "interpolation.npz"), np.stack(strips))
        for i, strip in enumerate(strips):
            visual.export_meshes(
                strip, os.path.join(out, "interpolation_meshes"), f"strip{i}", formats
            )
        written.append(path)
    if _ARITH.value:
        triples = _grouped(z, 3, "--arithmetic")
        rows = []
        for a, b, c in triples:
            rows.append(run(np.stack([a, b, c, arithmetic_latents(a, b, c)])))
        path = os.path.join(out, "arithmetic.png")
        titles = ["z_a", "z_b", "z_c", "z_a − z_b + z_c"]
        visual.save_rows(rows, path, columns_titles=titles)
        save_voxels(os.path.join(out, "arithmetic.npz"), np.stack(rows))
        for i, row in enumerate(rows):
            visual.export_meshes(row, os.path.join(out, "arithmetic_meshes"), f"eq{i}", formats)
        written.append(path)
    if not (_INTERP.value or _ARITH.value):
        grids = run(z)
        prefix = "refined" if refine_steps else "generated"
        written.append(visual.write_samples(grids, out, prefix, formats=formats)["png"])
    print(f"checkpoint {step}: wrote {', '.join(written)}")


def _interp_titles(n: int):
    return [f"{t:.2f}" for t in np.linspace(0.0, 1.0, n)]


REQUIRED = ("workdir", "out")

if __name__ == "__main__":
    common.run(main, REQUIRED)
