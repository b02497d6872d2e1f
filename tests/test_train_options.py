"""Every training option on at once: the smoke preset trains, resumes bit-exactly, draws
fresh samples by its stored recipe and scores them; the guard catches a run-off energy."""

import os
import signal
import subprocess
import sys

import ml_collections
import numpy as np
import pytest

from gvoxel import train
from gvoxel.data import split
from gvoxel.errors import ConfigError
from gvoxel.experiment import batches
from gvoxel.experiment import config as config_lib
from gvoxel.experiment import run as run_lib
from tests import helpers

OPTIONS = {
    "data.mirror_axis": 0,
    "data.rotate_axis": 2,
    "data.noise": 0.1,
    "optim.energy_penalty": 0.01,
    "optim.ema": 0.9,
    "optim.negatives": 0.25,
    "optim.decay": "cosine",
    "sampler.reinit": 0.25,
    "sampler.init_components": 4,
    "sampler.draw_steps": 5,
    "sampler.anneal_to": 0.0,
    "sampler.polish_steps": 2,
    "model.input_blur": 1,
    "model.spectral_norm": 0.005,  # binds on the smoke net
    "evals.every": 2,
    "evals.fresh": 4,
    "evals.classifier": False,
    "train.num_devices": 1,
}


def test_every_option_trains_resumes_bit_exactly_and_scores_fresh_draws(
    tmp_path, assert_states_equal, trained_run
):
    full, part = tmp_path / "full", tmp_path / "part"
    # fresh draws (and their scores) refined by a recovery model, as the recipe says
    options = dict(OPTIONS, **{"refine.model": str(trained_run("recovery")), "refine.reach": 4})
    train.train_and_evaluate(config_lib.load("configs/synthesis.py:smoke", **options), str(full))
    # the same run killed right after its checkpoint at iteration 2, then resumed
    overrides = [f"--config.{k}={v}" for k, v in options.items()]
    killed = subprocess.run(
        [sys.executable, "-m", "gvoxel.main", "--config=configs/synthesis.py:smoke",
         f"--workdir={part}", *overrides],
        capture_output=True, text=True, timeout=600, cwd=helpers.ROOT,
        env=dict(os.environ, GVOXEL_FAULT="save:2"),
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    train.train_and_evaluate(config_lib.load("configs/synthesis.py:smoke", **options), str(part))
    with pytest.raises(ConfigError, match="train.num_iters"):  # the schedule spans the run
        longer = dict(options, **{"train.num_iters": 6})
        train.train_and_evaluate(config_lib.load("configs/synthesis.py:smoke", **longer), str(part))
    exp, a, step = run_lib.load_experiment(str(full))
    _, b, _ = run_lib.load_experiment(str(part))
    assert step == 4 and "ema_params" in a
    assert_states_equal(a, b)
    # the restarted chains' basis: the training shapes' principal components, kept as trained
    train_set = split.training_set(exp.config.data)
    centered = train_set.voxels - batches.data_mean(train_set.voxels, exp.config.data.mean)
    np.testing.assert_array_equal(a["init_basis"], batches.principal_basis(centered, 4))
    _, shipped, _ = run_lib.load_experiment(run_lib.export(str(full), str(tmp_path / "model")))
    half = np.asarray(a["init_basis"]).astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(shipped["init_basis"], half)  # a bundle keeps it at half
    log = (full / "metrics" / "metrics.jsonl").read_text()
    assert "eval/fresh/shapes/one_nna" in log and "eval/shapes/cov" in log
    assert run_lib.draw_recipe(exp.config, step) == (5, False)  # noise off from iteration 2
    grids, steps, noise = run_lib.draw(exp, a, step, 3)
    assert np.asarray(grids).shape == (3, 16, 16, 16) and (steps, noise) == (5, False)
    refine = run_lib.refiner(exp.config, 16)
    assert refine[2].reach == 4
    refined, _, _ = run_lib.draw(exp, a, step, 3, refine=refine)
    np.testing.assert_array_equal(refined["unrefined"], grids)  # the same draws, then refined
    assert set(np.unique(refined["samples"])) <= {0.0, 1.0}


def test_guard_catches_an_energy_that_runs_off_while_the_samples_stay_small():
    guard = ml_collections.ConfigDict({"max_sample_rms": 20.0, "max_abs_f": 1e6})
    healthy = {"f_obs": 3.0, "f_syn": -2.0, "sample_norm": 1.0}
    assert train._unhealthy(healthy, guard, 4096) == []
    ran_off = dict(healthy, f_syn=-5e7)
    assert "energy ran off" in train._unhealthy(ran_off, guard, 4096)[0]
    per_grid = {"grid4/f_obs": 2e7, "sample_norm": 1.0}
    assert "grid4/f_obs" in train._unhealthy(per_grid, guard, 4096)[0]
