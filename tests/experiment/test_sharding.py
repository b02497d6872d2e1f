"""Data-parallel training on 4 simulated CPU devices equals the single-device run."""

import jax
import numpy as np
import pytest

from gvoxel import train
from gvoxel.errors import ConfigError
from gvoxel.experiment import run as run_lib
from tests.helpers import smoke_config

pytestmark = pytest.mark.skipif(jax.device_count() < 4, reason="needs 4 (simulated) devices")


def test_sharded_training_equals_single_device_and_restores_on_fewer(tmp_path, assert_states_equal):
    runs = {}
    for n in (1, 4):
        # one iteration: after it, a ±lr parameter difference (below) changes later gradients
        cfg = smoke_config(**{"train.num_iters": 1, "train.num_devices": n})
        train.train_and_evaluate(cfg, str(tmp_path / f"d{n}"))
        exp, state, step = run_lib.load_experiment(str(tmp_path / f"d{n}"), num_devices=n)
        assert step == 1
        runs[n] = jax.device_get(state)
        if n == 4:
            assert len(state["chains"].sharding.device_set) == 4
    # Everything but the parameters equals to rounding: the chains and Adam's moments (the
    # raw θ-gradients' averages). The parameters may not: Adam's step is ±lr for any gradient
    # far above its eps, so an element whose observed and synthesized terms cancel (a
    # gradient of rounding size, whose sign depends on the summation order) moves by ±lr
    # either way: at most 2·lr apart.
    bound = 2 * cfg.optim.lr
    assert jax.tree.structure(runs[1]) == jax.tree.structure(runs[4])
    leaves = zip(
        jax.tree_util.tree_leaves_with_path(runs[1]), jax.tree.leaves(runs[4]), strict=True
    )
    for (path, a), b in leaves:
        a, b = np.asarray(a), np.asarray(b)
        if jax.tree_util.keystr(path).startswith("['params']"):
            assert np.max(np.abs(a - b)) <= bound + 1e-6, jax.tree_util.keystr(path)
        else:
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-5)

    # A checkpoint written on 4 devices restores onto 1 and 2.
    for n in (1, 2):
        _, state, _ = run_lib.load_experiment(str(tmp_path / "d4"), num_devices=n)
        assert len(state["chains"].sharding.device_set) == n
        assert_states_equal(state, runs[4])


def test_batch_not_divisible_by_devices_is_a_clear_error(tmp_path):
    cfg = smoke_config(**{"train.num_devices": 4, "train.batch_size": 6})
    with pytest.raises(ConfigError, match="batch_size=6 is not divisible by the 4 devices"):
        train.train_and_evaluate(cfg, str(tmp_path))
