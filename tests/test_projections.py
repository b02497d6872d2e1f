"""Constraint projections keep the known part exact over whole Langevin chains; masks hide
what they claim to hide."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from gvoxel.core import conditions, corruption, energy, langevin, nets, projections, resample
from gvoxel.errors import ConfigError, InputError


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


def test_conditions_give_states_that_satisfy_them():
    y = jax.random.uniform(jax.random.PRNGKey(0), (2, 8, 8, 8))
    known = jax.random.uniform(jax.random.PRNGKey(1), (2, 8, 8, 8))
    visible = jax.random.bernoulli(jax.random.PRNGKey(2), 0.5, y.shape)
    out = conditions.mask(known, visible)(y)
    assert np.array_equal(np.asarray(out)[np.asarray(visible)], np.asarray(known)[visible])
    low = jax.random.uniform(jax.random.PRNGKey(3), (2, 2, 2, 2))
    out = conditions.downscale(low, 4)(y)
    np.testing.assert_allclose(resample.downscale(out, 4), low, atol=1e-6)


def test_binary_projections_keep_the_condition_and_are_the_nearest_binary_shapes():
    import itertools

    y = jax.random.uniform(jax.random.PRNGKey(0), (3, 4, 4, 4))
    low = resample.downscale(jax.random.uniform(jax.random.PRNGKey(1), (3, 4, 4, 4)), 2)
    b = np.asarray(conditions.binary_downscale(low, 2)(y))
    assert set(np.unique(b)) <= {0.0, 1.0}
    np.testing.assert_allclose(resample.downscale(b, 2), np.rint(np.asarray(low) * 8) / 8)
    # brute force over one block: no binary block with the same count is closer to y
    blk = (1, slice(2, 4), slice(0, 2), slice(2, 4))
    yb, bb = np.asarray(y)[blk].ravel(), b[blk].ravel()
    best = min(
        np.sum((np.array(c) - yb) ** 2)
        for c in itertools.product((0.0, 1.0), repeat=8)
        if sum(c) == bb.sum()
    )
    np.testing.assert_allclose(np.sum((bb - yb) ** 2), best, rtol=1e-6)
    # one low-res grid for all shapes broadcasts like the (N, ...) form
    one = np.asarray(conditions.binary_downscale(low[0], 2)(y[0]))
    np.testing.assert_array_equal(one, b[0])

    visible = jax.random.bernoulli(jax.random.PRNGKey(2), 0.5, y.shape)
    m = np.asarray(conditions.binary_mask(y, visible)(y))
    vis = np.asarray(visible)
    np.testing.assert_array_equal(m[vis], np.asarray(y)[vis])
    np.testing.assert_array_equal(m[~vis], (np.asarray(y)[~vis] > 0.5).astype(np.float32))


def test_bad_factor_fails_when_the_projection_is_built():
    for bad in (0, 2.0, True):
        with pytest.raises(InputError, match="positive int"):
            projections.downscale_null_space(bad)


@pytest.mark.parametrize("kind", ["random", "box", "half", "mixed"])
def test_masks_hide_about_rho_and_are_deterministic_in_the_key(kind):
    key = jax.random.PRNGKey(7)
    vis = np.asarray(corruption.visible_mask(key, 6, 16, kind, 0.6))
    assert vis.shape == (6, 16, 16, 16) and vis.dtype == bool
    hidden = 1 - vis.reshape(6, -1).mean(1)
    np.testing.assert_allclose(hidden, 0.6, atol=0.05)
    assert np.array_equal(vis, np.asarray(corruption.visible_mask(key, 6, 16, kind, 0.6)))
    other = np.asarray(corruption.visible_mask(jax.random.PRNGKey(8), 6, 16, kind, 0.6))
    assert not np.array_equal(vis, other)


def test_box_and_half_space_hide_contiguous_regions():
    box = ~np.asarray(corruption.visible_mask(jax.random.PRNGKey(0), 4, 16, "box", 0.3))
    for b in box:
        idx = np.argwhere(b)
        lo, hi = idx.min(0), idx.max(0) + 1
        assert b[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].all()  # its bounding box, full
    half = ~np.asarray(corruption.visible_mask(jax.random.PRNGKey(0), 4, 16, "half", 0.3))
    coords = np.indices((16,) * 3).reshape(3, -1).T.astype(float)
    x = np.c_[coords, np.ones(len(coords))]
    for h in half:
        # linearly separable: some (w, b) has t·(w·x + b) >= 1 for every voxel (an LP)
        t = np.where(h.reshape(-1), 1.0, -1.0)
        lp = scipy.optimize.linprog(
            np.zeros(4), A_ub=-t[:, None] * x, b_ub=-np.ones(len(t)), bounds=[(None, None)] * 4
        )
        assert lp.status == 0
    # and a mask that is not a half-space fails the same check
    t = np.where(box[0].reshape(-1), 1.0, -1.0)
    lp = scipy.optimize.linprog(
        np.zeros(4), A_ub=-t[:, None] * x, b_ub=-np.ones(len(t)), bounds=[(None, None)] * 4
    )
    assert lp.status == 2  # infeasible


def test_bad_corruption_settings_are_config_errors():
    with pytest.raises(ConfigError, match="kind"):
        corruption.check("blur", 0.5)
    for rho in (0.0, 1.0, -0.1):
        with pytest.raises(ConfigError, match="rho"):
            corruption.check("random", rho)
