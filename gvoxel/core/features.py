"""Learned descriptor features for classification (§6.5): the feature maps of the first
layers, max-pooled (4³ for layer 1, 2³ for layer 2) and concatenated. For the paper's net on
32³ grids: 200·3³ + 100·3³ = 8,100 values (pooling pads like SAME: 11 -> 3, 6 -> 3)."""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gvoxel.errors import ConfigError

POOLS = (4, 2)  # max-pool size per layer, from layer 1 on (§6.5)


def extract(descriptor, params, y, pools=POOLS):
    """(N, D) features of mean-removed grids y (N, R, R, R); pure, the caller jits."""
    _, maps = descriptor.apply({"params": params}, y, features=True)
    if len(pools) > len(maps):
        raise ConfigError(f"{len(pools)} pooling sizes for a net of {len(maps)} layers")
    out = []
    for h, p in zip(maps, pools, strict=False):
        h = nn.max_pool(h.astype(jnp.float32), (p,) * 3, strides=(p,) * 3, padding="SAME")
        out.append(h.reshape(h.shape[0], -1))
    return jnp.concatenate(out, axis=1)


def feature_size(descriptor, resolution: int, pools=POOLS) -> int:
    """Length of the feature vector, from shapes alone (no convolution is run)."""
    y = jax.ShapeDtypeStruct((1,) + (resolution,) * 3, jnp.float32)
    params = jax.eval_shape(descriptor.init, jax.random.PRNGKey(0), y)["params"]
    return int(jax.eval_shape(lambda p, v: extract(descriptor, p, v, pools), params, y).shape[1])


def extract_all(descriptor, params, y, pools=POOLS, batch_size: int = 16) -> np.ndarray:
    """Features of many grids in fixed-size batches (one trace; the last batch padded)."""
    fn = functools.partial(_extract_jit, descriptor, pools=tuple(pools))
    y = np.asarray(y, np.float32)
    n, pad = len(y), (-len(y)) % batch_size
    if pad:
        y = np.concatenate([y, np.zeros((pad,) + y.shape[1:], y.dtype)])
    parts = [np.asarray(fn(params, y[s : s + batch_size])) for s in range(0, len(y), batch_size)]
    return np.concatenate(parts)[:n]


# One compile per net, pooling and batch shape, kept across calls (the API's features()).
_extract_jit = jax.jit(extract, static_argnums=0, static_argnames="pools")
