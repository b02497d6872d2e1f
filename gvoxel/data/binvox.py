"""Read and write `.binvox` files (Patrick Min's run-length voxel format).

Voxels are stored with y running fastest, then z, then x; we return (x, y, z) order,
the same convention as the widely used binvox_rw.py.
"""

import os

import numpy as np

from gvoxel.errors import InputError


def parse_binvox(data: bytes, path: str = "<binvox>") -> np.ndarray:
    """Bytes of a binvox file -> bool grid (X, Y, Z)."""
    if not data:
        raise InputError(f"{path}: empty file")
    if not data.startswith(b"#binvox"):
        raise InputError(f"{path}: not a binvox file (missing '#binvox' header)")
    dims = None
    pos = 0
    for _ in range(16):  # header is a handful of short lines ending with 'data'
        end = data.find(b"\n", pos)
        if end < 0:
            raise InputError(f"{path}: truncated binvox header")
        line = data[pos:end].strip()
        pos = end + 1
        if line.startswith(b"dim"):
            try:
                dims = tuple(int(t) for t in line.split()[1:4])
            except ValueError:
                raise InputError(f"{path}: bad binvox dim line {line[:40]!r}") from None
        elif line == b"data":
            break
    else:
        raise InputError(f"{path}: binvox header has no 'data' line")
    if dims is None or len(dims) != 3 or min(dims) < 1:
        raise InputError(f"{path}: binvox header has no valid 'dim' line")
    raw = np.frombuffer(data, dtype=np.uint8, offset=pos)
    if raw.size % 2:
        raw = raw[:-1]  # a trailing newline some writers add
    values, counts = raw[0::2], raw[1::2].astype(np.int64)
    total = int(np.prod(dims))
    if counts.sum() != total:
        raise InputError(
            f"{path}: binvox data has {int(counts.sum())} voxels, header says {total} "
            "(truncated or corrupt)"
        )
    flat = np.repeat(values.astype(bool), counts)
    x, y, z = dims
    return flat.reshape(x, z, y).transpose(0, 2, 1)


def read_binvox(path: str) -> np.ndarray:
    """Read a `.binvox` file into a bool grid (X, Y, Z)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse_binvox(data, path)


def encode_binvox(grid: np.ndarray) -> bytes:
    """Bool grid (X, Y, Z) -> binvox bytes (unit cube at the origin)."""
    grid = np.asarray(grid, dtype=bool)
    if grid.ndim != 3:
        raise InputError(f"binvox needs a 3D grid, got shape {grid.shape}")
    flat = grid.transpose(0, 2, 1).reshape(-1).astype(np.uint8)
    # run boundaries, with runs capped at 255 as the format requires
    change = np.flatnonzero(np.diff(flat)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [flat.size]]))
    pairs = []
    for start, length in zip(starts, lengths, strict=True):
        full, rest = divmod(int(length), 255)
        pairs.extend([flat[start], 255] * full)
        if rest:
            pairs.extend([flat[start], rest])
    x, y, z = grid.shape
    header = f"#binvox 1\ndim {x} {y} {z}\ntranslate 0 0 0\nscale 1\ndata\n".encode()
    return header + np.asarray(pairs, dtype=np.uint8).tobytes()


def write_binvox(grid: np.ndarray, path: str) -> None:
    """Write a bool grid as `.binvox` (atomic: temporary name, then rename)."""
    data = encode_binvox(grid)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
