"""VoxelDataset: shape checks, subsets and the deterministic train/validation split."""

import numpy as np
import pytest

from gvoxel.data import VoxelDataset
from gvoxel.errors import ConfigError, InputError

R = 8


def _grids(n=6, seed=0):
    return np.random.default_rng(seed).random((n, R, R, R)) > 0.7


def test_split_is_deterministic_and_disjoint():
    data = VoxelDataset(
        voxels=_grids(50).astype(np.float32), labels=np.zeros(50, np.int32), categories=("a",)
    )
    train, val = data.split_train_val(0.2, seed=3)
    assert len(train) == 40 and len(val) == 10
    again_train, again_val = data.split_train_val(0.2, seed=3)
    np.testing.assert_array_equal(val.voxels, again_val.voxels)
    # the split is a fixed function of the seed: default_rng(seed).permutation
    want = np.sort(np.random.default_rng(3).permutation(50)[:10])
    np.testing.assert_array_equal(val.voxels, data.voxels[want])
    other_train, _ = data.split_train_val(0.2, seed=4)
    assert not np.array_equal(other_train.voxels, train.voxels)
    assert len(data.split_train_val(0.0, 0)[1]) == 0
    assert len(data.split_train_val(0.001, 0)[1]) == 1  # a requested split is never empty
    with pytest.raises(ConfigError):
        data.split_train_val(1.0, 0)


def test_dataset_checks_shapes():
    with pytest.raises(InputError, match="labels shape"):
        VoxelDataset(np.zeros((2, R, R, R), np.float32), np.zeros(3, np.int32), ("a",))
    with pytest.raises(InputError, match=r"\(N, R, R, R\)"):
        VoxelDataset(np.zeros((2, R, R), np.float32), np.zeros(2, np.int32), ("a",))
    data = VoxelDataset(
        np.zeros((4, R, R, R), np.float32), np.arange(4, dtype=np.int32) % 2, ("a", "b"),
        names=("w", "x", "y", "z"),
    )  # fmt: skip
    sub = data.subset([3, 1])
    assert sub.names == ("z", "x") and list(sub.labels) == [1, 1] and sub.resolution == R
    assert len(data.subset(data.labels == 0)) == 2
