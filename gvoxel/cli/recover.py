"""3D object recovery with a trained `recovery` model: fill in the missing voxels.

python -m gvoxel recover --workdir=runs/recovery --input=shapes.npz --corrupt=0.7 --out=rec
python -m gvoxel recover --workdir=runs/recovery --input=scans.npz --mask=mask.npz --out=rec

With --corrupt the input shapes are originals: a fraction of their voxels is hidden (the
training config's corruption kind unless --kind), recovered, and the recovery error over
the hidden voxels is reported. With --mask (key `voxels`, 1 = visible, one mask per shape or
one for all) the input's visible voxels are the known part. Writes recovered.npz/.png
(the chains' soft occupancies), recovered_binary.npz/.png and meshes (hidden voxels
thresholded at the run's recovery.threshold), input.npz/.png, mask.npz and
comparison.png (original / input / recovered).
"""

from __future__ import annotations

import os

import jax
import numpy as np
from absl import flags

from gvoxel import data, visual
from gvoxel.cli import common
from gvoxel.cli import flags as shared
from gvoxel.core import corruption
from gvoxel.errors import ConfigError, InputError
from gvoxel.experiment import completion
from gvoxel.experiment import run as run_lib
from gvoxel.metrics.conditional import recovery_error

_WORKDIR, _OUT, _INPUT, _SEED = shared.WORKDIR, shared.OUT, shared.INPUT, shared.SEED
_STEPS, _NOISE, _STEP, _FORMATS = (
    shared.LANGEVIN_STEPS, shared.NOISE, shared.CHECKPOINT, shared.FORMATS
)
_MASK = flags.DEFINE_string("mask", None, "recover: visibility mask file (1 = visible)")
_CORRUPT = flags.DEFINE_float("corrupt", None, "recover: hide this fraction of each input's voxels")
_KIND = flags.DEFINE_enum("kind", None, list(corruption.KINDS[:-1]), "recover: with --corrupt")


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
    del argv
    if (_MASK.value is None) == (_CORRUPT.value is None):
        raise ConfigError("give exactly one of --mask (known visibility) or --corrupt (fraction)")
    exp, state, step = run_lib.load_experiment(_WORKDIR.value, _STEP.value)
    completion.check_variant(exp, "recovery")
    shapes = load_shapes(_INPUT.value, exp.info.resolution, shared.value_or(shared.NUM, 0))
    n, r = len(shapes), shapes.shape[-1]
    if _CORRUPT.value is not None:
        kind = _KIND.value or exp.variant.kind
        corruption.check(kind, _CORRUPT.value)
        key = jax.random.PRNGKey(_SEED.value)
        visible = np.asarray(corruption.visible_mask(key, n, r, kind, _CORRUPT.value))
    else:
        visible = load_mask(_MASK.value, shapes)
    inputs, result = completion.complete(
        exp, state, visible, shapes, _SEED.value, _STEPS.value, _NOISE.value,
        ensemble=shared.VIEWS.value,
    )  # fmt: skip
    binary = completion.binarize(exp, visible, result)
    out = _OUT.value
    original = shapes if _CORRUPT.value is not None else None
    comparison = visual.write_completion(
        out, "recovered", inputs, result, binary, original, _FORMATS.value, "recovered"
    )
    data.save_voxels(os.path.join(out, "mask.npz"), visible)
    if original is not None:
        soft, hard = (float(np.mean(recovery_error(y, shapes, visible))) for y in (result, binary))
        print(
            f"recovery error over hidden voxels: {hard:.4f} binary, {soft:.4f} soft (mean of {n})"
        )
    print(f"recovered {n} shapes (checkpoint {step}) to {out}/recovered.npz, {comparison}")


REQUIRED = ("workdir", "input", "out")

if __name__ == "__main__":
    common.run(main, REQUIRED)
