"""Diffusion recovery likelihood: the smoke preset trains and resumes bit-exactly, each
iteration learns a_{t+1}x_t against its recovery from x_{t+1}, and fresh draws descend every
level from noise."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gvoxel
from gvoxel import train, variants
from gvoxel.core import diffusion
from gvoxel.errors import ConfigError, InputError
from tests.helpers import data_info, final_state, smoke_config


def build(**overrides):
    c = smoke_config("diffusion", **overrides)
    return variants.get(c, data_info(c)), c


def test_smoke_trains_and_resumes_bit_exactly(trained_run, assert_states_equal, tmp_path):
    full, part = trained_run("diffusion"), tmp_path / "part"
    cfg = lambda n: smoke_config("diffusion", **{"train.num_iters": n, "train.num_devices": 1})  # noqa: E731
    train.train_and_evaluate(cfg(2), str(part))
    train.train_and_evaluate(cfg(4), str(part))
    (step_a, a), (step_b, b) = final_state(full), final_state(part)
    assert step_a == step_b == 4
    assert_states_equal(a, b)
    assert set(np.asarray(a["chain_levels"])) <= {0, 1, 2}

    model = gvoxel.load(str(full))  # the Python API draws from it; E(Y) has no meaning here
    drawn = model.sample(3, seed=1)
    assert drawn.shape == (3, 8, 8, 8) and drawn.min() >= 0 and drawn.max() <= 1
    with pytest.raises(InputError, match="per noise level"):
        model.energy(drawn)


def test_a_train_step_contrasts_the_scaled_x_t_with_its_recovery_from_x_next():
    """The θ-gradient is that of mean w_t·(f(y_syn, t) − f(a_{t+1}x_t, t)) with the pair,
    levels and chains the step draws from its key (rebuilt here from the same keys)."""
    v, c = build()
    r = data_info(c).resolution
    state = jax.jit(v.init)(jax.random.PRNGKey(1), jnp.zeros((r,) * 3))
    occ = (jax.random.uniform(jax.random.PRNGKey(2), (4, r, r, r)) > 0.7).astype(jnp.float32)
    batch = {"voxels": occ, "labels": jnp.zeros(4, jnp.int32)}
    new, metrics = jax.jit(v.train_step)(state, batch)

    _, k_level, k_pair, k_lang, _ = jax.random.split(state["rng"], 5)
    level = jax.random.randint(k_level, (4,), 0, v.levels)
    x_t, x_next = diffusion.diffuse_pair(k_pair, v.schedule, diffusion.to_signed(occ), level)
    recover = jax.jit(v.recover, static_argnums=4)
    x_syn, y_syn = recover(state["params"], k_lang, x_next, level, c.sampler.steps)
    np.testing.assert_allclose(new["chains"], x_syn, atol=1e-6)
    np.testing.assert_array_equal(new["chain_levels"], level)
    scale = jnp.asarray(v.schedule.scale)[level].reshape(-1, 1, 1, 1)
    np.testing.assert_allclose(y_syn, scale * x_syn, rtol=1e-5, atol=1e-6)

    w = jnp.asarray(v.schedule.weight)[level]
    f = lambda p, y: v.model.descriptor_fn(p, y, level)  # noqa: E731
    loss = lambda p: jnp.mean(w * (f(p, y_syn) - f(p, scale * x_t)))  # noqa: E731
    np.testing.assert_allclose(metrics["loss"], jax.jit(loss)(state["params"]), rtol=1e-5)
    grad = jax.jit(jax.grad(loss))(state["params"])
    want = v.model.tx.update(grad, state["opt_state"], state["params"])
    for got, p, u in zip(
        jax.tree.leaves(new["params"]), jax.tree.leaves(state["params"]), jax.tree.leaves(want[0])
    ):
        np.testing.assert_allclose(got, p + u, rtol=1e-5, atol=1e-7)


def test_fresh_draws_descend_every_level_from_noise():
    """With K = 0 a draw is the noise scaled back level by level: x_T / ∏ a_{t+1}."""
    v, c = build()
    r = data_info(c).resolution
    state = v.init(jax.random.PRNGKey(0), jnp.zeros((r,) * 3))
    x_top = jax.random.normal(jax.random.split(jax.random.PRNGKey(5))[0], (3, r, r, r))
    got = v.synthesize(state, jax.random.PRNGKey(5), 3, 0)
    want = diffusion.to_occupancy(x_top / np.prod(v.schedule.scale))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    drawn = v.synthesize(state, jax.random.PRNGKey(5), 3, 3)
    assert drawn.shape == (3, r, r, r) and float(drawn.min()) >= 0 and float(drawn.max()) <= 1


def test_settings_diffusion_cannot_use_are_refused():
    for bad in ({"diffusion.levels": 1}, {"sampler.mala": True}, {"data.mean": "voxel"}):
        with pytest.raises(ConfigError):
            build(**bad)
