"""Atomic file writes (a result appears whole or not at all, never half-written) and the
SHA-256 sums that shipped weights are checked against."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from pathlib import Path

import numpy as np

from gvoxel.errors import InputError

SUMS = "SHA256SUMS"


@contextlib.contextmanager
def atomic_output(path: str):
    """Yield a temporary name next to `path`; rename onto `path` only on success."""
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_voxels(path: str, voxels, compress: bool = True, **arrays) -> str:
    """Write an .npz with key `voxels` (plus e.g. labels, categories, names, split)."""
    payload = {"voxels": np.asarray(voxels)}
    for key, value in arrays.items():
        if value is not None:
            payload[key] = np.asarray(value)
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        (np.savez_compressed if compress else np.savez)(f, **payload)
    return os.fspath(path)


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_checksums(folder, names) -> str:
    """FOLDER/SHA256SUMS for the files `names` (relative to `folder`)."""
    path = Path(folder) / SUMS
    path.write_text("".join(f"{sha256(Path(folder) / n)}  {n}\n" for n in names))
    return str(path)


def verify_checksums(folder, names, what: str):
    """InputError unless SHA256SUMS lists exactly `names` and every one matches its sum."""
    path = Path(folder) / SUMS
    if not path.is_file():
        raise InputError(f"{folder}: no {SUMS}; {what} cannot be verified")
    want = dict(reversed(line.split("  ", 1)) for line in path.read_text().splitlines())
    if sorted(want) != sorted(names):
        raise InputError(f"{folder}: the files differ from {SUMS}")
    for name in names:
        if not (Path(folder) / name).is_file():
            raise InputError(f"{folder}: {name} is missing")
        if sha256(Path(folder) / name) != want[name]:
            raise InputError(f"{folder}: {name} fails its SHA-256 check ({what} changed)")
