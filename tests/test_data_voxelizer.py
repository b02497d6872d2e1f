"""Solid voxelization of the five real ModelNet10 bathtubs, and the folder converter."""

import glob
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from gvoxel.data import load_voxels
from gvoxel.data.meshio import read_mesh
from gvoxel.data.modelnet import format_summary, voxelize_folder
from gvoxel.data.voxelizer import normalize_vertices, voxelize_mesh
from gvoxel.errors import ConfigError, InputError

DATA = os.path.join(os.path.dirname(__file__), "data", "bathtub", "train")
BATHTUBS = sorted(glob.glob(os.path.join(DATA, "*.off")))
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


def _folder(tmp_path):
    src = tmp_path / "ModelNet"
    for split in ("train", "test"):
        (src / "bathtub" / split).mkdir(parents=True)
    for path in BATHTUBS[:3]:
        shutil.copy(path, src / "bathtub" / "train")
    shutil.copy(BATHTUBS[3], src / "bathtub" / "test")
    bad = src / "bathtub" / "test"
    (bad / "empty.off").write_bytes(b"")
    with open(BATHTUBS[4], "rb") as f:
        (bad / "truncated.off").write_bytes(f.read()[:2000])
    (bad / "garbage.off").write_bytes(np.random.default_rng(0).bytes(3000))
    (bad / "nofaces.off").write_bytes(b"OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n")
    return src


def test_folder_to_archive_round_trip(tmp_path, capsys):
    src = _folder(tmp_path)
    out = str(tmp_path / "tubs.npz")
    summary = voxelize_folder(str(src), out, resolution=R, progress=False)
    assert summary.converted == 4 and summary.cached == 0
    reasons = sorted(reason for _, reason in summary.skipped)
    assert len(reasons) == 4
    for word in ("empty file", "truncated", "binary or corrupt", "no faces"):
        assert any(word in r for r in reasons), word
    text = format_summary(summary)
    assert "skipped 4" in text and "empty.off: empty file" in text

    with np.load(out) as z:
        assert z["voxels"].dtype == bool and z["voxels"].shape == (4, R, R, R)
        assert list(z["categories"]) == ["bathtub"]
        assert list(z["split"]) == ["train"] * 3 + ["test"]
        assert z["names"][0] == "bathtub/train/bathtub_0001.off"
    data = load_voxels(out)
    assert data.voxels.dtype == np.float32 and data.resolution == R
    assert data.categories == ("bathtub",) and list(data.split) == ["train"] * 3 + ["test"]
    # same grids as voxelizing directly
    direct, _ = voxelize_mesh(read_mesh(BATHTUBS[0]), R, margin=1)
    np.testing.assert_array_equal(data.voxels[0] > 0.5, direct[0])
    # no temporary files left next to the archive
    assert sorted(os.listdir(tmp_path)) == ["ModelNet", "tubs.npz", "tubs.npz.cache"]

    # a re-run reuses the cache and writes the same archive
    again = voxelize_folder(str(src), out, resolution=R, progress=False)
    assert again.cached == 4 and len(again.skipped) == 4
    np.testing.assert_array_equal(load_voxels(out).voxels, data.voxels)


def test_folder_with_workers_and_rotations(tmp_path):
    src = tmp_path / "M"
    (src / "bathtub" / "train").mkdir(parents=True)
    for path in BATHTUBS[1:3]:
        shutil.copy(path, src / "bathtub" / "train")
    out = str(tmp_path / "rot.npz")
    s = voxelize_folder(
        str(src), out, resolution=16, rotations=3, workers=2, cache=False, progress=False
    )
    assert s.grids == 6
    with np.load(out) as z:
        assert z["voxels"].shape == (6, 16, 16, 16)
        assert list(z["rotation"]) == [0, 1, 2, 0, 1, 2]


def test_folder_errors(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        voxelize_folder(str(tmp_path / "nope"), str(tmp_path / "o.npz"), progress=False)
    src = _folder(tmp_path)
    with pytest.raises(ConfigError, match="unknown categories chair"):
        voxelize_folder(str(src), str(tmp_path / "o.npz"), categories=["chair"], progress=False)
    with pytest.raises(ConfigError, match="margin"):
        voxelize_folder(str(src), str(tmp_path / "o.npz"), margin=16, progress=False)
    (tmp_path / "empty_src" / "chair" / "train").mkdir(parents=True)
    with pytest.raises(InputError, match="no meshes found"):
        voxelize_folder(str(tmp_path / "empty_src"), str(tmp_path / "o.npz"), progress=False)


def test_cli(tmp_path):
    src = tmp_path / "M"
    (src / "bathtub" / "test").mkdir(parents=True)
    shutil.copy(BATHTUBS[1], src / "bathtub" / "test")
    (src / "bathtub" / "test" / "bad.off").write_bytes(b"")
    out = tmp_path / "o.npz"
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = [sys.executable, "-m", "gvoxel.cli.voxelize", f"--src={src}", f"--out={out}"]
    ok = subprocess.run(
        cmd + ["--resolution=16"], capture_output=True, text=True, cwd=repo, timeout=120
    )
    assert ok.returncode == 0, ok.stderr
    assert "1 grids from 1 meshes" in ok.stdout and "bad.off: empty file" in ok.stdout
    assert "100%" in ok.stderr  # the progress bar
    assert load_voxels(str(out)).resolution == 16
    bad = subprocess.run(
        cmd + ["--margin=9", "--resolution=16"], capture_output=True, text=True, cwd=repo
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("error: margin 9.0 leaves no room")
