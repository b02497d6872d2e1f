"""`gvoxel classify` (§6.5): a smoke run classifies a separable toy problem with learned
features; runs that cannot be classified are refused in one line."""

import jax
import numpy as np
import pytest

from gvoxel import data, train
from gvoxel.cli import classify
from gvoxel.errors import InputError
from gvoxel.experiment import config as config_lib
from gvoxel.experiment import run as run_lib
from tests.helpers import smoke_config


def toy_boxes(path, n=100, r=16, seed=0):
    """Class 0: a random box in the left half; class 1: in the right half."""
    rng = np.random.default_rng(seed)
    vox = np.zeros((n, r, r, r), bool)
    labels = np.arange(n) % 2
    for i, c in enumerate(labels):
        s = rng.integers(3, 6, 3)
        x0 = rng.integers(0, r // 2 - s[0]) + c * (r // 2)
        y0, z0 = rng.integers(0, r - s[1]), rng.integers(0, r - s[2])
        vox[i, x0 : x0 + s[0], y0 : y0 + s[1], z0 : z0 + s[2]] = True
    data.save_voxels(path, vox, labels=labels.astype(np.int32), categories=np.array(["l", "r"]))
    return str(path)


def test_smoke_feature_classification_learns_a_separable_toy_problem(tmp_path):
    toy = toy_boxes(tmp_path / "toy.npz")
    cfg = smoke_config(**{"data.path": toy, "data.resolution": 0, "train.num_devices": 1})
    train.train_and_evaluate(cfg, str(tmp_path / "run"))
    exp, state, _ = run_lib.load_experiment(str(tmp_path / "run"), num_devices=1)
    res = classify.classify(
        exp, jax.device_get(state), config_lib.load("configs/classification.py:smoke")
    )
    assert res["num"]["test"] == 10 and res["learned"]["feature_size"] == 128
    assert res["learned"]["test_accuracy"] >= 0.9
    assert "reference" not in res
    assert "learned features" in classify.report(res)


def test_a_single_category_run_is_refused(tmp_path):
    cfg = smoke_config(**{"train.num_devices": 1})
    with pytest.raises(InputError, match="one category"):
        classify.splits(cfg, 0.2, 0)


def test_classify_on_a_cooperative_run_is_one_error_line(
    trained_run, run_cli, assert_one_line_error
):
    """A cooperative run has no descriptor features to classify with (`base.require`).
    (cli/test_sample.py runs this check through both entry points.)"""
    proc = run_cli("gvoxel", "classify", f"--workdir={trained_run('cooperative')}")
    assert_one_line_error(proc, "cannot give descriptor features", returncode=2)
