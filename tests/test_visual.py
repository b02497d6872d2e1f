"""Montages, comparison rows, mesh export, rendering a voxel file."""

import logging
import os

import numpy as np
import pytest
import trimesh
from PIL import Image

from gvoxel.data import load_voxels
from gvoxel.errors import InputError
from gvoxel.visual import (
    export_meshes,
    grid_to_mesh,
    render_file,
    save_montage,
    save_rows,
    write_samples,
)


def _cube(r=16, lo=4, hi=12):
    g = np.zeros((r, r, r), np.float32)
    g[lo:hi, lo:hi, lo:hi] = 1
    return g


def _png_size(path):
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as im:
        return im.size


@pytest.fixture(scope="module")
def chairs():
    return load_voxels("bundled:chair32").voxels[:6]


def test_cube_mesh_bounds_and_watertight():
    mesh = grid_to_mesh(_cube())
    # voxel i spans [i, i+1): the 0.5 isosurface of voxels 4..11 lies on 4 and 12
    np.testing.assert_allclose(mesh.bounds, [[4, 4, 4], [12, 12, 12]], atol=1e-6)
    assert mesh.is_watertight and mesh.volume > 0  # closed, wound outward
    assert 0.9 * 8**3 < mesh.volume <= 8**3


def test_full_grid_still_closes():
    mesh = grid_to_mesh(np.ones((8, 8, 8), bool))
    assert mesh.is_watertight
    np.testing.assert_allclose(mesh.bounds, [[0, 0, 0], [8, 8, 8]], atol=1e-6)


def test_empty_grid_has_no_mesh():
    assert grid_to_mesh(np.zeros((8, 8, 8))) is None
    assert grid_to_mesh(np.full((8, 8, 8), 0.4)) is None


def test_montage_writes_png_with_empty_panel(tmp_path, chairs):
    grids = np.concatenate([chairs[:2], np.zeros((2, 32, 32, 32), np.float32)])
    grids[3, 0, 0, 0] = np.nan  # a diverged sample draws a note, never crashes
    path = str(tmp_path / "m.png")
    assert save_montage(grids, path, titles=["a", "b", "empty", "nan"]) == path
    w, h = _png_size(path)
    assert w == h > 50  # 2 x 2 panels
    assert os.listdir(tmp_path) == ["m.png"]  # no temporary file left
    save_montage(chairs[0] > 0.5, str(tmp_path / "one.png"), ncols=1)  # bool, single grid
    with pytest.raises(InputError):
        save_montage(chairs[:2], str(tmp_path / "x.png"), titles=["only one"])


def test_montage_is_not_blank(tmp_path):
    path = str(tmp_path / "cube.png")
    save_montage(_cube()[None], path)
    with Image.open(path) as im:
        pix = np.asarray(im.convert("L"), np.float32)
    dark = pix < 200
    assert 0.05 < dark.mean() < 0.6  # a shaded object, not an empty or filled panel
    # three visible faces with different Lambert shades
    assert len(np.unique(pix[dark].round(-1))) >= 3


def test_rows_with_mixed_resolutions(tmp_path, chairs):
    from gvoxel.data import downscale

    path = str(tmp_path / "rows.png")
    save_rows(
        [chairs[:3], downscale(chairs[:3], 2), chairs[:2]],
        path,
        row_titles=["original", "input", "result"],
        columns_titles=["a", "b", "c"],
    )
    w, h = _png_size(path)
    assert w == h  # 3 x 3 panels


def test_export_meshes_all_formats(tmp_path, caplog):
    grids = np.stack([_cube(), np.zeros((16, 16, 16), np.float32), _cube() + np.inf])
    with caplog.at_level(logging.WARNING):
        paths = export_meshes(
            grids, str(tmp_path), prefix="s", formats=("obj", "ply", "stl", "glb")
        )
    assert [os.path.basename(p) for p in paths] == [
        "s_000.obj",
        "s_000.ply",
        "s_000.stl",
        "s_000.glb",
    ]
    assert "s_001: empty grid" in caplog.text and "s_002: grid has NaN/inf" in caplog.text
    for p in paths:
        mesh = trimesh.load_mesh(p)
        np.testing.assert_allclose(mesh.bounds, [[4, 4, 4], [12, 12, 12]], atol=1e-5)
        if not p.endswith(".stl"):  # STL stores unshared triangles; merge before checking
            assert mesh.is_watertight, p
    with pytest.raises(InputError, match="unknown mesh format"):
        export_meshes(grids, str(tmp_path), formats=("fbx",))


def test_write_samples(tmp_path, chairs):
    out = write_samples(chairs[:2], str(tmp_path), "iter_000010", formats=("obj",))
    assert sorted(os.listdir(tmp_path)) == [
        "iter_000010.npz",
        "iter_000010.png",
        "iter_000010_meshes",
    ]
    assert len(out["meshes"]) == 2
    np.testing.assert_array_equal(load_voxels(out["npz"]).voxels, chairs[:2])


def test_render_file(tmp_path):
    res = render_file(
        "bundled:chair32", str(tmp_path / "c.png"), meshes=str(tmp_path / "m"), num=3, start=5
    )
    assert res["grids"] == 3 and res["total"] == 789 and len(res["meshes"]) == 3
    assert os.path.exists(tmp_path / "c.png")
