"""Training batches: the data mean removed, and batch i of the run fixed by (seed, i), so a
resumed run sees exactly the batches an uninterrupted one would, with no iterator state."""

from __future__ import annotations

import numpy as np

from gvoxel.errors import ConfigError


def data_mean(voxels: np.ndarray, kind: str) -> np.ndarray:
    """'voxel': the mean shape (per-voxel mean), 'scalar': one number, 'none': zeros."""
    if kind == "voxel":
        return voxels.mean(axis=0).astype(np.float32)
    if kind == "scalar":
        return np.full(voxels.shape[1:], voxels.mean(), np.float32)
    if kind == "none":
        return np.zeros(voxels.shape[1:], np.float32)
    raise ConfigError(f"data.mean must be 'voxel', 'scalar' or 'none', got {kind!r}")


class Batches:
    """Epoch-wise shuffled batches; `batch(i)` is a pure function of i.

    A batch is {"voxels": (B, R, R, R) float32, "labels": (B,) int32}.
    """

    def __init__(self, data: np.ndarray, batch_size: int, seed: int, labels=None):
        if batch_size > len(data):
            raise ConfigError(f"batch_size={batch_size} exceeds the {len(data)} training shapes")
        self.data = data
        self.labels = np.zeros(len(data), np.int32) if labels is None else labels
        self.batch_size = batch_size
        self.seed = seed
        self.steps_per_epoch = len(data) // batch_size

    def indices(self, i: int) -> np.ndarray:
        epoch, j = divmod(i, self.steps_per_epoch)
        perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.data))
        return perm[j * self.batch_size : (j + 1) * self.batch_size]

    def batch(self, i: int) -> dict:
        idx = self.indices(i)
        return {
            "voxels": self.data[idx].astype(np.float32),
            "labels": self.labels[idx].astype(np.int32),
        }
