"""3D object super-resolution with a trained `superres` model.

python -m gvoxel.superres --workdir=runs/superres --input=low16.npz --out=sr

--input holds low-resolution shapes ((R/d)³ for a model trained at R³ with factor d), or
high-resolution originals (R³), which are down-scaled by block averages first and then
serve as the reference: the per-voxel error and IoU of the result are reported. Writes
superres.npz/.png (the chains' soft occupancies), superres_binary.npz/.png and meshes (the
nearest binary shapes that keep every block's voxel count), input.npz/.png (the
low-resolution shapes, replicated to R³) and comparison.png (original / input / result).
"""

from __future__ import annotations

import os

import numpy as np
from absl import flags

from gvoxel import cli, completion, data, train, visual
from gvoxel.conditional_metrics import iou, voxel_error
from gvoxel.errors import ConfigError, InputError

_WORKDIR = flags.DEFINE_string("workdir", None, "a superres training workdir", allow_override=True)
_INPUT = flags.DEFINE_string(
    "input", None, "low-res (or high-res original) shapes", allow_override=True
)
_NUM = flags.DEFINE_integer(
    "num", 0, "use the first NUM input shapes (0 = all)", allow_override=True
)
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed (Langevin noise)", allow_override=True)
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


def main(argv):
    if len(argv) > 1:
        raise ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
    if _NUM.value < 0:
        raise ConfigError(f"--num must be >= 0, got {_NUM.value}")
    exp, state, step = train.load_experiment(_WORKDIR.value, _STEP.value)
    completion.check_variant(exp, "superres")
    high, factor = exp.info.resolution, exp.variant.factor
    shapes = data.load_voxels(_INPUT.value).voxels.astype(np.float32)
    shapes = shapes[: _NUM.value] if _NUM.value else shapes
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
        exp, state, low, None, _SEED.value, _STEPS.value, _NOISE.value
    )
    binary = completion.binarize(exp, low, result)
    out = _OUT.value
    visual.write_samples(result, out, "superres", formats=())
    visual.write_samples(binary, out, "superres_binary", formats=tuple(_FORMATS.value))
    visual.write_samples(inputs, out, "input", formats=())
    comparison = os.path.join(out, "comparison.png")
    if original is not None:
        err, overlap = np.asarray(voxel_error(binary, original)), np.asarray(iou(binary, original))
        rows = [original, inputs, binary]
        completion.write_comparison(rows, ["original", "input", "result"], comparison)
        print(
            f"binary result: per-voxel error {err.mean():.4f}, IoU {overlap.mean():.3f} "
            f"(mean of {len(low)}; soft per-voxel error "
            f"{float(np.mean(voxel_error(result, original))):.4f})"
        )
    else:
        completion.write_comparison([inputs, binary], ["input", "result"], comparison)
    print(f"up-scaled {len(low)} shapes x{factor} (checkpoint {step}) to {out}/superres.npz")


if __name__ == "__main__":
    cli.run(main)
