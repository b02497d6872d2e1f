"""Projections P applied to each Langevin change ΔY (optax.projections style).

Unconditional sampling, inpainting and super-resolution share one sampler and differ only
here. Each function maps ΔY to a ΔY that leaves the known part of Y unchanged; all are
idempotent orthogonal projections, so they also serve MALA's proposal density.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

Projection = Callable[[jax.Array], jax.Array]


def identity() -> Projection:
    """Unconditional sampling: ΔY unchanged."""
    return lambda delta: delta


def mask(visible: jax.Array) -> Projection:
    """Recovery: (1 − M)·ΔY; visible voxels (M = 1) never change, bit-exact.

    `visible` broadcasts against ΔY: (N, R, R, R) per chain or (R, R, R) for all chains.
    """
    visible = jnp.asarray(visible, bool)
    return lambda delta: jnp.where(visible, jnp.zeros_like(delta), delta)


def downscale_null_space(factor: int) -> Projection:
    """Super-resolution: (I − C⁻C)ΔY for block-average down-scaling C by `factor`.

    C⁻ is block replication, so C⁻C replaces each block by its mean and I − C⁻C removes it:
    the block averages (the low-resolution condition CY) stay fixed, to float rounding.
    """
    from gvoxel.data import resample

    resample._check_factor(factor)  # a bad factor fails here, not inside a trace

    def project(delta):
        return delta - resample.upscale(resample.downscale(delta, factor), factor)

    return project


def condition_mask(y_known: jax.Array, visible: jax.Array) -> Callable[[jax.Array], jax.Array]:
    """Y ↦ the nearest state with the visible voxels equal to `y_known` (a chain's start)."""
    visible = jnp.asarray(visible, bool)
    return lambda y: jnp.where(visible, y_known, y)


def condition_downscale(low: jax.Array, factor: int) -> Callable[[jax.Array], jax.Array]:
    """Y ↦ Y + C⁻(c − CY): the nearest state whose block averages equal `low` (= c)."""
    from gvoxel.data import resample

    resample._check_factor(factor)
    return lambda y: y + resample.upscale(low - resample.downscale(y, factor), factor)


def binary_mask(y_known: jax.Array, visible: jax.Array) -> Callable[[jax.Array], jax.Array]:
    """Y ↦ the nearest (L2) binary shape with the visible voxels equal to `y_known`:
    hidden voxels thresholded at 0.5."""
    visible = jnp.asarray(visible, bool)
    return lambda y: jnp.where(visible, y_known, (y > 0.5).astype(y.dtype))


def binary_downscale(low: jax.Array, factor: int) -> Callable[[jax.Array], jax.Array]:
    """Y ↦ the nearest (L2) binary shape whose block averages equal `low` (rounded to whole
    voxels): in each factor³ block the round(low·factor³) voxels with the largest Y are on.
    Unlike a 0.5 threshold it never contradicts the low-resolution input."""
    from gvoxel.data import resample

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


def compose(*projections: Projection) -> Projection:
    """Apply several projections in turn (they commute for the ones here)."""

    def project(delta):
        for p in projections:
            delta = p(delta)
        return delta

    return project
