"""Accuracy of recovered / super-resolved shapes against the originals, per example.

Works on numpy and jax arrays alike (N, R, R, R) in occupancy units [0, 1].
"""

from __future__ import annotations

import jax.numpy as jnp


def _per_example(x):
    return x.reshape(x.shape[0], -1)


def recovery_error(recovered, original, visible):
    """Paper Table 4: mean |Ŷ − Y| over the corrupted (not visible) voxels of each shape."""
    hidden = _per_example(~jnp.asarray(visible, bool)).astype(jnp.float32)
    diff = _per_example(jnp.abs(jnp.asarray(recovered, jnp.float32) - original))
    return jnp.sum(diff * hidden, -1) / jnp.maximum(jnp.sum(hidden, -1), 1.0)


def voxel_error(result, original):
    """Mean |Ŷ − Y| over all voxels of each shape."""
    return jnp.mean(_per_example(jnp.abs(jnp.asarray(result, jnp.float32) - original)), -1)


def iou(result, original, threshold: float = 0.5):
    """Intersection over union of the occupied voxels (> threshold); 1 for two empty shapes."""
    a = _per_example(jnp.asarray(result) > threshold)
    b = _per_example(jnp.asarray(original) > threshold)
    inter = jnp.sum(a & b, -1)
    union = jnp.sum(a | b, -1)
    return jnp.where(union > 0, inter / jnp.maximum(union, 1), 1.0)
