"""load_voxels: every format, the bundled sets, resampling on load, every bad input."""

import os

import numpy as np
import pytest
import scipy.io

from gvoxel.data import bundled_path, load_voxels, save_voxels
from gvoxel.data.binvox import write_binvox
from gvoxel.errors import InputError

R = 8


def _grids(n=6, seed=0):
    return np.random.default_rng(seed).random((n, R, R, R)) > 0.7


def test_bundled_archives():
    for name, res in (("chair32", 32), ("monitor32", 32)):
        path = bundled_path(name)
        assert os.path.isfile(path) and path.endswith(f"{name}.npz")
        data = load_voxels(f"bundled:{name}")
        assert data.resolution == res and data.voxels.dtype == np.float32
        assert data.categories == (name.rstrip("0123456789"),)
        assert data.labels.dtype == np.int32 and (data.labels == 0).all()
    with pytest.raises(InputError, match="have: bed64, chair32, monitor32"):
        bundled_path("sofa32")


def test_bundled_bed64_downscaled():
    data = load_voxels("bundled:bed64", resolution=32)
    assert data.voxels.shape == (514, 32, 32, 32) and data.voxels.dtype == np.float32
    assert 0 <= data.voxels.min() and data.voxels.max() <= 1
    soft = (data.voxels > 0) & (data.voxels < 1)
    assert soft.any()  # block average keeps soft occupancy


def test_npz_with_metadata_and_category_filter(tmp_path):
    path = str(tmp_path / "two.npz")
    vox = _grids(6)
    save_voxels(
        path, vox, labels=np.array([0, 1, 0, 1, 1, 0]), categories=np.array(["bed", "chair"]),
        names=np.array([f"s{i}" for i in range(6)]), split=np.array(["train"] * 4 + ["test"] * 2),
    )  # fmt: skip
    data = load_voxels(path)
    assert data.categories == ("bed", "chair") and len(data) == 6
    np.testing.assert_array_equal(data.voxels, vox.astype(np.float32))
    chairs = load_voxels(path, category="chair")
    assert len(chairs) == 3 and chairs.names == ("s1", "s3", "s4")
    assert list(chairs.split) == ["train", "train", "test"]
    assert (chairs.labels == 1).all()
    with pytest.raises(InputError, match="unknown category 'sofa' .*available: bed, chair"):
        load_voxels(path, category="sofa")
    up = load_voxels(path, resolution=16)
    assert up.resolution == 16
    with pytest.raises(InputError, match="integer ratio"):
        load_voxels(path, resolution=12)


def test_npy_mat_binvox_and_folder(tmp_path):
    vox = _grids(3)
    np.save(tmp_path / "a.npy", vox)
    assert load_voxels(str(tmp_path / "a.npy")).voxels.shape == (3, R, R, R)
    np.save(tmp_path / "single.npy", vox[0].astype(np.float32))
    assert len(load_voxels(str(tmp_path / "single.npy"))) == 1

    folder = tmp_path / "chair"
    folder.mkdir()
    for i, g in enumerate(vox):
        # 3D ShapeNets / 3DDescriptorNet: one shape per .mat under key 'instance'
        scipy.io.savemat(folder / f"chair_{i}.mat", {"instance": g.astype(np.uint8)})
    write_binvox(vox[0], str(folder / "extra.binvox"))
    # 3D ShapeNets grids are 30^3; asking for 32^3 pads one empty voxel on each side
    scipy.io.savemat(tmp_path / "s30.mat", {"instance": np.ones((30, 30, 30), np.uint8)})
    padded = load_voxels(str(tmp_path / "s30.mat"), resolution=32).voxels[0]
    assert padded.shape == (32, 32, 32) and padded.sum() == 30**3 and padded[1:31, 1:31, 1:31].all()
    one = load_voxels(str(folder / "chair_1.mat"))
    np.testing.assert_array_equal(one.voxels[0], vox[1])
    data = load_voxels(str(folder))
    assert len(data) == 4 and data.categories == ("chair",)
    assert data.names == ("chair_0.mat", "chair_1.mat", "chair_2.mat", "extra.binvox")
    np.testing.assert_array_equal(data.voxels[3], vox[0])


def _bad(tmp_path, name, **arrays):
    path = str(tmp_path / name)
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "arrays, reason",
    [
        ({"x": np.zeros((2, R, R, R))}, "missing key 'voxels'"),
        ({"voxels": np.zeros((R, R))}, r"wrong rank, expect \(N,R,R,R\)"),
        ({"voxels": np.zeros((2, R, R, R + 1))}, "not cubic"),
        ({"voxels": np.full((2, R, R, R), 2.0)}, r"outside \[0, 1\]"),
        ({"voxels": np.full((2, R, R, R), -0.5)}, r"outside \[0, 1\]"),
        ({"voxels": np.full((2, R, R, R), np.nan)}, "NaN or inf"),
        ({"voxels": np.zeros((2, R, R, R)), "labels": np.zeros(3, int)}, "labels length"),
        ({"voxels": np.zeros((0, R, R, R))}, "no grids"),
        (
            {"voxels": np.zeros((2, R, R, R)), "labels": [0, 2], "categories": ["a", "b"]},
            "labels outside",
        ),
    ],
)
def test_bad_npz(tmp_path, arrays, reason):
    path = _bad(tmp_path, "bad.npz", **arrays)
    with pytest.raises(InputError, match=reason) as err:
        load_voxels(path)
    assert path in str(err.value) and "\n" not in str(err.value)


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_voxels(str(tmp_path / "missing.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="not a readable npz"):
        load_voxels(str(tmp_path / "junk.npz"))
    (tmp_path / "junk.npy").write_bytes(b"nope")
    with pytest.raises(InputError, match="not a readable npy"):
        load_voxels(str(tmp_path / "junk.npy"))
    (tmp_path / "junk.mat").write_bytes(b"nope")
    with pytest.raises(InputError, match="not a readable .mat"):
        load_voxels(str(tmp_path / "junk.mat"))
    scipy.io.savemat(tmp_path / "other.mat", {"volume": np.zeros((R, R, R))})
    with pytest.raises(InputError, match="missing key 'instance'.*volume"):
        load_voxels(str(tmp_path / "other.mat"))
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InputError, match="unsupported extension"):
        load_voxels(str(tmp_path / "a.txt"))
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(InputError, match="no .binvox"):
        load_voxels(str(tmp_path / "emptydir"))


def test_load_voxels_downscales_by_block_maximum_when_asked():
    mean = load_voxels("bundled:chair32", resolution=16).voxels
    most = load_voxels("bundled:chair32", resolution=16, downscale="max").voxels
    assert most.shape == mean.shape
    assert (most > 0.5).mean() > 2 * (mean > 0.5).mean()
