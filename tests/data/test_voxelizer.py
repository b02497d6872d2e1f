"""Solid voxelization of the five real ModelNet10 bathtubs."""

import os

import numpy as np
import pytest
from scipy import ndimage

from gvoxel.data.meshio import read_mesh
from gvoxel.data.voxelizer import normalize_vertices, voxelize_mesh
from gvoxel.errors import InputError
from tests.helpers import BATHTUBS

R = 32


@pytest.fixture(scope="module")
def tubs():
    out = {}
    for path in BATHTUBS:
        grids, info = voxelize_mesh(read_mesh(path), R, margin=1)
        out[os.path.basename(path)] = (grids[0], info)
    return out


def test_bathtubs_are_plausible_solids(tubs):
    for name, (grid, info) in tubs.items():
        assert grid.dtype == bool and grid.shape == (R, R, R), name
        assert 0.02 < grid.mean() < 0.5, name
        idx = np.argwhere(grid)
        lo, hi = idx.min(0), idx.max(0)
        # the 1-voxel margin is empty and the longest side spans the other 30 voxels
        assert lo.min() >= 1 and hi.max() <= R - 2, name
        assert (hi - lo + 1).max() == R - 2, name
        # one connected object
        _, n_parts = ndimage.label(grid, structure=np.ones((3, 3, 3)))
        assert n_parts == 1, name
        # filled: no enclosed empty cavity is left inside the solid
        assert np.array_equal(ndimage.binary_fill_holes(grid), grid), name
        assert info.solid_voxels >= info.surface_voxels, name


def test_thick_bathtubs_have_filled_interior(tubs):
    # 0001, 0002 and 0004 model thick walls: their inside must be filled, not a shell
    for name in ("bathtub_0001.off", "bathtub_0002.off", "bathtub_0004.off"):
        grid, info = tubs[name]
        interior = ndimage.binary_erosion(grid)  # voxels with all 6 neighbours inside
        assert interior.sum() > 0.1 * grid.sum(), name
        assert info.solid_voxels > 1.2 * info.surface_voxels, name


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_bathtubs_symmetric_along_long_axis(tubs):
    # an elongated tub is nearly mirror-symmetric across the vertical plane through its
    # long axis; the square corner tub (0004) is symmetric across a diagonal instead
    for name, (grid, _) in tubs.items():
        idx = np.argwhere(grid)
        extent = idx.max(0) - idx.min(0) + 1
        if max(extent[:2]) > 1.2 * min(extent[:2]):
            other = 1 - int(np.argmax(extent[:2]))
            assert _iou(grid, np.flip(grid, axis=other)) > 0.75, name
        else:
            diagonal = np.flip(grid, axis=(0, 1)).transpose(1, 0, 2)
            best = max(_iou(grid, grid.transpose(1, 0, 2)), _iou(grid, diagonal))
            assert best > 0.75, name


def test_up_axis_is_z(tubs):
    # ModelNet meshes are z-up; bathtubs are longer than tall
    for name, (grid, _) in tubs.items():
        idx = np.argwhere(grid)
        extent = idx.max(0) - idx.min(0)
        assert extent[2] < max(extent[0], extent[1]), name


def test_rotations_share_one_scale():
    mesh = read_mesh(BATHTUBS[1])
    grids, _ = voxelize_mesh(mesh, R, margin=1, rotations=4)
    counts = grids.sum(axis=(1, 2, 3))
    assert grids.shape == (4, R, R, R)
    # 90-degree turns of the same object: same size, so close voxel counts
    assert counts.max() < 1.1 * counts.min()
    # the half turn is the mirror image in both horizontal axes
    flipped = np.flip(grids[0], axis=(0, 1))
    assert (flipped & grids[2]).sum() / (flipped | grids[2]).sum() > 0.8


def test_normalize_checks_arguments():
    verts = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(InputError):
        normalize_vertices(verts, 32, margin=16)
    with pytest.raises(InputError):
        normalize_vertices(verts, 32, margin=1, up_axis="w")
    a = normalize_vertices(verts, 32, margin=1, up_axis="y")[0]
    assert a.min() >= 1 - 1e-6 and a.max() <= 31
