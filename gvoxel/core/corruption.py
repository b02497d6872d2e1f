"""Visibility masks M for 3D object recovery (Algorithm 4): M = 1 where a voxel is seen.

Pure jax functions of a PRNG key, so a training step derives the same masks from
state['rng'] on resume. `rho` is the fraction of voxels hidden. Besides independent random
voxels (the paper's §6.2 corruption) real scans miss whole regions, hence a random box and a
random half-space of the grid; 'mixed' draws one of the three per shape.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gvoxel.core import draws
from gvoxel.errors import ConfigError

KINDS = ("random", "box", "half", "mixed")


def check(kind: str, rho: float):
    if kind not in KINDS:
        raise ConfigError(f"corruption kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not 0.0 < float(rho) < 1.0:
        raise ConfigError(f"corruption fraction rho must be in (0, 1), got {rho!r}")


def random_voxels(rng, n: int, r: int, rho: float) -> jax.Array:
    """Each voxel hidden independently with probability rho."""
    return draws.uniform(rng, (n, r, r, r)) >= rho


def box(rng, n: int, r: int, rho: float) -> jax.Array:
    """One axis-aligned box of volume ≈ rho·R³ hidden, random proportions and place."""
    k_size, k_pos = jax.random.split(rng)
    # two sides in [√rho·R, R], the third makes the volume: it lands in [rho·R, R]
    ab = jax.random.uniform(k_size, (n, 2), minval=rho**0.5 * r, maxval=r + 1.0)
    ab = jnp.clip(jnp.floor(ab), 1, r)
    c = jnp.clip(jnp.round(rho * r**3 / (ab[:, 0] * ab[:, 1])), 1, r)
    side = jnp.concatenate([ab, c[:, None]], -1)[..., None]  # (n, 3, 1)
    lo = jnp.floor(jax.random.uniform(k_pos, (n, 3, 1)) * (r - side + 1))
    idx = jnp.arange(r)
    inside = (idx >= lo) & (idx < lo + side)  # (n, 3, r) per axis
    hidden = inside[:, 0, :, None, None] & inside[:, 1, None, :, None] & inside[:, 2, None, None]
    return ~hidden


def half_space(rng, n: int, r: int, rho: float) -> jax.Array:
    """Everything beyond a plane of random orientation hidden; the plane hides rho·R³ voxels."""
    normal = jax.random.normal(rng, (n, 3))
    normal = normal / jnp.linalg.norm(normal, axis=-1, keepdims=True)
    centres = jnp.stack(jnp.meshgrid(*([jnp.arange(r) - (r - 1) / 2] * 3), indexing="ij"), -1)
    height = jnp.einsum("xyzc,nc->nxyz", centres, normal)
    flat = jnp.sort(height.reshape(n, -1), axis=-1)
    cut = flat[:, min(r**3 - 1, int(round((1.0 - rho) * r**3)))]
    return height < cut[:, None, None, None]


def visible_mask(rng, n: int, r: int, kind: str, rho: float) -> jax.Array:
    """(n, r, r, r) bool visibility of `kind` (see KINDS); kind and rho are static."""
    check(kind, rho)
    makers = {"random": random_voxels, "box": box, "half": half_space}
    if kind != "mixed":
        return makers[kind](rng, n, r, rho)
    k_pick, *keys = jax.random.split(rng, 4)
    masks = jnp.stack([m(k, n, r, rho) for m, k in zip(makers.values(), keys)])
    pick = jax.random.randint(k_pick, (n,), 0, 3)
    return jnp.take_along_axis(masks, pick[None, :, None, None, None], 0)[0]
