"""Random draws made flat, then reshaped: the same distributions, but XLA's CPU compiler
takes far longer on jax.random for rank-5 shapes (docs/performance.md), and every 3D conv
kernel and voxel grid is rank 4-5. With partitionable threefry (JAX's default) the values
equal the shaped draw's, bit for bit (tests/test_draws.py), so runs are unchanged."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def normal(key, shape, dtype=jnp.float32):
    return jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)


def uniform(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, (math.prod(shape),), dtype).reshape(shape)


def flat_init(init):
    """A flax initializer drawn as the 2-D (prod(shape[:-1]), shape[-1]) matrix. For conv
    kernels (k, k, k, in, out) that keeps the fan-in k³·in of lecun_normal (not the fan-out
    of "fan_out"/"fan_avg" modes, which no net here uses)."""

    def wrapped(key, shape, dtype=jnp.float32):
        if len(shape) <= 2:
            return init(key, shape, dtype)
        return init(key, (math.prod(shape[:-1]), shape[-1]), dtype).reshape(shape)

    return wrapped
