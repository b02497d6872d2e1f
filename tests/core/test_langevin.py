"""The sampler draws from known energies with the right moments."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel.core import energy, langevin, projections


def gaussian(mu, sigma):
    def eg(y):
        e = jnp.sum(((y - mu) ** 2).reshape(y.shape[0], -1), -1) / (2 * sigma**2)
        return e, (y - mu) / sigma**2

    return eg


def run(eg, y0, steps, delta, mala=False, temperature=1.0, noise=True, projection=None, seed=0):
    @jax.jit
    def go(key, y0):
        state = langevin.init(y0, eg)
        return langevin.sample(
            key, state, eg, steps, delta, temperature, noise, projection=projection, mala=mala
        )

    return go(jax.random.PRNGKey(seed), y0)


def test_reference_gaussian_moments_with_zero_descriptor():
    # f ≡ 0: the model is the reference N(0, s²I), s = 0.5.
    zero_f = lambda params, y: jnp.zeros(y.shape[0])  # noqa: E731
    eg = functools.partial(energy.energy_and_grad, zero_f, None)
    y0 = 3.0 + jnp.zeros((500, 4, 4, 4))  # far from the mode
    delta = 0.1
    state, info = run(eg, y0, 2000, delta)
    y = np.asarray(state.position)
    # Unadjusted Langevin on a Gaussian: variance s²/(1 − δ²/(4s²)) exactly.
    s2 = 0.25 / (1 - delta**2 / (4 * 0.25))
    assert abs(y.mean()) < 0.01
    assert abs(y.var() - s2) / s2 < 0.03
    assert np.all(np.asarray(info.acceptance_rate) == 1.0)


def test_mala_is_exact_and_reports_acceptance():
    mu, sigma = 1.5, 0.7
    eg = gaussian(mu, sigma)
    y0 = jnp.zeros((400, 8))
    state, info = run(eg, y0, 1500, delta=0.9, mala=True)
    y = np.asarray(state.position)
    assert abs(y.mean() - mu) < 0.03
    assert abs(y.var() - sigma**2) / sigma**2 < 0.04  # ULA at δ=0.9 would be 0.67 off
    rate = float(np.mean(info.acceptance_rate))
    assert 0.2 < rate < 0.99


def test_temperature_scales_variance():
    eg = gaussian(0.0, 1.0)
    state, _ = run(eg, jnp.zeros((400, 8)), 800, 0.3, mala=True, temperature=0.25)
    assert abs(np.asarray(state.position).var() - 0.25) < 0.02


def test_annealed_temperatures_scale_each_steps_noise():
    # a flat energy: the chain is a sum of independent noise steps, so its variance is
    # δ²·Σ T_k exactly, with T_k the schedule's temperature at step k
    flat = lambda y: (jnp.zeros(y.shape[0]), jnp.zeros_like(y))  # noqa: E731
    temps = langevin.annealed(1.0, 0.0, 10)
    np.testing.assert_allclose(temps, np.linspace(1.0, 0.0, 10), rtol=1e-6)
    y0 = jnp.zeros((20000, 4))
    for final_grad in (True, False):
        go = functools.partial(langevin.sample, final_grad=final_grad)
        state, _ = jax.jit(go, static_argnums=(2, 3))(
            jax.random.PRNGKey(0), langevin.init(y0, flat), flat, 10, 0.5, temps
        )
        var = np.asarray(state.position).var()
        assert var == pytest.approx(0.25 * float(np.sum(temps)), rel=0.02)
    # a constant schedule is the scalar temperature, bit for bit
    eg = gaussian(1.0, 0.8)
    y0 = jax.random.normal(jax.random.PRNGKey(2), (8, 4, 4, 4))
    a, _ = run(eg, y0, 7, 0.3, temperature=0.3)
    b, _ = run(eg, y0, 7, 0.3, temperature=jnp.full((7,), 0.3))
    np.testing.assert_array_equal(a.position, b.position)


@pytest.mark.parametrize("noise,temperature", [(False, 1.0), (True, 0.0)])
def test_zero_temperature_descends_the_energy(noise, temperature):
    eg = gaussian(2.0, 1.0)
    y0 = jax.random.normal(jax.random.PRNGKey(1), (16, 4, 4, 4))
    e0, _ = eg(y0)
    energies = []
    y = y0
    for k in (1, 5, 300):
        state, _ = run(eg, y0, k, 0.3, noise=noise, temperature=temperature)
        energies.append(np.asarray(state.energy))
        y = state.position
    assert np.all(energies[0] < np.asarray(e0))
    assert np.all(np.diff(np.stack(energies), axis=0) < 0)
    np.testing.assert_allclose(np.asarray(y), 2.0, atol=1e-2)


def test_noise_switch_is_traced_not_static():
    eg = gaussian(0.0, 1.0)
    step = langevin.build_kernel()
    traces = []

    @jax.jit
    def one(key, y, noise):
        traces.append(1)
        return step(key, langevin.init(y, eg), eg, 0.1, 1.0, noise)[0].position

    y = jnp.zeros((2, 3))
    a = one(jax.random.PRNGKey(0), y, jnp.array(True))
    b = one(jax.random.PRNGKey(0), y, jnp.array(False))
    assert len(traces) == 1
    assert np.any(np.asarray(a) != 0) and np.all(np.asarray(b) == 0)


def test_projection_keeps_masked_voxels_bit_exact_over_a_chain():
    eg = gaussian(0.3, 0.5)
    key = jax.random.PRNGKey(3)
    y0 = jax.random.uniform(key, (4, 8, 8, 8))
    visible = jax.random.bernoulli(jax.random.PRNGKey(4), 0.3, y0.shape)
    for mala in (False, True):
        state, _ = run(eg, y0, 50, 0.2, mala=mala, projection=projections.mask(visible))
        y = np.asarray(state.position)
        vis = np.asarray(visible)
        assert np.array_equal(y[vis], np.asarray(y0)[vis])
        assert np.all(y[~vis] != np.asarray(y0)[~vis])


@pytest.mark.parametrize("steps", [1, 5])
def test_skipping_the_final_gradient_moves_the_chain_the_same(steps):
    # final_grad=False saves the last gradient evaluation (nobody continues that state); the
    # chain must take exactly the same steps, and count K evaluations, not K + 1.
    calls = []

    def eg(y):
        jax.debug.callback(lambda: calls.append(1))  # one per evaluation actually run
        return gaussian(1.0, 0.7)(y)

    y0 = jnp.zeros((8, 3, 3, 3))
    key = jax.random.PRNGKey(3)

    def go(final_grad):
        calls.clear()
        state, info = langevin.sample(key, langevin.init(y0, eg), eg, steps, 0.3, 0.5,
                                      final_grad=final_grad)  # fmt: skip
        jax.block_until_ready(state.position)
        jax.effects_barrier()
        return state, info, len(calls)

    full, _, n_full = go(True)
    lean, info, n_lean = go(False)
    np.testing.assert_allclose(
        np.asarray(lean.position), np.asarray(full.position), rtol=1e-5, atol=1e-6
    )
    assert lean.energy is None and lean.grad is None and info.energy is None
    assert n_full == steps + 1 and n_lean == steps  # init + one per step but the last
    # MALA needs the final gradient for its acceptance test: the flag does not apply
    mala, _ = langevin.sample(key, langevin.init(y0, eg), eg, steps, 0.3, mala=True,
                              final_grad=False)  # fmt: skip
    assert mala.energy is not None
