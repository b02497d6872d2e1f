"""Atomic file writes: a result appears whole or not at all, never half-written."""

from __future__ import annotations

import contextlib
import os
import uuid

import numpy as np


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
