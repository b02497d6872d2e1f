"""Energy, its gradients and the mode-shifting loss (eq. 7)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel.core import energy, nets
from gvoxel.errors import ConfigError


def tiny_net():
    # XLA's conv: these tests are about eq. (7); the FFT path's gradients are test_conv's
    net = nets.Descriptor(layers=((3, 3, 2), (2, 2, 1)), init_std=0.1, conv_impl="xla")
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 6, 6, 6)))["params"]
    return net, params


def test_energy_gradient_is_y_over_s2_minus_df():
    net, params = tiny_net()
    fn = lambda p, y: net.apply({"params": p}, y)  # noqa: E731
    y = jax.random.normal(jax.random.PRNGKey(1), (3, 6, 6, 6))
    e, g = energy.energy_and_grad(fn, params, y)
    df = jax.grad(lambda y_: fn(params, y_).sum())(y)
    np.testing.assert_allclose(g, y / 0.25 - df, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e, (y**2).sum((1, 2, 3)) / 0.5 - fn(params, y), rtol=1e-6)
    # Each chain's gradient depends only on that chain.
    _, g1 = energy.energy_and_grad(fn, params, y[:1])
    np.testing.assert_allclose(g1, g[:1], rtol=1e-5, atol=1e-6)


def test_theta_gradient_is_eq7_difference_of_mean_df_dtheta():
    net, params = tiny_net()
    fn = lambda p, y: net.apply({"params": p}, y)  # noqa: E731
    obs = jax.random.uniform(jax.random.PRNGKey(2), (4, 6, 6, 6))
    syn = jax.random.normal(jax.random.PRNGKey(3), (5, 6, 6, 6))
    grads = jax.grad(lambda p: energy.mode_shifting_loss(fn, p, obs, syn)[0])(params)
    # Direct: average the per-example ∂f/∂θ over each set.
    per_example = jax.vmap(lambda y: jax.grad(lambda p: fn(p, y[None])[0])(params))
    d_obs = jax.tree.map(lambda g: g.mean(0), per_example(obs))
    d_syn = jax.tree.map(lambda g: g.mean(0), per_example(syn))
    want = jax.tree.map(lambda a, b: a - b, d_syn, d_obs)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(want)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


def test_no_theta_gradient_flows_through_the_samples():
    net, params = tiny_net()
    fn = lambda p, y: net.apply({"params": p}, y)  # noqa: E731
    obs = jnp.ones((2, 6, 6, 6))

    def loss_through_chain(p):
        syn = obs - 0.1 * jax.grad(lambda y: fn(p, y).sum())(obs)  # a sample that depends on θ
        return energy.mode_shifting_loss(fn, p, obs, syn)[0]

    def loss_fixed(p):
        syn = obs - 0.1 * jax.grad(lambda y: fn(params, y).sum())(obs)
        return energy.mode_shifting_loss(fn, p, obs, syn)[0]

    a, b = jax.grad(loss_through_chain)(params), jax.grad(loss_fixed)(params)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-9)


def test_descriptor_exposes_feature_maps_and_presets():
    net = nets.Descriptor(layers=nets.NET_PRESETS["synthesis"])
    shapes = jax.eval_shape(
        lambda: net.init_with_output(
            jax.random.PRNGKey(0), jnp.zeros((2, 32, 32, 32)), features=True
        )[0]
    )
    f, maps = shapes
    assert f.shape == (2,)
    assert [m.shape for m in maps] == [(2, 11, 11, 11, 200), (2, 6, 6, 6, 100)]
    coop = nets.Descriptor(layers=nets.NET_PRESETS["cooperative"])
    f, maps = jax.eval_shape(
        lambda: coop.init_with_output(
            jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 32)), features=True
        )[0]
    )
    assert [m.shape[1:] for m in maps] == [(16, 16, 16, 64), (8, 8, 8, 128), (4, 4, 4, 256)]


def test_sum_head_is_a_sum_of_local_terms_with_one_weight_per_channel():
    net = nets.Descriptor(layers=((3, 3, 2),), init_std=0.1, head="sum")
    y = jax.random.uniform(jax.random.PRNGKey(1), (2, 8, 8, 8))
    (f, maps), variables = net.init_with_output(jax.random.PRNGKey(0), y, features=True)
    p = variables["params"]
    assert p["fc_kernel"].shape == (3, 1)  # not (4·4·4·3, 1): no position-specific weights
    expected = jnp.sum(maps[-1], axis=(1, 2, 3)) @ p["fc_kernel"][:, 0] + p["fc_bias"][0]
    np.testing.assert_allclose(f, expected, rtol=1e-5)
    # a shape moved by the net's stride, away from the borders, has the same f
    z = jnp.zeros((1, 16, 16, 16)).at[0, 4:8, 5:9, 4:7].set(1.0)
    f0 = net.apply(variables, z)
    f1 = net.apply(variables, jnp.roll(z, 2, axis=1))
    np.testing.assert_allclose(f0, f1, rtol=1e-5)
    bad = nets.Descriptor(layers=((3, 3, 2),), head="mean")
    with pytest.raises(ConfigError, match="model.head"):
        bad.init(jax.random.PRNGKey(0), y)


def test_smooth_activations_give_a_lipschitz_energy_gradient():
    y = jax.random.normal(jax.random.PRNGKey(1), (2, 8, 8, 8))
    d = jax.random.normal(jax.random.PRNGKey(2), y.shape)

    def grad_change(activation, eps):
        net = nets.Descriptor(
            layers=((4, 3, 2), (3, 2, 1)), init_std=0.3, activation=activation, conv_impl="xla"
        )
        p = net.init(jax.random.PRNGKey(0), y)["params"]
        g = jax.jit(jax.grad(lambda v: net.apply({"params": p}, v).sum()))
        return float(jnp.linalg.norm(g(y + eps * d) - g(y)))

    for act in ("swish", "softplus"):
        # the change shrinks in proportion to the step: no kinks
        ratio = grad_change(act, 1e-2) / grad_change(act, 1e-3)
        assert 8 < ratio < 12, (act, ratio)
    with pytest.raises(ConfigError, match="model.activation"):
        nets.Descriptor(layers=((3, 3, 2),), activation="tanhh").init(jax.random.PRNGKey(0), y)
