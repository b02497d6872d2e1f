"""Atomic writes: a failed save leaves nothing behind."""

import os

import numpy as np
import pytest

from gvoxel.data import save_voxels

R = 8


def _grids(n=6, seed=0):
    return np.random.default_rng(seed).random((n, R, R, R)) > 0.7


def test_save_is_atomic(tmp_path):
    path = tmp_path / "out.npz"
    save_voxels(str(path), _grids(2))
    assert os.listdir(tmp_path) == ["out.npz"]

    class Boom(Exception):
        pass

    class Bad:
        def __array__(self, *a, **k):
            raise Boom

    with pytest.raises(Boom):
        save_voxels(str(tmp_path / "half.npz"), _grids(2), labels=Bad())
    assert os.listdir(tmp_path) == ["out.npz"]  # no half-written or temporary file
