"""The training loop: the smoke preset trains, writes its outputs, checkpoints and resumes
exactly; the step traces once; a conflicting config is refused. Reliability: killed runs
resume exactly, SIGTERM checkpoints, divergence rolls back and backs off (the guard)."""

import json
import os
import signal
import subprocess
import sys
import time

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel import train
from gvoxel.data import split
from gvoxel.errors import ConfigError
from gvoxel.experiment import checkpoint
from gvoxel.experiment import run as run_lib
from gvoxel.variants.base import DataInfo
from gvoxel.variants.synthesis import Synthesis
from tests.helpers import CONFIGS, ROOT, final_state, smoke_config

SMOKE = f"{CONFIGS / 'synthesis.py'}:smoke"
ARGS = ["--config.train.num_iters=6", "--config.train.num_devices=1"]


def test_smoke_trains_writes_outputs_and_resumes_bit_exactly(
    tmp_path, trained_run, assert_states_equal
):
    full = trained_run("synthesis")  # straight to 4 iterations, one device
    assert os.path.exists(full / "samples" / "iter_000004_samples.png")
    assert os.path.exists(full / "samples" / "iter_000004_samples.npz")
    assert os.path.isdir(full / "samples" / "iter_000004_samples_meshes")
    assert os.path.exists(full / "metrics" / "metrics.jsonl")

    # Stop after 2 iterations (as a kill after the checkpoint would), then resume to 4.
    part = tmp_path / "part"
    train.train_and_evaluate(
        smoke_config(**{"train.num_iters": 2, "train.num_devices": 1}), str(part)
    )
    train.train_and_evaluate(
        smoke_config(**{"train.num_iters": 4, "train.num_devices": 1}), str(part)
    )
    step_a, a = final_state(full)
    step_b, b = final_state(part)
    assert step_a == step_b == 4
    assert int(a["step"]) == 4
    assert_states_equal(a, b)


def test_train_step_traces_once(tmp_path):
    cfg = smoke_config(**{"train.num_devices": 1})
    ds = split.training_set(cfg.data)
    exp = run_lib.Experiment(cfg, DataInfo(ds.resolution, len(ds.voxels), 4))
    state = exp.init_state(0, np.zeros((ds.resolution,) * 3, np.float32))
    step = jax.jit(chex.assert_max_traces(exp.variant.train_step, n=1))
    batch = {"voxels": ds.voxels[:4], "labels": ds.labels[:4]}
    for _ in range(3):
        state, metrics = step(state, batch)
    assert np.isfinite(float(metrics["loss"]))
    assert int(state["step"]) == 3


def test_resume_with_a_conflicting_config_is_refused(tmp_path):
    train.train_and_evaluate(smoke_config(**{"train.num_iters": 2}), str(tmp_path))
    with pytest.raises(ConfigError, match="another config.*sampler.step_size"):
        train.train_and_evaluate(
            smoke_config(**{"train.num_iters": 3, "sampler.step_size": 0.5}), str(tmp_path)
        )
    # More iterations is a resume, not a conflict.
    train.train_and_evaluate(smoke_config(**{"train.num_iters": 3}), str(tmp_path))
    mngr = checkpoint.manager(str(tmp_path))
    assert mngr.latest_step() == 3


def test_a_config_error_found_when_the_variant_is_built_leaves_the_workdir_empty(tmp_path):
    workdir = tmp_path / "run"
    with pytest.raises(ConfigError, match="recovery.threshold"):
        train.train_and_evaluate(
            smoke_config("recovery", **{"recovery.threshold": 2.0}), str(workdir)
        )
    assert not workdir.exists() or not any(workdir.iterdir())


# -- reliability ------------------------------------------------------------------------------


def cli(workdir, env_extra=None, wait=True, args=ARGS):
    env = dict(os.environ, JAX_PLATFORMS="cpu", **(env_extra or {}))
    cmd = [sys.executable, "-m", "gvoxel.main", f"--config={SMOKE}", f"--workdir={workdir}", *args]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if wait:
        proc.communicate(timeout=600)
    return proc


@pytest.fixture(scope="module")
def uninterrupted(trained_run):
    """(step, state) of the smoke run trained straight to 6 iterations on one device."""
    return final_state(trained_run("synthesis", **{"train.num_iters": 6}))


