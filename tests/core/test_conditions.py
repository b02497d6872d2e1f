"""Conditions (maps of Y onto the states that satisfy them), their binary versions."""

import jax
import numpy as np

from gvoxel.core import conditions, resample


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
