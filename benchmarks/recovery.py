"""Recovery error (paper Table 4) on held-out real shapes, next to simple baselines.

    nice -n 10 python benchmarks/recovery.py --workdir=runs/recovery \
        --config=configs/recovery.py:cpu

Trains (or resumes) the config's run in --workdir, then hides --rho of each held-out
shape's voxels (the config's corruption kind unless --kind) and prints the mean absolute
per-voxel error over the hidden voxels for the model and for: zeros, the visible mean, and
the nearest training shape (L2 on the visible voxels).
"""

from __future__ import annotations

import time

import _common
import jax
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from gvoxel.core import corruption
from gvoxel.experiment import completion
from gvoxel.metrics.conditional import recovery_error

_WORKDIR = flags.DEFINE_string("workdir", None, "training workdir (trained here if needed)")
_CONFIG = config_flags.DEFINE_config_file(
    "config", f"{_common.ROOT / 'configs' / 'recovery.py'}:cpu", "configs/FILE.py:preset"
)
_TRAIN = flags.DEFINE_bool("train", True, "train/resume to the config's iterations first")
_KIND = flags.DEFINE_string("kind", None, "corruption kind (default: the config's)")
_RHO = flags.DEFINE_float("rho", None, "hidden fraction (default: the config's)")
_NUM = flags.DEFINE_integer("num", 0, "held-out shapes to use (0 = all)")
_STEPS = flags.DEFINE_integer("steps", None, "Langevin steps (default: the config's K)")
_NOISE = flags.DEFINE_bool("noise", None, "Langevin noise (default: the config's test_noise)")
_SEED = flags.DEFINE_integer("seed", 0, "seed of the masks")
flags.mark_flags_as_required(["workdir"])


def nearest_fill(test, visible, train_voxels):
    """Each test shape's hidden voxels copied from the training shape closest on its visible
    voxels: ‖M(t − s)‖² = M·s² − 2(M·t)·s + const, one matrix product."""
    m = visible.reshape(len(test), -1).astype(np.float32)
    t = test.reshape(len(test), -1).astype(np.float32)
    s = train_voxels.reshape(len(train_voxels), -1)
    dist = m @ (s * s).T - 2.0 * (m * t) @ s.T
    nearest = train_voxels[np.argmin(dist, axis=1)]
    return np.where(visible, test, nearest)


def main(argv):
    del argv
    exp, state, step, t_train = _common.trained_run(
        _CONFIG.value, _WORKDIR.value, _TRAIN.value, "recovery"
    )
    cfg = exp.config
    train_voxels, test = _common.run_split(cfg.data)
    train_voxels, test = train_voxels.astype(np.float32), test.astype(np.float32)
    if _NUM.value:
        test = test[: _NUM.value]
    kind = _KIND.value or cfg.recovery.corruption
    rho = cfg.recovery.rho if _RHO.value is None else _RHO.value
    n, r = len(test), test.shape[-1]
    visible = np.asarray(corruption.visible_mask(jax.random.PRNGKey(_SEED.value), n, r, kind, rho))

    t1 = time.time()
    _, ours = completion.complete(
        exp, state, visible, test, _SEED.value, _STEPS.value, _NOISE.value
    )
    t_rec = time.time() - t1
    recipe = completion.recipe(cfg)
    single = ours
    if recipe:  # else the run's recipe is one chain on f already
        _, single = completion.complete(
            exp, state, visible, test, _SEED.value, _STEPS.value, _NOISE.value, ensemble=False
        )
    threshold = cfg.recovery.get("threshold", 0.5)
    seen = visible.reshape(n, -1)
    vis_mean = (test.reshape(n, -1) * seen).sum(1) / np.maximum(seen.sum(1), 1)
    rows = {
        "zeros": np.where(visible, test, 0.0),
        "visible mean": np.where(visible, test, vis_mean[:, None, None, None]),
        "nearest training shape": nearest_fill(test, visible, train_voxels),
        f"Generative VoxelNet (iter {step}), one chain": single,
        f"  same, binary (hidden voxels thresholded at {threshold})": completion.binarize(
            exp, visible, single
        ),
        f"Generative VoxelNet, the run's recipe ({recipe or 'one chain'})": ours,
        "  same (recipe), binary": completion.binarize(exp, visible, ours),
    }
    print(
        f"\nrecovery on {n} held-out {cfg.data.path} shapes at {r}^3, {kind} corruption "
        f"rho={rho}; train {len(train_voxels)} shapes, {cfg.train.num_iters} iters "
        f"(train/resume {t_train:.0f}s, recover {t_rec:.1f}s)"
    )
    print("| method | recovery error (mean ± sd over shapes) |\n|---|---|")
    for name, res in rows.items():
        err = np.asarray(recovery_error(res, test, visible))
        print(f"| {name} | {err.mean():.4f} ± {err.std():.4f} |")


if __name__ == "__main__":
    app.run(main)
