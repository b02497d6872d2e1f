"""Several single-category archives as one labelled data set: 'bundled:chair32+monitor32+bed64'.

Each part keeps its own categories; labels are renumbered in the order the parts are given and
every part is resampled to one resolution (`resolution`, else the first part's).
"""

from __future__ import annotations

import os

import numpy as np

from gvoxel.data.dataset import VoxelDataset
from gvoxel.errors import InputError

SEPARATOR = "+"


def is_combined(path) -> bool:
    return isinstance(path, str) and SEPARATOR in path and not os.path.exists(path)


def part_paths(path: str) -> list[str]:
    """'bundled:a+b' -> ['bundled:a', 'bundled:b']; a part without a prefix inherits it."""
    parts = [p.strip() for p in path.split(SEPARATOR)]
    if any(not p for p in parts):
        raise InputError(f"data path {path!r} has an empty part between '{SEPARATOR}'")
    prefix = "bundled:" if parts[0].startswith("bundled:") else ""
    return [p if p.startswith("bundled:") or not prefix else prefix + p for p in parts]


def concat(parts, path: str, category=None):
    """One labelled VoxelDataset of the loaded `parts` (each at one resolution already);
    labels renumbered in order, `category` keeps one of them."""
    categories, labels = [], []
    for d in parts:
        offset = len(categories)
        for c in d.categories:
            if c in categories:
                raise InputError(f"data path {path!r}: category {c!r} appears in two parts")
            categories.append(c)
        labels.append(d.labels + offset)
    names = None
    if all(d.names is not None for d in parts):
        names = tuple(n for d in parts for n in d.names)
    split = None
    if all(d.split is not None for d in parts):
        split = np.concatenate([d.split for d in parts])
    ds = VoxelDataset(
        voxels=np.concatenate([d.voxels for d in parts]),
        labels=np.concatenate(labels).astype(np.int32),
        categories=tuple(categories),
        names=names,
        split=split,
    )
    if category:
        if category not in ds.categories:
            raise InputError(
                f"{path}: unknown category {category!r} (available: {', '.join(ds.categories)})"
            )
        ds = ds.subset(ds.labels == ds.categories.index(category))
    return ds
