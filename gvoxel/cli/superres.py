"""3D object super-resolution with a trained `superres` model.

python -m gvoxel superres --workdir=runs/superres --input=low16.npz --out=sr

--input holds low-resolution shapes ((R/d)³ for a model trained at R³ with factor d), or
high-resolution originals (R³), which are down-scaled by block averages first and then
serve as the reference: the per-voxel error and IoU of the result are reported. Writes
superres.npz/.png (the chains' soft occupancies), superres_binary.npz/.png and meshes (the
nearest binary shapes that keep every block's voxel count), input.npz/.png (the
low-resolution shapes, replicated to R³) and comparison.png (original / input / result).
"""

from __future__ import annotations

import numpy as np

from gvoxel import data, visual
from gvoxel.cli import common
from gvoxel.cli import flags as shared
from gvoxel.errors import ConfigError, InputError
from gvoxel.experiment import completion
from gvoxel.experiment import run as run_lib
from gvoxel.metrics.conditional import iou, voxel_error

_WORKDIR, _OUT, _INPUT, _SEED = shared.WORKDIR, shared.OUT, shared.INPUT, shared.SEED
_STEPS, _NOISE, _STEP, _FORMATS = (
    shared.LANGEVIN_STEPS, shared.NOISE, shared.CHECKPOINT, shared.FORMATS
)


def main(argv):
    del argv
    num = shared.value_or(shared.NUM, 0)
    if num < 0:
        raise ConfigError(f"--num must be >= 0, got {num}")
    exp, state, step = run_lib.load_experiment(_WORKDIR.value, _STEP.value)
    completion.check_variant(exp, "superres")
    high, factor = exp.info.resolution, exp.variant.factor
    shapes = data.load_voxels(_INPUT.value).voxels.astype(np.float32)
    shapes = shapes[:num] if num else shapes
    r = shapes.shape[-1]
    if r == high:
        original, low = shapes, data.downscale(shapes, factor)
    elif r * factor == high:
        original, low = None, shapes
    else:
        raise InputError(
            f"{_INPUT.value}: shapes are {r}^3; the model up-scales {high // factor}^3 to "
            f"{high}^3 (give {high // factor}^3 inputs, or {high}^3 originals)"
        )
    inputs, result = completion.complete(
        exp, state, low, None, _SEED.value, _STEPS.value, _NOISE.value,
        ensemble=shared.VIEWS.value,
    )  # fmt: skip
    binary = completion.binarize(exp, low, result)
    out = _OUT.value
    visual.write_completion(out, "superres", inputs, result, binary, original, _FORMATS.value)
    if original is not None:
        err, overlap = np.asarray(voxel_error(binary, original)), np.asarray(iou(binary, original))
        print(
            f"binary result: per-voxel error {err.mean():.4f}, IoU {overlap.mean():.3f} "
            f"(mean of {len(low)}; soft per-voxel error "
            f"{float(np.mean(voxel_error(result, original))):.4f})"
        )
    print(f"up-scaled {len(low)} shapes x{factor} (checkpoint {step}) to {out}/superres.npz")


REQUIRED = ("workdir", "input", "out")

if __name__ == "__main__":
    common.run(main, REQUIRED)
