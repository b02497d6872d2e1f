"""3D object recovery with a trained `recovery` model: fill in the missing voxels.

python -m gvoxel.recover --workdir=runs/recovery --input=shapes.npz --corrupt=0.7 --out=rec
python -m gvoxel.recover --workdir=runs/recovery --input=scans.npz --mask=mask.npz --out=rec

With --corrupt the input shapes are originals: a fraction of their voxels is hidden (the
training config's corruption kind unless --kind), recovered, and the recovery error over
the hidden voxels is reported. With --mask (key `voxels`, 1 = visible, one mask per shape or
one for all) the input's visible voxels are the known part. Writes recovered.npz/.png
(the chains' soft occupancies), recovered_binary.npz/.png and meshes (hidden voxels
thresholded at 0.5), input.npz/.png, mask.npz and comparison.png (original / input / recovered).
"""

from __future__ import annotations

import os

import jax
import numpy as np
from absl import flags

from gvoxel import cli, completion, corruption, data, train, visual
from gvoxel.conditional_metrics import recovery_error
from gvoxel.errors import ConfigError, InputError

_WORKDIR = flags.DEFINE_string("workdir", None, "a recovery training workdir", allow_override=True)
_INPUT = flags.DEFINE_string(
    "input", None, "shapes (.npz/.npy/.binvox/.mat or bundled:NAME)", allow_override=True
)
_MASK = flags.DEFINE_string("mask", None, "visibility mask file (1 = visible)", allow_override=True)
_CORRUPT = flags.DEFINE_float(
    "corrupt", None, "hide this fraction of each input's voxels", allow_override=True
)
_KIND = flags.DEFINE_enum(
    "kind", None, list(corruption.KINDS[:-1]), "with --corrupt", allow_override=True
)
_NUM = flags.DEFINE_integer(
    "num", 0, "use the first NUM input shapes (0 = all)", allow_override=True
)
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed (masks and Langevin noise)", allow_override=True)
_STEPS = flags.DEFINE_integer(
    "steps", None, "Langevin steps (default: the config's K)", allow_override=True
)
_NOISE = flags.DEFINE_bool(
    "noise", None, "Langevin noise (default: the config's test_noise)", allow_override=True
)
_STEP = flags.DEFINE_integer(
    "step", None, "checkpoint iteration (default: latest)", allow_override=True
)
_OUT = flags.DEFINE_string("out", None, "output folder", allow_override=True)
_FORMATS = flags.DEFINE_list(
    "formats", ["obj"], "mesh formats: obj, ply, stl, glb", allow_override=True
)
flags.mark_flags_as_required(["workdir", "input", "out"])


def load_shapes(path, resolution, num):
    shapes = data.load_voxels(path).voxels.astype(np.float32)
    if num < 0:
        raise ConfigError(f"--num must be >= 0, got {num}")
    shapes = shapes[:num] if num else shapes
    if shapes.shape[-1] != resolution:
        raise InputError(
            f"{path}: shapes are {shapes.shape[-1]}^3 but the model was trained at {resolution}^3"
        )
    return shapes


def load_mask(path, shapes):
    mask = data.load_voxels(path).voxels
    if mask.shape[1:] != shapes.shape[1:] or len(mask) not in (1, len(shapes)):
        raise InputError(
            f"{path}: mask shape {mask.shape} does not fit {len(shapes)} inputs of "
            f"{shapes.shape[1:]} (give one mask, or one per shape)"
        )
    return np.broadcast_to(mask > 0.5, shapes.shape)


def main(argv):
    if len(argv) > 1:
        raise ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
    if (_MASK.value is None) == (_CORRUPT.value is None):
        raise ConfigError("give exactly one of --mask (known visibility) or --corrupt (fraction)")
    exp, state, step = train.load_experiment(_WORKDIR.value, _STEP.value)
    completion.check_variant(exp, "recovery")
    shapes = load_shapes(_INPUT.value, exp.info.resolution, _NUM.value)
    n, r = len(shapes), shapes.shape[-1]
    if _CORRUPT.value is not None:
        kind = _KIND.value or exp.variant.kind
        corruption.check(kind, _CORRUPT.value)
        key = jax.random.PRNGKey(_SEED.value)
        visible = np.asarray(corruption.visible_mask(key, n, r, kind, _CORRUPT.value))
    else:
        visible = load_mask(_MASK.value, shapes)
    inputs, result = completion.complete(
        exp, state, visible, shapes, _SEED.value, _STEPS.value, _NOISE.value
    )
    binary = completion.binarize(exp, visible, result)
    out, formats = _OUT.value, tuple(_FORMATS.value)
    visual.write_samples(result, out, "recovered", formats=())
    visual.write_samples(binary, out, "recovered_binary", formats=formats)
    visual.write_samples(inputs, out, "input", formats=())
    data.save_voxels(os.path.join(out, "mask.npz"), visible)
    comparison = os.path.join(out, "comparison.png")
    if _CORRUPT.value is not None:
        err = np.asarray(recovery_error(result, shapes, visible))
        err_b = np.asarray(recovery_error(binary, shapes, visible))
        rows = [shapes, inputs, binary]
        completion.write_comparison(rows, ["original", "input", "recovered"], comparison)
        print(
            f"recovery error over hidden voxels: {err_b.mean():.4f} binary, {err.mean():.4f} "
            f"soft (mean of {n} shapes)"
        )
    else:
        completion.write_comparison([inputs, binary], ["input", "recovered"], comparison)
    print(f"recovered {n} shapes (checkpoint {step}) to {out}/recovered.npz, {comparison}")


if __name__ == "__main__":
    cli.run(main)
