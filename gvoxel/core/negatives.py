"""Negative examples for mode shifting: real shapes with the defects samples show, so the
descriptor learns to rate them below the real ones (negative data augmentation, Sinha et al.
2021). A descriptor whose first layer has a large stride barely sees a stray voxel or a
one-voxel break in a leg; these examples put exactly those in front of it.

Pure jax functions of a PRNG key (a training step derives the same examples on resume).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gvoxel.core import draws


def dilate(occupied: jax.Array, radius: int) -> jax.Array:
    """(N, R, R, R) bool → the voxels within `radius` (Chebyshev distance) of an occupied
    one."""
    k = 2 * radius + 1
    out = jax.lax.reduce_window(
        occupied.astype(jnp.float32), 0.0, jax.lax.max, (1, k, k, k), (1, 1, 1, 1), "SAME"
    )
    return out > 0.5


def cut(rng, occupancy: jax.Array) -> jax.Array:
    """(N, R, R, R) → each shape with one grid plane through it emptied: a one-voxel break
    across every thin part the plane crosses (legs under a seat, a back's posts). The plane
    is normal to a random axis and passes through a random occupied voxel."""
    k_voxel, k_axis = jax.random.split(rng)
    n, r = occupancy.shape[0], occupancy.shape[1]
    flat = occupancy.reshape(n, -1) > 0.5
    # a random occupied voxel (the first voxel when the shape is empty)
    pick = jnp.argmax(jnp.where(flat, draws.uniform(k_voxel, flat.shape), -1.0), axis=1)
    where = jnp.stack(jnp.unravel_index(pick, (r, r, r)), axis=1)  # (N, 3)
    axis = jax.random.randint(k_axis, (n,), 0, 3)
    at = jnp.take_along_axis(where, axis[:, None], axis=1)[:, 0]
    coords = jnp.indices((r, r, r))  # (3, R, R, R): each voxel's coordinate per axis
    emptied = coords[axis] == at[:, None, None, None]
    return jnp.where(emptied, 0.0, occupancy).astype(occupancy.dtype)


def decoded(occupancy: jax.Array, threshold: float = 0.5) -> jax.Array:
    """Soft occupancies → the binary shapes they decode to (above `threshold`), as drawn
    samples are written: what f should rate, breaks and stray voxels included."""
    return (occupancy > threshold).astype(occupancy.dtype)


def speckle(rng, occupancy: jax.Array, rate: float) -> jax.Array:
    """(N, R, R, R) occupancies in [0, 1] → the same shapes with about `rate`·(their voxel
    count) flipped: half of them occupied voxels turned off (holes, broken thin parts), half
    empty voxels within two of the surface turned on (stray voxels and bumps). Binary where
    the input is."""
    k_off, k_on = jax.random.split(rng)
    occupied = occupancy > 0.5
    shell = dilate(occupied, 2) & ~occupied
    axes = (1, 2, 3)
    n_occupied = jnp.sum(occupied, axes, keepdims=True)
    n_shell = jnp.maximum(jnp.sum(shell, axes, keepdims=True), 1)
    p_on = jnp.minimum(0.5 * rate * n_occupied / n_shell, 1.0)
    off = occupied & (draws.uniform(k_off, occupancy.shape) < 0.5 * rate)
    on = shell & (draws.uniform(k_on, occupancy.shape) < p_on)
    return jnp.where(on, 1.0, jnp.where(off, 0.0, occupancy)).astype(occupancy.dtype)
