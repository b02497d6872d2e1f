"""Nearest training shapes of each sample by L2 distance in voxel space (Figure 2): a sample
that is (almost) a copy of a training shape shows distance ~0, i.e. memorisation."""

from __future__ import annotations

import numpy as np

from gvoxel.errors import InputError


def nearest_neighbours(samples, train, k: int = 1, chunk: int = 256):
    """(indices (N, k), distances (N, k)) of the k training grids nearest to each sample."""
    a = np.asarray(samples, np.float32).reshape(len(samples), -1)
    b = np.asarray(train, np.float32).reshape(len(train), -1)
    if a.shape[1] != b.shape[1]:
        raise InputError(
            f"samples {np.shape(samples)[1:]} and training shapes {np.shape(train)[1:]} "
            "have different grid sizes"
        )
    if not 1 <= k <= len(b):
        raise InputError(f"k must be in [1, {len(b)}], got {k}")
    b_sq = np.einsum("ij,ij->i", b, b)
    idx = np.empty((len(a), k), np.int64)
    dist = np.empty((len(a), k), np.float32)
    for s in range(0, len(a), chunk):
        part = a[s : s + chunk]
        # ||a-b||² = ||a||² - 2ab + ||b||², a chunk of samples at a time to bound memory
        d2 = np.einsum("ij,ij->i", part, part)[:, None] - 2.0 * part @ b.T + b_sq[None]
        nearest = np.argsort(d2, axis=1, kind="stable")[:, :k]
        idx[s : s + chunk] = nearest
        dist[s : s + chunk] = np.sqrt(np.maximum(np.take_along_axis(d2, nearest, 1), 0.0))
    return idx, dist
