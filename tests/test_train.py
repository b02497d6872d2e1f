"""The smoke preset trains, checkpoints and resumes exactly; the step traces once."""

import os

import chex
import jax
import numpy as np
import pytest

from gvoxel import train
from gvoxel.data import split
from gvoxel.experiment import checkpoint
from gvoxel.experiment import run as run_lib
from gvoxel.variants.base import DataInfo

CONFIG_DIR = os.path.join(os.path.dirname(__file__), "..", "configs")


def smoke_config(name="synthesis", **overrides):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, os.path.join(CONFIG_DIR, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    c = mod.get_config("smoke")
    for key, value in overrides.items():
        node = c
        *path, leaf = key.split(".")
        for p in path:
            node = node[p]
        node[leaf] = value
    return c


def final_state(workdir):
    _, state, step = run_lib.load_experiment(str(workdir))
    return step, jax.device_get(state)


def assert_states_equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_smoke_trains_writes_outputs_and_resumes_bit_exactly(tmp_path):
    full = tmp_path / "full"
    cfg = smoke_config(**{"train.num_iters": 4, "train.num_devices": 1})
    train.train_and_evaluate(cfg, str(full))
    assert os.path.exists(full / "samples" / "iter_000004_samples.png")
    assert os.path.exists(full / "samples" / "iter_000004_samples.npz")
    assert os.path.isdir(full / "samples" / "iter_000004_samples_meshes")
    assert os.path.exists(full / "metrics" / "metrics.jsonl")

    # Stop after 2 iterations (as a kill after the checkpoint would), then resume to 4.
    part = tmp_path / "part"
    train.train_and_evaluate(
        smoke_config(**{"train.num_iters": 2, "train.num_devices": 1}), str(part)
    )
    train.train_and_evaluate(cfg, str(part))
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
    from gvoxel.errors import ConfigError

    train.train_and_evaluate(smoke_config(**{"train.num_iters": 2}), str(tmp_path))
    with pytest.raises(ConfigError, match="another config.*sampler.step_size"):
        train.train_and_evaluate(
            smoke_config(**{"train.num_iters": 3, "sampler.step_size": 0.5}), str(tmp_path)
        )
    # More iterations is a resume, not a conflict.
    train.train_and_evaluate(smoke_config(**{"train.num_iters": 3}), str(tmp_path))
    mngr = checkpoint.manager(str(tmp_path))
    assert mngr.latest_step() == 3


def test_polish_steps_descend_the_written_samples_only():
    """`sampler.polish_steps` writes noise-free descents of the chains; chains stay as they are."""
    import jax.numpy as jnp

    from gvoxel import variants
    from gvoxel.core import ebm, energy

    plain = variants.get(smoke_config(), DataInfo(16, 16, 4))
    polished = variants.get(smoke_config(**{"sampler.polish_steps": 5}), DataInfo(16, 16, 4))
    state = plain.init(jax.random.PRNGKey(0), jnp.zeros((16,) * 3))
    chains = np.asarray(state["chains"])

    np.testing.assert_array_equal(
        plain.outputs(state)["samples"], ebm.postprocess(state["chains"], state["data_mean"])
    )
    out = polished.outputs(state)["samples"]
    np.testing.assert_array_equal(np.asarray(state["chains"]), chains)
    assert not np.allclose(out, plain.outputs(state)["samples"])

    # the polished samples sit lower in energy than the chains they came from
    def mean_energy(samples):
        y = jnp.asarray(samples) - state["data_mean"]
        return float(jnp.mean(energy.energy(plain.model.descriptor_fn, state["params"], y)))

    assert mean_energy(out) < mean_energy(plain.outputs(state)["samples"])


def test_older_saved_config_gains_new_keys_and_still_resumes():
    """A workdir saved before a key existed loads with its default and resumes unrefused."""
    import json

    from gvoxel.experiment import config as config_utils
    from gvoxel.experiment import config as default_config

    current = default_config.base_config("synthesis")
    saved = json.loads(config_utils.to_json(current))
    del saved["sampler"]["polish_steps"]
    del saved["model"]["conv_impl"]  # not a resumable key: a raw comparison refuses it
    now = json.loads(config_utils.to_json(current))
    assert config_utils.differences(saved, now) == ["model.conv_impl: '<missing>' -> 'auto'"]
    loaded = config_utils.with_defaults(saved, default_config.base_config("synthesis"))
    assert loaded.sampler.polish_steps == 0 and loaded.model.net == current.model.net
    assert config_utils.differences(loaded.to_dict(), now) == []
