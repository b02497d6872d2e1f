"""binvox read/write."""

import numpy as np
import pytest

from gvoxel.data import load_voxels
from gvoxel.data.binvox import encode_binvox, parse_binvox, read_binvox, write_binvox
from gvoxel.errors import InputError


def test_round_trip_keeps_axes(tmp_path):
    grid = load_voxels("bundled:chair32").voxels[3] > 0.5
    path = str(tmp_path / "chair.binvox")
    write_binvox(grid, path)
    back = read_binvox(path)
    assert back.dtype == bool
    np.testing.assert_array_equal(back, grid)
    assert load_voxels(path).voxels.shape == (1, 32, 32, 32)


def test_runs_longer_than_255():
    grid = np.zeros((10, 10, 10), bool)
    grid[2:9, 1:9, :] = True  # runs of 600+ voxels need several 255-capped pairs
    np.testing.assert_array_equal(parse_binvox(encode_binvox(grid)), grid)


def test_storage_order_matches_binvox():
    # binvox stores y fastest, then z, then x: a voxel at x=0,y=1,z=0 is the second value
    data = b"#binvox 1\ndim 2 2 2\ntranslate 0 0 0\nscale 1\ndata\n" + bytes([0, 1, 1, 1, 0, 6])
    grid = parse_binvox(data)
    assert grid.sum() == 1 and grid[0, 1, 0]


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty file"),
        (b"hello", "not a binvox"),
        (b"#binvox 1\ndim 2 2 2\n", "header"),
        (b"#binvox 1\ndim 4 4 4\ndata\n" + bytes([1, 10]), "truncated or corrupt"),
    ],
)
def test_bad_binvox(data, reason):
    with pytest.raises(InputError, match=reason):
        parse_binvox(data, "x.binvox")
