"""A ModelNet-style mesh folder voxelized into one training archive."""

import os
import shutil

import numpy as np
import pytest

from gvoxel.data import load_voxels
from gvoxel.data.meshio import read_mesh
from gvoxel.data.modelnet import format_summary, voxelize_folder
from gvoxel.data.voxelizer import voxelize_mesh
from gvoxel.errors import ConfigError, InputError
from tests.helpers import BATHTUBS

R = 32


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
