"""Diffusion recovery likelihood's pieces: the schedule's constants, the diffused pairs'
moments, and Langevin on the recovery likelihood sampling its known Gaussian when f = 0."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel.core import diffusion, langevin


def test_schedule_levels_grow_noisier_and_the_top_is_pure_noise():
    s = diffusion.schedule(6, b=0.1)
    assert all(len(v) == 6 for v in s)
    np.testing.assert_allclose(s.a_cum**2 + s.sigma_cum**2, 1.0, rtol=1e-6)
    assert np.all(np.diff(s.sigma_cum) > 0) and s.sigma_cum[0] < 0.02
    np.testing.assert_allclose(s.scale[:-1] ** 2 + s.sigma[:-1] ** 2, 1.0, rtol=1e-6)
    # each level is the previous one scaled by a_{t+1}: the marginals compose
    np.testing.assert_allclose(s.a_cum[1:], s.a_cum[:-1] * s.scale[:-1], rtol=1e-6)
    assert s.sigma[-1] == s.scale[-1] == 1 and list(s.recovery) == [1] * 5 + [0]
    np.testing.assert_allclose(s.weight, s.sigma[0] / s.sigma, rtol=1e-6)
    np.testing.assert_allclose(s.step, 0.1 * s.sigma * np.sqrt(s.sigma_cum / s.sigma_cum[0]))
    with pytest.raises(ValueError):
        diffusion.schedule(1, b=0.1)


def test_diffuse_pair_has_the_forward_process_moments():
    s = diffusion.schedule(4, b=0.1)
    n = 4000
    x0 = jnp.ones((n, 2, 2, 2))
    for t in range(4):
        x_t, x_next = diffusion.diffuse_pair(jax.random.PRNGKey(t), s, x0, jnp.full((n,), t))
        assert abs(float(jnp.mean(x_t)) - s.a_cum[t]) < 0.01
        assert abs(float(jnp.std(x_t)) - s.sigma_cum[t]) < 0.01
        step = x_next - (s.scale[t] * x_t if t < 3 else 0.0)
        assert abs(float(jnp.mean(step))) < 0.01
        assert abs(float(jnp.std(step)) - s.sigma[t]) < 0.01
        # the noise that made x_{t+1} is independent of x_t
        c = np.corrcoef(np.ravel(x_t - jnp.mean(x_t)), np.ravel(step))[0, 1]
        assert abs(c) < 0.02


def test_langevin_on_the_recovery_likelihood_samples_its_gaussian_when_f_is_zero():
    """With f ≡ 0 the recovery likelihood at level t is N(x̃, σ_{t+1}²): Langevin at the
    schedule's step sizes (b large enough to mix, small enough for little bias) matches its
    mean and variance."""
    s = diffusion.schedule(3, b=0.02)
    zero_f = lambda params, y, level: jnp.zeros(y.shape[0])  # noqa: E731
    n, level = 2000, jnp.ones((2000,), jnp.int32)
    x_tilde = jnp.full((n, 2, 2, 2), 0.3)
    eg = diffusion.energy_and_grad(zero_f, None, s, level, x_tilde)
    step = diffusion.at_level(s.step, level, 4)
    chain, _ = langevin.sample(
        jax.random.PRNGKey(0), langevin.init(x_tilde, eg), eg, 3000, step, 1.0, True
    )
    y = np.asarray(chain.position)
    assert abs(y.mean() - 0.3) < 0.02
    assert abs(y.std() / s.sigma[1] - 1.0) < 0.05


def test_recovery_likelihood_gradient_is_the_descriptor_scaled_plus_the_pull_to_x_tilde():
    s = diffusion.schedule(3, b=0.1)
    w = jnp.arange(8.0).reshape(2, 2, 2)
    linear_f = lambda params, y, level: jnp.sum(y * w, axis=(1, 2, 3)) * (level + 1)  # noqa: E731
    level = jnp.array([0, 2])
    y = jnp.ones((2, 2, 2, 2))
    x_tilde = jnp.zeros_like(y)
    e, g = diffusion.energy_and_grad(linear_f, None, s, level, x_tilde)(y)
    for i, t in enumerate([0, 2]):
        pull = s.recovery[t] * (y[i] - x_tilde[i]) / s.sigma[t] ** 2
        np.testing.assert_allclose(g[i], -(t + 1) * w / s.step[t] ** 2 + pull, rtol=1e-5)


def test_signed_and_occupancy_units_round_trip():
    occ = jnp.array([0.0, 0.25, 1.0])
    np.testing.assert_array_equal(diffusion.to_signed(occ), [-1.0, -0.5, 1.0])
    np.testing.assert_array_equal(diffusion.to_occupancy(diffusion.to_signed(occ)), occ)
    np.testing.assert_array_equal(diffusion.to_occupancy(jnp.array([-3.0, 3.0])), [0.0, 1.0])
