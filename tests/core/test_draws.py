"""Flat draws are the shaped draws, bit for bit, only faster to compile."""

import flax.linen as nn
import jax
import numpy as np

from gvoxel.core import draws


def test_flat_draws_equal_shaped_draws():
    key = jax.random.PRNGKey(3)
    shape = (3, 3, 3, 2, 4)
    np.testing.assert_array_equal(draws.normal(key, shape), jax.random.normal(key, shape))
    np.testing.assert_array_equal(draws.uniform(key, shape), jax.random.uniform(key, shape))
    for init in (nn.initializers.lecun_normal(), nn.initializers.normal(0.1)):
        np.testing.assert_array_equal(draws.flat_init(init)(key, shape), init(key, shape))
    assert draws.flat_init(nn.initializers.lecun_normal())(key, (5, 2)).shape == (5, 2)
