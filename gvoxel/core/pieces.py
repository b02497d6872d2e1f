"""A soft shape's pieces: joining its faint voxels to it (hysteresis), piece sizes, the
largest piece, and the shape without its small pieces.

A thin part drawn soft (a leg whose voxels hover around 0.5) decodes at 0.5 into beads. The
voxels above a lower bound that connect (26-neighbourhood) to voxels above 0.5 join the
beads again. With `use_ridge`, only voxels that are the largest of their 3×3 neighbourhood in
some grid plane may join, so the faint halo around a surface does not thicken it.

Pure jax functions; the flood fill is a `lax.while_loop` of 3³ dilations within the
candidates, so it stops when nothing more joins; pieces are labelled the same way.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gvoxel.core import negatives


def ridge(occupancy: jax.Array) -> jax.Array:
    """(N, R, R, R) → bool: voxels at least as large as every neighbour in their 3×3
    neighbourhood of one of the three grid planes through them (a thin part's centre
    line)."""
    out = jnp.zeros(occupancy.shape, bool)
    for axis in (1, 2, 3):
        window = [1, 3, 3, 3]
        window[axis] = 1
        top = jax.lax.reduce_window(
            occupancy, -jnp.inf, jax.lax.max, tuple(window), (1, 1, 1, 1), "SAME"
        )
        out = out | (occupancy >= top)
    return out


def joined(occupancy: jax.Array, low: float, use_ridge: bool = False) -> jax.Array:
    """(N, R, R, R) occupancies → bool: the voxels above 0.5, and the voxels above `low`
    (ridge voxels only, with `use_ridge`) connected to them through voxels above `low`."""
    strong = occupancy > 0.5
    candidates = occupancy > low
    if use_ridge:
        candidates = candidates & ridge(occupancy)
    candidates = candidates | strong

    def grow(carry):
        region, _ = carry
        grown = negatives.dilate(region, 1) & candidates
        return grown, jnp.any(grown != region)

    region, _ = jax.lax.while_loop(lambda c: c[1], grow, (strong, jnp.array(True)))
    return region


def bridged(occupancy: jax.Array, low: float, use_ridge: bool = False, floor: float = 0.6):
    """The soft shape with its joined faint voxels raised to `floor` (above 0.5), so they
    decode as part of it; every other voxel unchanged."""
    faint = joined(occupancy, low, use_ridge) & (occupancy <= 0.5)
    return jnp.where(faint, jnp.maximum(occupancy, floor), occupancy)


def _labels(occupied: jax.Array) -> jax.Array:
    """(N, R, R, R) bool → int32: each occupied voxel labelled by the highest voxel index
    (from 1) of its 26-connected piece; 0 where empty."""
    index = jnp.arange(1, occupied[0].size + 1, dtype=jnp.int32).reshape(occupied.shape[1:])
    labels = jnp.where(occupied, index, 0)

    def spread(carry):
        labels, _ = carry
        wider = jax.lax.reduce_window(labels, 0, jax.lax.max, (1, 3, 3, 3), (1, 1, 1, 1), "SAME")
        wider = jnp.where(occupied, wider, 0)
        return wider, jnp.any(wider != labels)

    labels, _ = jax.lax.while_loop(lambda c: c[1], spread, (labels, jnp.array(True)))
    return labels


def _counts(labels: jax.Array) -> jax.Array:
    """(N, R, R, R) labels → (N, R³ + 1) voxels per label (label 0, the empty space: 0)."""
    flat = labels.reshape(labels.shape[0], -1)
    counts = jax.vmap(lambda l: jnp.zeros(flat.shape[1] + 1, jnp.int32).at[l].add(1))(flat)
    return counts.at[:, 0].set(0)


def _largest(labels: jax.Array, counts: jax.Array) -> jax.Array:
    biggest = counts.shape[1] - 1 - jnp.argmax(counts[:, ::-1], axis=1)  # ties: highest
    return (labels == biggest[:, None, None, None]) & (labels > 0)


def _sizes(labels: jax.Array, counts: jax.Array) -> jax.Array:
    flat = labels.reshape(labels.shape[0], -1)
    return jnp.take_along_axis(counts, flat, axis=1).reshape(labels.shape)


def largest(occupied: jax.Array) -> jax.Array:
    """(N, R, R, R) bool → bool: each shape's largest 26-connected piece (the one with the
    highest voxel index among equals); all False for an empty shape."""
    labels = _labels(occupied)
    return _largest(labels, _counts(labels))


def piece_size(occupied: jax.Array) -> jax.Array:
    """(N, R, R, R) bool → int32: the voxel count of each occupied voxel's piece; 0 where
    empty."""
    labels = _labels(occupied)
    return _sizes(labels, _counts(labels))


def main_piece(occupancy: jax.Array, ceiling: float = 0.4) -> jax.Array:
    """The soft shape with every voxel above 0.5 outside its largest piece lowered to
    `ceiling` (below 0.5), so only the largest piece decodes; the rest unchanged."""
    occupied = occupancy > 0.5
    loose = occupied & ~largest(occupied)
    return jnp.where(loose, jnp.minimum(occupancy, ceiling), occupancy)


def despeckled(occupancy: jax.Array, max_size: int, ceiling: float = 0.4) -> jax.Array:
    """The soft shape with every piece of at most `max_size` voxels above 0.5 lowered to
    `ceiling`, so stray voxels no longer decode; larger pieces and the rest unchanged."""
    occupied = occupancy > 0.5
    stray = occupied & (piece_size(occupied) <= max_size)
    return jnp.where(stray, jnp.minimum(occupancy, ceiling), occupancy)


def _within(occupied: jax.Array, axis: int, reach: int) -> tuple[jax.Array, jax.Array]:
    """(before, after): voxels with an occupied one at most `reach` steps back / ahead of
    them along `axis` (not counting themselves)."""
    r = occupied.shape[axis]
    pad = [(0, 0)] * occupied.ndim
    pad[axis] = (reach, reach)
    window = [1] * occupied.ndim
    window[axis] = reach
    # entry i of the windowed max over the padded grid covers the original indices i−reach … i−1
    m = jax.lax.reduce_window(
        jnp.pad(occupied.astype(jnp.float32), pad), 0.0, jax.lax.max, window,
        (1,) * occupied.ndim, "VALID",
    ) > 0.5  # fmt: skip
    before = jax.lax.slice_in_dim(m, 0, r, axis=axis)
    after = jax.lax.slice_in_dim(m, reach + 1, reach + 1 + r, axis=axis)
    return before, after


def gaps(occupied: jax.Array, radius: int = 2, reach: int = 8, min_piece: int = 3) -> jax.Array:
    """(N, R, R, R) bool → bool: the empty voxels between each shape's largest piece and its
    other pieces of at least `min_piece` voxels: within `radius` (Chebyshev) of both, or
    with the largest piece at most `reach` steps one way along a grid axis and a loose piece
    at most `reach` steps the other way (a leg that stops short of its seat)."""
    labels = _labels(occupied)  # one flood fill for both
    counts = _counts(labels)
    main = _largest(labels, counts)
    loose = occupied & ~main & (_sizes(labels, counts) >= min_piece)
    between = negatives.dilate(main, radius) & negatives.dilate(loose, radius)
    if reach > 0:
        for axis in (1, 2, 3):
            main_before, main_after = _within(main, axis, reach)
            loose_before, loose_after = _within(loose, axis, reach)
            between |= (main_before & loose_after) | (main_after & loose_before)
    return between & ~occupied
