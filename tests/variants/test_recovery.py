"""Recovery: a briefly trained model fills in hidden voxels of toy shapes better than zeros."""

import jax
import numpy as np

from gvoxel import data, train
from gvoxel.core import corruption
from gvoxel.experiment import completion
from gvoxel.experiment import run as run_lib
from gvoxel.metrics.conditional import recovery_error
from tests.helpers import smoke_config


def random_boxes(rng, n, r=16):
    """Solid axis-aligned boxes, sides 4..9, anywhere in the grid: a toy shape distribution."""
    out = np.zeros((n, r, r, r), bool)
    for i in range(n):
        side = rng.integers(4, 10, 3)
        lo = [rng.integers(0, r - s + 1) for s in side]
        out[i, lo[0] : lo[0] + side[0], lo[1] : lo[1] + side[1], lo[2] : lo[2] + side[2]] = True
    return out


def test_briefly_trained_recovery_beats_zero_fill_on_boxes(tmp_path):
    """Noise-free training chains (as at test time) learn to fill in hidden box voxels: the
    recovered binary shapes beat filling with zeros (measured 0.026 vs 0.063)."""
    rng = np.random.default_rng(0)
    data.save_voxels(tmp_path / "boxes.npz", random_boxes(rng, 64))
    cfg = smoke_config(
        "recovery",
        **{
            "data.path": str(tmp_path / "boxes.npz"),
            "data.max_examples": 0,
            "data.val_fraction": 0.0,
            "train.num_devices": 1,
            "train.batch_size": 8,
            "train.num_iters": 80,
            "train.sample_every": 80,
            "train.checkpoint_every": 80,
            "train.log_every": 80,
            "sampler.num_chains": 8,
            "sampler.steps": 10,
            "sampler.step_size": 0.25,
            "model.init_std": 0.0,
            "optim.lr": 0.005,
        },
    )
    workdir = tmp_path / "run"
    train.train_and_evaluate(cfg, str(workdir))
    exp, state, _ = run_lib.load_experiment(str(workdir))
    test = random_boxes(np.random.default_rng(1), 16).astype(np.float32)
    visible = np.asarray(corruption.visible_mask(jax.random.PRNGKey(2), 16, 16, "random", 0.7))
    _, res = completion.complete(exp, state, visible, test)
    ours = float(np.mean(recovery_error(completion.binarize(exp, visible, res), test, visible)))
    zeros = float(np.mean(recovery_error(np.where(visible, test, 0.0), test, visible)))
    assert ours < 0.6 * zeros, (ours, zeros)
