"""Loaders for every supported voxel file type (.npz/.npy/.binvox/.mat, a folder of them,
bundled:NAME, or several joined by '+'), validated into a VoxelDataset."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from gvoxel.core.resample import resize
from gvoxel.data import combine
from gvoxel.data.binvox import read_binvox
from gvoxel.data.dataset import BUNDLED_PREFIX, VoxelDataset, bundled_path
from gvoxel.errors import InputError

VOXEL_EXTENSIONS = (".npz", ".npy", ".binvox", ".mat")


def _check_values(voxels: np.ndarray, path: str) -> np.ndarray:
    """Validate dtype/range; return float32 (bool data skips the range checks)."""
    if voxels.dtype == bool:
        return voxels
    if not (np.issubdtype(voxels.dtype, np.number)):
        raise InputError(f"{path}: voxels have non-numeric dtype {voxels.dtype}")
    if voxels.size == 0:
        return voxels
    if np.issubdtype(voxels.dtype, np.floating) and not np.isfinite(voxels).all():
        raise InputError(f"{path}: voxels contain NaN or inf")
    lo, hi = voxels.min(), voxels.max()
    if lo < 0 or hi > 1:
        raise InputError(f"{path}: voxel values outside [0, 1] (min {lo}, max {hi})")
    return voxels


def _as_grids(voxels: np.ndarray, path: str) -> np.ndarray:
    if voxels.ndim == 3:
        voxels = voxels[None]  # a single shape
    if voxels.ndim != 4:
        raise InputError(f"{path}: wrong rank, expect (N,R,R,R), got shape {voxels.shape}")
    if len(set(voxels.shape[1:])) != 1:
        raise InputError(f"{path}: grids are not cubic, got shape {voxels.shape}")
    if len(voxels) == 0:
        raise InputError(f"{path}: no grids in the file")
    return voxels


def _str_tuple(arr) -> tuple[str, ...]:
    return tuple(str(s) for s in np.asarray(arr).reshape(-1))


def _magic(path: str, n: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def _load_npz(path: str) -> dict:
    if _magic(path, 2) != b"PK":  # else numpy falls back to unpickling the file
        raise InputError(f"{path}: not a readable npz archive (no zip header)")
    try:
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            if "voxels" not in files:
                have = ", ".join(sorted(files)) or "none"
                raise InputError(f"{path}: missing key 'voxels' (keys: {have})")
            out = {"voxels": z["voxels"]}
            for key in ("labels", "categories", "names", "split"):
                if key in files:
                    out[key] = z[key]
            return out
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InputError(f"{path}: not a readable npz archive ({exc})") from None
    except ValueError as exc:  # object arrays need pickle, which we never allow
        raise InputError(f"{path}: unsupported npz content ({exc})") from None


def _load_npy(path: str) -> dict:
    if _magic(path, 6) != b"\x93NUMPY":
        raise InputError(f"{path}: not a readable npy array (no .npy header)")
    try:
        return {"voxels": np.load(path, allow_pickle=False)}
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{path}: not a readable npy array ({exc})") from None


def _load_mat(path: str) -> dict:
    import scipy.io  # only .mat users pay for the import

    try:
        mat = scipy.io.loadmat(path)
    except NotImplementedError:
        raise InputError(f"{path}: MATLAB v7.3 (HDF5) files are not supported") from None
    except Exception as exc:  # noqa: BLE001 -- scipy raises many types for junk
        raise InputError(f"{path}: not a readable .mat file ({type(exc).__name__})") from None
    if "instance" not in mat:
        have = ", ".join(k for k in mat if not k.startswith("__")) or "none"
        raise InputError(f"{path}: missing key 'instance' (keys: {have})")
    return {"voxels": np.asarray(mat["instance"])}


def _load_file(path: str) -> dict:
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npz":
        return _load_npz(path)
    if ext == ".npy":
        return _load_npy(path)
    if ext == ".binvox":
        return {"voxels": read_binvox(path)}
    if ext == ".mat":
        return _load_mat(path)
    raise InputError(f"{path}: unsupported extension {ext!r} (use {', '.join(VOXEL_EXTENSIONS)})")


def _load_dir(path: str) -> dict:
    """A folder of single-shape .binvox/.mat/.npy files, one category named after it."""
    files = sorted(f for f in os.listdir(path) if f.lower().endswith((".binvox", ".mat", ".npy")))
    if not files:
        raise InputError(f"{path}: folder has no .binvox, .mat or .npy files")
    grids = [_as_grids(_load_file(os.path.join(path, f))["voxels"], f) for f in files]
    if len({g.shape[1:] for g in grids}) != 1:
        raise InputError(f"{path}: files have different grid sizes")
    names = [f for f, g in zip(files, grids, strict=True) for _ in range(len(g))]
    return {"voxels": np.concatenate(grids), "names": np.array(names)}


def _change_resolution(
    voxels: np.ndarray, resolution: int, path: str, down: str = "mean"
) -> np.ndarray:
    r = voxels.shape[-1]
    if resolution - r == 2 and r >= 16:
        # 3D ShapeNets .mat grids are 30^3; 3DDescriptorNet pads them to 32^3 with empty space
        return np.pad(voxels, ((0, 0),) + ((1, 1),) * 3)
    try:
        return resize(voxels, resolution, down)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def load_voxels(
    path: str,
    category: str | None = None,
    resolution: int | None = None,
    downscale: str = "mean",
) -> VoxelDataset:
    """Load .npz/.npy/.binvox/.mat (or a folder of them; or 'bundled:NAME') as a dataset.
    `downscale` ("mean" or "max" over blocks) applies when `resolution` is coarser."""
    path = os.fspath(path)
    if combine.is_combined(path):  # several archives as one labelled set
        parts = combine.part_paths(path)
        loaded = [load_voxels(p, resolution=resolution, downscale=downscale) for p in parts]
        r = int(resolution or loaded[0].resolution)
        loaded = [
            load_voxels(p, resolution=r, downscale=downscale) if d.resolution != r else d
            for p, d in zip(parts, loaded, strict=True)
        ]
        return combine.concat(loaded, path, category)
    bundled = path.startswith(BUNDLED_PREFIX)
    if bundled:
        path = bundled_path(path)
    if os.path.isdir(path):
        raw = _load_dir(path)
    elif not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    else:
        raw = _load_file(path)
    voxels = _as_grids(np.asarray(raw["voxels"]), path)
    n = len(voxels)
    stem = Path(path.rstrip("/")).stem
    default_category = stem.rstrip("0123456789") if bundled else stem

    labels = raw.get("labels")
    if labels is None:
        labels = np.zeros(n, np.int32)
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != n:
        raise InputError(f"{path}: {len(labels)} labels for {n} grids (labels length mismatch)")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"{path}: labels must be integers, got dtype {labels.dtype}")
    if "categories" in raw:
        categories = _str_tuple(raw["categories"])
    elif labels.max() > 0:
        categories = tuple(f"class{i}" for i in range(int(labels.max()) + 1))
    else:
        categories = (default_category,)
    if labels.min() < 0 or labels.max() >= len(categories):
        raise InputError(f"{path}: labels outside [0, {len(categories)}) for the categories")
    names = _str_tuple(raw["names"]) if "names" in raw else None
    if names is not None and len(names) != n:
        raise InputError(f"{path}: {len(names)} names for {n} grids")
    split = np.asarray(raw["split"]).astype(str).reshape(-1) if "split" in raw else None
    if split is not None and len(split) != n:
        raise InputError(f"{path}: {len(split)} split entries for {n} grids")

    keep = None
    if category is not None:
        if category not in categories:
            raise InputError(
                f"{path}: unknown category {category!r} (available: {', '.join(categories)})"
            )
        keep = np.flatnonzero(labels == categories.index(category))
        voxels = voxels[keep]
    voxels = _check_values(voxels, path)
    if resolution is not None and resolution != voxels.shape[-1]:
        voxels = _change_resolution(voxels, int(resolution), path, downscale)
    dataset = VoxelDataset(
        voxels=np.asarray(voxels, np.float32),
        labels=labels.astype(np.int32) if keep is None else labels[keep].astype(np.int32),
        categories=categories,
        names=names if keep is None or names is None else tuple(names[i] for i in keep),
        split=split if keep is None or split is None else split[keep],
    )
    return dataset
