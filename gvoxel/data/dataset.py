"""The in-memory voxel dataset and the bundled archives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gvoxel.errors import ConfigError, InputError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
BUNDLED_PREFIX = "bundled:"


@dataclass(frozen=True, eq=False)
class VoxelDataset:
    """Voxel grids (N, R, R, R) float32 in [0, 1] with integer labels into `categories`."""

    voxels: np.ndarray
    labels: np.ndarray
    categories: tuple[str, ...]
    names: tuple[str, ...] | None = None
    split: np.ndarray | None = None  # 'train'/'test' per shape when the voxelizer made it

    def __post_init__(self):
        n = len(self.voxels)
        if self.voxels.ndim != 4 or len(set(self.voxels.shape[1:])) != 1:
            raise InputError(f"voxels must be (N, R, R, R), got shape {self.voxels.shape}")
        if self.labels.shape != (n,):
            raise InputError(f"labels shape {self.labels.shape} does not match {n} grids")
        if self.names is not None and len(self.names) != n:
            raise InputError(f"{len(self.names)} names for {n} grids")
        if self.split is not None and len(self.split) != n:
            raise InputError(f"{len(self.split)} split entries for {n} grids")

    def __len__(self) -> int:
        return len(self.voxels)

    @property
    def resolution(self) -> int:
        return int(self.voxels.shape[-1])

    def subset(self, idx) -> VoxelDataset:
        """The grids at `idx` (indices, slice or boolean mask), same categories."""
        idx = np.arange(len(self))[idx]
        return VoxelDataset(
            voxels=self.voxels[idx],
            labels=self.labels[idx],
            categories=self.categories,
            names=None if self.names is None else tuple(self.names[i] for i in idx),
            split=None if self.split is None else self.split[idx],
        )

    def split_train_val(self, val_fraction: float, seed: int) -> tuple[VoxelDataset, ...]:
        """Deterministic random split; the same seed gives the same split everywhere."""
        if not 0.0 <= val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}")
        n = len(self)
        n_val = int(round(val_fraction * n))
        if val_fraction > 0 and n >= 2:
            n_val = min(max(n_val, 1), n - 1)  # a requested split is never empty
        perm = np.random.default_rng(seed).permutation(n)
        return self.subset(np.sort(perm[n_val:])), self.subset(np.sort(perm[:n_val]))


def bundled_path(name: str) -> str:
    """Path of a bundled archive, e.g. 'chair32' -> .../gvoxel/assets/chair32.npz."""
    name = name.removeprefix(BUNDLED_PREFIX).removesuffix(".npz")
    path = ASSETS / f"{name}.npz"
    if not path.is_file():
        have = sorted(p.stem for p in ASSETS.glob("*.npz"))
        raise InputError(f"no bundled data set {name!r} (have: {', '.join(have)})")
    return str(path)
