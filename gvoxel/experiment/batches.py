"""Training batches and the data statistics a run keeps: the data mean removed, the
principal basis chains may start from, and batch i of the run fixed by (seed, i), so a
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


def principal_basis(centered, k: int):
    """The top-k principal directions of mean-removed shapes (N, R, R, R) scaled by their
    standard deviations (k, R, R, R), so Σ z_k·basis_k, z ~ N(0, I), has the shapes'
    covariance along them. NumPy, once per run (from the N × N Gram matrix: N ≪ R³)."""
    x = np.asarray(centered, np.float64).reshape(len(centered), -1)
    if not 0 < k <= len(x):
        raise ValueError(f"{k} principal components of {len(x)} shapes")
    eigval, eigvec = np.linalg.eigh(x @ x.T)
    top = np.argsort(eigval)[::-1][:k]
    lam = np.maximum(eigval[top], 0.0)
    directions = (x.T @ eigvec[:, top]) / np.sqrt(np.maximum(lam, 1e-12))  # unit columns
    basis = directions * np.sqrt(lam / len(x))
    return basis.T.reshape((k,) + tuple(centered.shape[1:])).astype(np.float32)


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
