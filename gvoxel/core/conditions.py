"""Maps of Y (not of ΔY) onto the states that satisfy a condition: a chain's start, and the
nearest binary shape that still satisfies it (what recovery and super-resolution write).
The projections of each Langevin change ΔY are in projections.py."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from gvoxel.core import resample


def mask(y_known: jax.Array, visible: jax.Array) -> Callable[[jax.Array], jax.Array]:
    """Y ↦ the nearest state with the visible voxels equal to `y_known` (a chain's start)."""
    visible = jnp.asarray(visible, bool)
    return lambda y: jnp.where(visible, y_known, y)


def downscale(low: jax.Array, factor: int) -> Callable[[jax.Array], jax.Array]:
    """Y ↦ Y + C⁻(c − CY): the nearest state whose block averages equal `low` (= c)."""
    resample._check_factor(factor)
    return lambda y: y + resample.upscale(low - resample.downscale(y, factor), factor)


def binary_mask(
    y_known: jax.Array, visible: jax.Array, threshold: float = 0.5
) -> Callable[[jax.Array], jax.Array]:
    """Y ↦ the binary shape with the visible voxels equal to `y_known` and the hidden ones
    on where Y > `threshold` (at 0.5, the nearest in L2)."""
    visible = jnp.asarray(visible, bool)
    return lambda y: jnp.where(visible, y_known, (y > threshold).astype(y.dtype))


def binary_downscale(low: jax.Array, factor: int) -> Callable[[jax.Array], jax.Array]:
    """Y ↦ the nearest (L2) binary shape whose block averages equal `low` (rounded to whole
    voxels): in each factor³ block the round(low·factor³) voxels with the largest Y are on.
    Unlike a 0.5 threshold it never contradicts the low-resolution input."""
    resample._check_factor(factor)
    f = factor

    def project(y):
        lead, b = y.shape[:-3], y.shape[-1] // f
        n = len(lead)
        axes = tuple(range(n)) + tuple(n + i for i in (0, 2, 4, 1, 3, 5))
        blocks = y.reshape(*lead, b, f, b, f, b, f).transpose(axes).reshape(*lead, b, b, b, -1)
        count = jnp.rint(jnp.asarray(low) * f**3).astype(jnp.int32)
        order = jnp.argsort(-blocks, axis=-1, stable=True)
        rank = jnp.argsort(order, axis=-1, stable=True)  # 0 for the largest Y of a block
        on = (rank < count[..., None]).astype(y.dtype)
        back = tuple(range(n)) + tuple(n + i for i in (0, 3, 1, 4, 2, 5))
        return on.reshape(*lead, b, b, b, f, f, f).transpose(back).reshape(y.shape)

    return project
