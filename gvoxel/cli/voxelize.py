"""Voxelize a ModelNet-style mesh folder into one training archive.

    python -m gvoxel voxelize --input=PATH/ModelNet10 --resolution=32 --out=modelnet10_32

writes OUT/voxels.npz (train on it with --config.data.path=OUT/voxels.npz) and a per-mesh
cache beside it.

Layout: SRC/CATEGORY/{train,test}/NAME.{off,obj,stl,ply}; see gvoxel.data.modelnet.
"""

from __future__ import annotations

import os

from absl import flags

from gvoxel.cli import common
from gvoxel.cli import flags as shared
from gvoxel.data.modelnet import format_summary, voxelize_folder

_RESOLUTION = flags.DEFINE_integer("resolution", 32, "voxelize: grid size R (R^3 voxels)")
_MARGIN = flags.DEFINE_float(
    "margin", None, "voxelize: empty voxels on each side (default R/32: 30^3 in 32^3)"
)
_CATEGORIES = flags.DEFINE_list("categories", None, "voxelize: only these categories")
_ROTATIONS = flags.DEFINE_integer(
    "rotations", 1, "voxelize: azimuthal rotations per mesh (3D ShapeNets: 12)"
)
ARCHIVE = "voxels.npz"
_WORKERS = flags.DEFINE_integer(
    "workers", 1, "voxelize: worker processes (0 = one per CPU)"
)
_CACHE = flags.DEFINE_bool(
    "cache", True, "voxelize: reuse per-mesh results in OUT/voxels.npz.cache/"
)


def main(argv):
    del argv
    os.makedirs(shared.OUT.value, exist_ok=True)
    summary = voxelize_folder(
        shared.INPUT.value, os.path.join(shared.OUT.value, ARCHIVE), _RESOLUTION.value,
        _MARGIN.value, _CATEGORIES.value,
        _ROTATIONS.value, shared.UP_AXIS.value, _WORKERS.value, _CACHE.value,
    )  # fmt: skip
    print(format_summary(summary))


REQUIRED = ("input", "out")

if __name__ == "__main__":
    common.run(main, REQUIRED)
