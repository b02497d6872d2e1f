"""Super-resolution error and IoU on held-out real shapes, next to simple up-samplers.

    nice -n 10 python benchmarks/superres.py --workdir=runs/superres \
        --config=configs/superres.py:cpu

Trains (or resumes) the config's run in --workdir, down-scales each held-out shape by the
config's factor (block average C) and up-scales it back with the model (Langevin in the null
space of C, from the config's start) and with: block replication (C⁻CY, soft and thresholded
at 0.5) and trilinear interpolation thresholded at 0.5. Binary results that keep each block's
voxel count (Conditional.binarize) are shown for trilinear and for the model, so the gain of
that decoding is not mistaken for the model's. Prints the mean absolute per-voxel error and the
IoU of the occupied voxels (> 0.5) against the high-resolution originals.
"""

from __future__ import annotations

import time

import _common
import jax
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from gvoxel import data
from gvoxel.data import split
from gvoxel.experiment import completion
from gvoxel.metrics.conditional import iou, voxel_error

_WORKDIR = flags.DEFINE_string("workdir", None, "training workdir (trained here if needed)")
_CONFIG = config_flags.DEFINE_config_file(
    "config", f"{_common.ROOT / 'configs' / 'superres.py'}:cpu", "configs/FILE.py:preset"
)
_TRAIN = flags.DEFINE_bool("train", True, "train/resume to the config's iterations first")
_NUM = flags.DEFINE_integer("num", 0, "held-out shapes to use (0 = all)")
_STEPS = flags.DEFINE_integer("steps", None, "Langevin steps (default: the config's K)")
_NOISE = flags.DEFINE_bool("noise", None, "Langevin noise (default: the config's test_noise)")
flags.mark_flags_as_required(["workdir"])


def trilinear(low, resolution):
    shape = low.shape[:1] + (resolution,) * 3
    return np.asarray(jax.image.resize(low, shape, "trilinear"))


def main(argv):
    del argv
    exp, state, step, t_train = _common.trained_run(
        _CONFIG.value, _WORKDIR.value, _TRAIN.value, "superres"
    )
    cfg, factor = exp.config, exp.variant.factor
    _, val = split.train_val(cfg.data)
    high = val.voxels.astype(np.float32)
    high = high[: _NUM.value] if _NUM.value else high
    n, r = len(high), high.shape[-1]
    low = np.asarray(data.downscale(high, factor))

    t1 = time.time()
    _, ours = completion.complete(exp, state, low, None, 0, _STEPS.value, _NOISE.value)
    t_sr = time.time() - t1
    recipe = completion.recipe(cfg)
    single = ours
    if recipe:  # else the run's recipe is one chain on f already
        _, single = completion.complete(
            exp, state, low, None, 0, _STEPS.value, _NOISE.value, ensemble=False
        )
    block = np.asarray(data.upscale(low, factor))
    smooth = trilinear(low, r)
    rows = {
        "block (C⁻CY), soft": block,
        "block, thresholded at 0.5": (block > 0.5).astype(np.float32),
        "trilinear, thresholded at 0.5": (smooth > 0.5).astype(np.float32),
        "trilinear, binary keeping block counts": completion.binarize(exp, low, smooth),
        f"Generative VoxelNet (iter {step}), one chain, soft": single,
        "  same, thresholded at 0.5": (single > 0.5).astype(np.float32),
        "  same, binary keeping block counts": completion.binarize(exp, low, single),
        f"Generative VoxelNet, the run's recipe ({recipe or 'one chain'}), soft": ours,
        "  same (recipe), thresholded at 0.5": (ours > 0.5).astype(np.float32),
        "  same (recipe), binary keeping block counts": completion.binarize(exp, low, ours),
    }
    print(
        f"\nsuper-resolution {r // factor}^3 -> {r}^3 on {n} held-out {cfg.data.path} shapes; "
        f"{cfg.train.num_iters} iters (train/resume {t_train:.0f}s, up-scale {t_sr:.1f}s)"
    )
    print("| method | per-voxel error | IoU |\n|---|---|---|")
    for name, res in rows.items():
        err, overlap = np.asarray(voxel_error(res, high)), np.asarray(iou(res, high))
        print(f"| {name} | {err.mean():.4f} | {overlap.mean():.3f} |")


if __name__ == "__main__":
    app.run(main)
