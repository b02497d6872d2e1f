"""Rebuilding runs: the descriptor warm start from a trained run; several steps per dispatch
(a scan in the jitted step) equal one at a time."""

import jax
import numpy as np
import pytest

from gvoxel import train
from gvoxel.errors import ConfigError, InputError
from gvoxel.experiment import run as run_lib
from gvoxel.variants.base import DataInfo
from tests.helpers import final_state, smoke_config


def coop_config(**overrides):
    return smoke_config("cooperative", **{"train.num_devices": 1, **overrides})


def test_warm_start_takes_a_trained_runs_descriptor_and_rejects_another_net(
    trained_run, assert_states_equal, tmp_path
):
    smoke_run = trained_run("cooperative")
    cfg = coop_config(**{"model.init_from": str(smoke_run)})
    exp = run_lib.Experiment(cfg, DataInfo(16, 14, 3), 1)
    fresh = exp.init_state(cfg.seed, np.zeros((16,) * 3, np.float32))
    warm = run_lib.warm_start(exp, fresh, str(smoke_run))
    _, source, _ = run_lib.load_experiment(str(smoke_run), num_devices=1)
    assert_states_equal(warm["params"], source["params"])
    assert not np.array_equal(
        np.asarray(jax.tree.leaves(fresh["params"])[0]),
        np.asarray(jax.tree.leaves(warm["params"])[0]),
    )
    for key in ("gen_params", "opt_state", "gen_opt_state"):  # only θ comes from the source
        assert_states_equal(warm[key], fresh[key])
    # the loop warm-starts a fresh run, trains on and writes its checkpoint
    warm_cfg = coop_config(**{"model.init_from": str(smoke_run), "train.num_iters": 2})
    train.train_and_evaluate(warm_cfg, str(tmp_path / "w"))
    assert final_state(tmp_path / "w")[0] == 2
    other = coop_config(**{"model.net": "8@4/2", "model.init_from": str(smoke_run)})
    with pytest.raises(ConfigError, match="not this run's net"):
        train.train_and_evaluate(other, str(tmp_path / "other"))
    swish = coop_config(**{"model.activation": "swish", "model.init_from": str(smoke_run)})
    with pytest.raises(ConfigError, match="model.activation='relu'"):
        train.train_and_evaluate(swish, str(tmp_path / "swish"))


def test_several_steps_per_dispatch_equal_one_at_a_time(tmp_path):
    one = smoke_config(**{"train.num_iters": 4, "train.num_devices": 1})
    two = smoke_config(
        **{
            "train.num_iters": 4,
            "train.num_devices": 1,
            "train.steps_per_dispatch": 2,
            "train.log_every": 2,
        }
    )
    train.train_and_evaluate(one, str(tmp_path / "one"))
    train.train_and_evaluate(two, str(tmp_path / "two"))
    a = jax.device_get(run_lib.load_experiment(str(tmp_path / "one"))[1])
    b = jax.device_get(run_lib.load_experiment(str(tmp_path / "two"))[1])
    jax.tree.map(  # the same tree, every leaf close
        lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6),
        a,
        b,
    )


def test_a_model_bundle_is_no_training_workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a mistaken run must not create a "bundled:chair" folder here
    with pytest.raises(InputError, match="is a model bundle"):
        train.train_and_evaluate(smoke_config("synthesis"), "bundled:chair")
    assert not (tmp_path / "bundled:chair").exists()
