"""Projections P applied to each Langevin change ΔY (optax.projections style).

Unconditional sampling, inpainting and super-resolution share one sampler and differ only
here. Each function maps ΔY to a ΔY that leaves the known part of Y unchanged; all are
idempotent orthogonal projections, so they also serve MALA's proposal density.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from gvoxel.core import resample

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
    resample._check_factor(factor)  # a bad factor fails here, not inside a trace

    def project(delta):
        return delta - resample.upscale(resample.downscale(delta, factor), factor)

    return project