def test_killed_mid_save_resumes_to_the_same_result(tmp_path, uninterrupted, assert_states_equal):
    proc = cli(tmp_path, {"GVOXEL_FAULT": "save:4"})
    assert proc.returncode == -signal.SIGKILL
    # The interrupted save never shows up as a checkpoint; an earlier one survives.
    steps = checkpoint.manager(str(tmp_path)).all_steps()
    assert 2 in steps
    proc = cli(tmp_path)
    assert proc.returncode == 0, proc.stderr[-1500:]
    step, state = final_state(tmp_path)
    assert step == uninterrupted[0] == 6
    assert_states_equal(state, uninterrupted[1])


def test_sigkill_at_a_random_moment_resumes_exactly(tmp_path, uninterrupted, assert_states_equal):
    proc = cli(tmp_path, wait=False)
    deadline = time.time() + 300
    metrics = tmp_path / "metrics" / "metrics.jsonl"
    while time.time() < deadline and not (metrics.exists() and metrics.read_text().strip()):
        time.sleep(0.2)
    time.sleep(np.random.default_rng().uniform(0.0, 1.5))
    proc.kill()
    proc.communicate()
    proc = cli(tmp_path)
    assert proc.returncode == 0, proc.stderr[-1500:]
    step, state = final_state(tmp_path)
    assert step == 6
    assert_states_equal(state, uninterrupted[1])


def test_sigterm_checkpoints_before_exiting(tmp_path):
    slow = [
        "--config.train.num_iters=200",
        "--config.train.checkpoint_every=100",
        "--config.train.sample_every=100",
        "--config.train.num_devices=1",
    ]
    proc = cli(tmp_path, {"GVOXEL_FAULT": "none"}, wait=False, args=slow)
    metrics = tmp_path / "metrics" / "metrics.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (metrics.exists() and metrics.read_text().strip()):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=300)
    assert proc.returncode == 0
    logged = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    latest = checkpoint.manager(str(tmp_path)).latest_step()
    assert latest is not None and latest >= max(logged) and latest < 100


def _nan_at(step_no, only_above_step_size=None):
    """Wraps Synthesis.train_step so the energy becomes NaN at one iteration."""
    original = Synthesis.train_step

    def train_step(self, state, batch):
        new_state, metrics = original(self, state, batch)
        hit = state["step"] + 1 == step_no
        if only_above_step_size is not None:
            hit = hit & (self.model.sampler.step_size > only_above_step_size)
        metrics = dict(metrics, energy_syn=jnp.where(hit, jnp.nan, metrics["energy_syn"]))
        return new_state, metrics

    return train_step


def test_nan_rolls_back_and_retries_with_smaller_step(tmp_path, monkeypatch):
    monkeypatch.setattr(Synthesis, "train_step", _nan_at(3, only_above_step_size=0.06))
    cfg = smoke_config(**{"train.num_iters": 4, "train.num_devices": 1})
    train.train_and_evaluate(cfg, str(tmp_path))
    meta = checkpoint.saved_meta(checkpoint.manager(str(tmp_path)))
    assert meta["guard_retries"] == 1 and meta["guard_scale"] == 0.5
    assert checkpoint.manager(str(tmp_path)).latest_step() == 4
    # the run trained on with half the step size, so its sampling recipe (what gvoxel sample
    # and an exported bundle use) has it too
    exp, _, _ = run_lib.load_experiment(str(tmp_path))
    assert exp.config.sampler.step_size == 0.5 * cfg.sampler.step_size
    assert exp.config.optim.lr == 0.5 * cfg.optim.lr


def test_persistent_nan_stops_with_a_clear_message_and_keeps_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setattr(Synthesis, "train_step", _nan_at(3))
    cfg = smoke_config(**{"train.num_iters": 4, "train.num_devices": 1, "guard.max_retries": 2})
    with pytest.raises(
        train.TrainingDiverged,
        match=r"iteration 3: non-finite energy_syn.*"
        r"2 rollback\(s\).*latest: 2",
    ):
        train.train_and_evaluate(cfg, str(tmp_path))
    _, state, step = run_lib.load_experiment(str(tmp_path))
    assert step == 2
    assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(state))
