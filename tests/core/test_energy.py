"""Energy, its gradients and the mode-shifting loss (eq. 7)."""

import jax
import jax.numpy as jnp
import numpy as np

from gvoxel.core import energy, nets


def tiny_net():
    # XLA's conv: these tests are about eq. (7); the FFT path's gradients are test_conv's
    net = nets.Descriptor(layers=((3, 3, 2), (2, 2, 1)), init_std=0.1, conv_impl="xla")
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 6, 6, 6)))["params"]
    return net, params


def test_energy_gradient_is_y_over_s2_minus_df():
    net, params = tiny_net()
    fn = lambda p, y: net.apply({"params": p}, y)  # noqa: E731
    y = jax.random.normal(jax.random.PRNGKey(1), (3, 6, 6, 6))
    e_and_g = jax.jit(lambda p, y: energy.energy_and_grad(fn, p, y))  # one compile, not per op
    e, g = e_and_g(params, y)
    df = jax.jit(jax.grad(lambda y_: fn(params, y_).sum()))(y)
    np.testing.assert_allclose(g, y / 0.25 - df, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e, (y**2).sum((1, 2, 3)) / 0.5 - fn(params, y), rtol=1e-6)
    # Each chain's gradient depends only on that chain.
    _, g1 = e_and_g(params, y[:1])
    np.testing.assert_allclose(g1, g[:1], rtol=1e-5, atol=1e-6)


def test_theta_gradient_is_eq7_difference_of_mean_df_dtheta():
    net, params = tiny_net()
    fn = lambda p, y: net.apply({"params": p}, y)  # noqa: E731
    obs = jax.random.uniform(jax.random.PRNGKey(2), (4, 6, 6, 6))
    syn = jax.random.normal(jax.random.PRNGKey(3), (5, 6, 6, 6))
    grads = jax.jit(jax.grad(lambda p: energy.mode_shifting_loss(fn, p, obs, syn)[0]))(params)
    # Direct: average the per-example ∂f/∂θ over each set.
    per_example = jax.jit(jax.vmap(lambda y: jax.grad(lambda p: fn(p, y[None])[0])(params)))
    d_obs = jax.tree.map(lambda g: g.mean(0), per_example(obs))
    d_syn = jax.tree.map(lambda g: g.mean(0), per_example(syn))
    want = jax.tree.map(lambda a, b: a - b, d_syn, d_obs)
    jax.tree.map(  # the same tree, every leaf close
        lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-7),
        grads,
        want,
    )


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

    a, b = jax.jit(jax.grad(loss_through_chain))(params), jax.jit(jax.grad(loss_fixed))(params)
    jax.tree.map(  # the same tree, every leaf close
        lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-9),
        a,
        b,
    )


def test_weighted_mode_shifting_loss_weights_each_example_difference():
    w = jnp.arange(1.0, 5.0)
    fn = lambda p, y: p * jnp.sum(y, axis=(1, 2, 3))  # noqa: E731
    obs, syn = jnp.ones((4, 2, 2, 2)), jnp.zeros((4, 2, 2, 2))
    loss, _ = energy.mode_shifting_loss(fn, 2.0, obs, syn, w)
    np.testing.assert_allclose(loss, jnp.mean(w * (0.0 - 2.0 * 8.0)))
    plain, _ = energy.mode_shifting_loss(fn, 2.0, obs, syn)
    np.testing.assert_allclose(energy.mode_shifting_loss(fn, 2.0, obs, syn, jnp.ones(4))[0], plain)


def test_shift_averaged_f_is_the_mean_over_the_eight_one_voxel_rolls():
    net, params = tiny_net()
    fn = lambda p, y: net.apply({"params": p}, y)  # noqa: E731
    y = jax.random.normal(jax.random.PRNGKey(4), (3, 6, 6, 6))
    rolls = [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]
    want = np.mean([fn(params, jnp.roll(y, r, axis=(1, 2, 3))) for r in rolls], axis=0)
    f_bar = energy.shift_averaged(fn)
    np.testing.assert_allclose(f_bar(params, y), want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(f_bar(params, y), fn(params, y))  # the net sees the phase
    # an f that no roll changes is its own average
    total = lambda p, y_: jnp.sum(jnp.square(y_), axis=(1, 2, 3))  # noqa: E731
    np.testing.assert_allclose(energy.shift_averaged(total)(None, y), total(None, y), rtol=1e-6)


def test_binary_well_adds_a_double_well_with_minima_at_zero_and_one():
    net, params = tiny_net()
    fn = lambda p, y: net.apply({"params": p}, y)  # noqa: E731
    well = energy.with_binary_well(fn, 3.0)
    y = jax.random.uniform(jax.random.PRNGKey(2), (2, 6, 6, 6), minval=-0.5, maxval=1.5)
    want_f = fn(params, y) - 3.0 * jnp.sum((y * (1 - y)) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(well(params, y), want_f, rtol=1e-5)
    grad = jax.grad(lambda y_: jnp.sum(well(params, y_)))(y)
    df = jax.grad(lambda y_: jnp.sum(fn(params, y_)))(y)
    np.testing.assert_allclose(grad, df - 3.0 * 2 * y * (1 - y) * (1 - 2 * y), rtol=1e-4, atol=1e-5)
    # with f = 0 and a wide reference, noise-free descent takes each voxel to its nearer well
    zero = lambda p, y: jnp.zeros(y.shape[0])  # noqa: E731
    x = jnp.asarray([0.2, 0.45, 0.55, 0.8]).reshape(1, 4, 1, 1)
    for _ in range(400):
        x = x - 0.1 * energy.energy_grad(energy.with_binary_well(zero, 3.0), None, x, s=100.0)
    np.testing.assert_allclose(x.ravel(), [0, 0, 1, 1], atol=0.02)
