"""EnergyModel, the descriptor + sampler + optimizer every variant composes: mode shifting is
one optimizer step on eq. (7)'s gradient, with no gradient through the synthesized shapes;
the noise switch; polishing."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gvoxel.core import ebm, energy, nets

R = 8


def model(noise_off_iter=-1, polish_steps=0, lr=0.01):
    sampler = ebm.SamplerSettings(
        num_steps=3,
        step_size=0.1,
        temperature=1.0,
        noise_off_iter=noise_off_iter,
        mala=False,
        persistent=True,
        init_std=1.0,
        reference_std=0.5,
        polish_steps=polish_steps,
    )
    net = nets.Descriptor(layers=((4, 3, 2), (3, 2, 1)), init_std=0.1, conv_impl="xla")
    return ebm.EnergyModel(descriptor=net, sampler=sampler, tx=optax.adam(lr), resolution=R)


def shapes(seed=0, n=4):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    observed = jax.random.uniform(k1, (n, R, R, R)) - 0.3
    synthesized = 0.5 * jax.random.normal(k2, (n + 1, R, R, R))
    return observed, synthesized


def test_mode_shifting_is_one_optimizer_step_on_the_eq7_gradient():
    m = model()
    learner = m.init(jax.random.PRNGKey(0))
    observed, synthesized = shapes()
    step = jax.jit(m.mode_shifting)
    # one step first, so the checked step has a non-trivial Adam state
    learner, _, _ = step(learner, observed, synthesized)
    params, opt_state = learner["params"], learner["opt_state"]
    new, grads, metrics = step(learner, observed, synthesized)

    def eq7(p):  # written out by hand: mean f(synthesized) − mean f(observed)
        f = lambda y: net_f(m, p, y)  # noqa: E731
        return jnp.mean(f(synthesized)) - jnp.mean(f(observed))

    @jax.jit
    def by_hand(params, opt_state):
        grads = jax.grad(eq7)(params)
        updates, opt_state = m.tx.update(grads, opt_state, params)
        return grads, optax.apply_updates(params, updates), opt_state, eq7(params)

    want_grads, want_params, want_opt, want_loss = by_hand(params, opt_state)
    tol = dict(rtol=1e-5, atol=1e-7)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **tol), grads, want_grads)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **tol), new["params"], want_params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **tol), new["opt_state"], want_opt)
    np.testing.assert_allclose(metrics["loss"], want_loss, rtol=1e-6)
    assert not np.allclose(new["params"]["fc_kernel"], params["fc_kernel"])  # it did move


def net_f(m, params, y):
    return m.descriptor.apply({"params": params}, y)


def test_no_gradient_flows_through_the_synthesized_shapes():
    m = model()
    learner = m.init(jax.random.PRNGKey(0))
    observed, synthesized = shapes()
    loss = lambda syn: m.mode_shifting(learner, observed, syn)[2]["loss"]  # noqa: E731
    np.testing.assert_array_equal(jax.jit(jax.grad(loss))(synthesized), 0.0)
    # ... while f itself does depend on them: the zero is the stop-gradient, not the net
    f_syn = lambda syn: jnp.mean(net_f(m, learner["params"], syn))  # noqa: E731
    assert float(jnp.abs(jax.jit(jax.grad(f_syn))(synthesized)).max()) > 0


@pytest.mark.parametrize(
    "noise_off_iter, on_at",
    [(-1, [True, True, True, True, True]), (0, [False] * 5), (3, [True] * 3 + [False] * 2)],
)
def test_noise_is_on_until_noise_off_iter_and_always_when_negative(noise_off_iter, on_at):
    m = model(noise_off_iter=noise_off_iter)
    noise_on = jax.jit(m.noise_on)  # traced: the step is a training-state array
    steps = [0, 1, 2, 3, 1000]
    assert [bool(noise_on(jnp.int32(s))) for s in steps] == on_at


def test_polish_without_steps_returns_its_input_and_with_steps_lowers_the_energy():
    observed, synthesized = shapes()
    plain = model(polish_steps=0)
    params = plain.init(jax.random.PRNGKey(0))["params"]
    np.testing.assert_array_equal(plain.polish(params, synthesized), synthesized)

    polished = model(polish_steps=5).polish(params, synthesized)
    assert polished.shape == synthesized.shape
    e = lambda y: energy.energy(plain.descriptor_fn, params, y)  # noqa: E731
    before, after = np.asarray(e(synthesized)), np.asarray(e(polished))
    assert np.all(after < before), (before, after)
    # noise-free: the same input polishes to the same output
    np.testing.assert_array_equal(model(polish_steps=5).polish(params, synthesized), polished)


def test_shift_average_moves_the_chains_on_the_shift_averaged_energy():
    m = model()
    on = dataclasses.replace(m, sampler=m.sampler._replace(shift_average=True))
    params = m.init(jax.random.PRNGKey(0))["params"]
    _, y = shapes()
    moved = on.langevin(params, jax.random.PRNGKey(1), y, 1, noise=False)[0].position
    f_bar = energy.shift_averaged(m.descriptor_fn)
    grad = energy.energy_grad(f_bar, params, y)
    step = m.sampler.step_size
    np.testing.assert_allclose(moved, y - step**2 / 2 * grad, rtol=1e-5, atol=1e-6)
    plain = m.langevin(params, jax.random.PRNGKey(1), y, 1, noise=False)[0].position
    assert not np.allclose(moved, plain)
