"""Data-parallel training on 4 simulated CPU devices equals the single-device run."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel import train
from gvoxel.errors import ConfigError
from gvoxel.experiment import run as run_lib
from tests.test_train import smoke_config

pytestmark = pytest.mark.skipif(jax.device_count() < 4, reason="needs 4 (simulated) devices")


def test_sharded_training_equals_single_device_and_restores_on_fewer(tmp_path):
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
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(runs[1]), jax.tree.leaves(runs[4])):
        a, b = np.asarray(a), np.asarray(b)
        if jax.tree_util.keystr(path).startswith("['params']"):
            assert np.max(np.abs(a - b)) <= bound + 1e-6, jax.tree_util.keystr(path)
        else:
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-5)

    # A checkpoint written on 4 devices restores onto 1 and 2.
    for n in (1, 2):
        _, state, _ = run_lib.load_experiment(str(tmp_path / "d4"), num_devices=n)
        assert len(state["chains"].sharding.device_set) == n
        for a, b in zip(jax.tree.leaves(jax.device_get(state)), jax.tree.leaves(runs[4])):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_batch_not_divisible_by_devices_is_a_clear_error(tmp_path):
    cfg = smoke_config(**{"train.num_devices": 4, "train.batch_size": 6})
    with pytest.raises(ConfigError, match="batch_size=6 is not divisible by the 4 devices"):
        train.train_and_evaluate(cfg, str(tmp_path))


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
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("impl", ["fft", "dft"])
def test_fft_conv_splits_its_rows_over_the_mesh(impl):
    """Under the context mesh each device convolves only its own chains (XLA's partitioner
    all-gathered every FFT's operand and moved spectra between devices for the frequency
    matmuls), and values and gradients equal one device's."""
    from jax.sharding import NamedSharding, PartitionSpec

    from gvoxel.core import conv
    from gvoxel.experiment import sharding

    kx, kw = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(kx, (8, 12, 12, 12, 2))
    w = 0.1 * jax.random.normal(kw, (4, 4, 4, 2, 3))

    def loss(x, w):
        return jnp.sum(jnp.tanh(conv.conv3d(x, w, 2, impl=impl)))

    grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    want = grad(x, w)
    mesh = sharding.make_mesh(4)
    xs = jax.device_put(x, NamedSharding(mesh, PartitionSpec(sharding.DATA)))
    with jax.set_mesh(mesh):
        got = grad(xs, w)
        hlo = grad.lower(xs, w).compile().as_text()
    assert (" fft(" in hlo) == (impl == "fft")
    for moved in ("all-gather", "all-to-all", "collective-permute"):  # only the kernel's psum
        assert moved not in hlo, moved
    assert len(got[1][0].sharding.device_set) == 4
    for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(got)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=5e-5)
