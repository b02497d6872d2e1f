"""Constraint projections of ΔY keep the known part exact over whole Langevin chains."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel.core import corruption, energy, langevin, nets, projections, resample
from gvoxel.errors import InputError


def descriptor_energy(r=8, seed=0):
    """E of a random (untrained) descriptor: a non-trivial, non-separable gradient."""
    net = nets.Descriptor(layers=((4, 3, 2),), init_std=0.3)
    params = net.init(jax.random.PRNGKey(seed), jnp.zeros((1, r, r, r)))["params"]
    fn = lambda p, y: net.apply({"params": p}, y)  # noqa: E731
    return functools.partial(energy.energy_and_grad, fn, params)


def run_chain(y0, projection, mala, steps=60, delta=0.2):
    eg = descriptor_energy(y0.shape[-1])

    @jax.jit
    def go(y):
        state = langevin.init(y, eg)
        return langevin.sample(
            jax.random.PRNGKey(1), state, eg, steps, delta, projection=projection, mala=mala
        )

    state, info = go(y0)
    return np.asarray(state.position), info


@pytest.mark.parametrize("mala", [False, True])
def test_mask_keeps_visible_voxels_bit_exact_and_moves_the_rest(mala):
    y0 = jax.random.uniform(jax.random.PRNGKey(0), (4, 8, 8, 8))
    visible = corruption.visible_mask(jax.random.PRNGKey(2), 4, 8, "random", 0.7)
    y, info = run_chain(y0, projections.mask(visible), mala)
    vis, y0 = np.asarray(visible), np.asarray(y0)
    assert np.array_equal(y[vis], y0[vis])
    assert np.mean(y[~vis] != y0[~vis]) > 0.99
    if mala:
        assert 0.0 < float(np.mean(info.acceptance_rate)) <= 1.0


@pytest.mark.parametrize("factor", [2, 4])
@pytest.mark.parametrize("mala", [False, True])
def test_null_space_keeps_the_low_resolution_version_over_a_chain(factor, mala):
    y0 = jax.random.uniform(jax.random.PRNGKey(0), (3, 8, 8, 8))
    y, _ = run_chain(y0, projections.downscale_null_space(factor), mala)
    low0 = np.asarray(resample.downscale(y0, factor))
    np.testing.assert_allclose(np.asarray(resample.downscale(y, factor)), low0, atol=2e-6)
    assert np.abs(y - np.asarray(y0)).max() > 0.1  # the chain did move within the blocks


def test_projections_are_idempotent_orthogonal_and_kill_the_known_part():
    d = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 8))
    visible = jax.random.bernoulli(jax.random.PRNGKey(1), 0.4, d.shape)
    for p, known in [
        (projections.mask(visible), lambda x: jnp.where(visible, x, 0.0)),
        (projections.downscale_null_space(2), lambda x: resample.downscale(x, 2)),
    ]:
        pd = p(d)
        np.testing.assert_allclose(p(pd), pd, atol=1e-6)
        np.testing.assert_allclose(known(pd), 0.0, atol=1e-6)
        # orthogonal: the removed part is perpendicular to what is kept
        assert abs(float(jnp.vdot(pd, d - pd))) < 1e-3 * float(jnp.vdot(d, d))


def test_mask_broadcasts_one_mask_over_all_chains():
    d = jnp.ones((3, 4, 4, 4))
    visible = np.zeros((4, 4, 4), bool)
    visible[0] = True
    out = np.asarray(projections.mask(visible)(d))
    assert (out[:, 0] == 0).all() and (out[:, 1:] == 1).all()


def test_bad_factor_fails_when_the_projection_is_built():
    for bad in (0, 2.0, True):
        with pytest.raises(InputError, match="positive int"):
            projections.downscale_null_space(bad)
