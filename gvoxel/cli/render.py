"""Render a voxel file as an isosurface montage, optionally exporting one mesh per grid.

    python -m gvoxel render --input=FILE.npz --out=DIR [--meshes]

writes DIR/render.png (and with --meshes one mesh per grid in DIR/meshes/).

FILE may be .npz/.npy/.binvox/.mat, a folder of them, or bundled:chair32.
"""

from __future__ import annotations

import os

from absl import flags

from gvoxel.cli import common
from gvoxel.cli import flags as shared
from gvoxel.visual import render_file

_MESHES = flags.DEFINE_bool("meshes", False, "render: also write one mesh per grid to OUT/meshes")
_START = flags.DEFINE_integer("start", 0, "render: index of the first grid")
_THRESHOLD = flags.DEFINE_float("threshold", 0.5, "render: isosurface level")
_NCOLS = flags.DEFINE_integer("ncols", None, "render: panels per row (default: about square)")
_TITLES = flags.DEFINE_bool("titles", True, "render: title each panel with its source name")
NUM = 16


def main(argv):
    del argv
    out = shared.OUT.value
    meshes = os.path.join(out, "meshes") if _MESHES.value else None
    res = render_file(
        shared.INPUT.value, os.path.join(out, "render.png"), meshes, tuple(shared.FORMATS.value),
        shared.value_or(shared.NUM, NUM), _START.value, shared.CATEGORY.value,
        _THRESHOLD.value, _NCOLS.value, _TITLES.value, shared.UP_AXIS.value,
    )  # fmt: skip
    line = f"wrote {res['png']} ({res['grids']} of {res['total']} grids)"
    if meshes:
        line += f" and {len(res['meshes'])} meshes in {meshes}"
    print(line)


REQUIRED = ("input", "out")

if __name__ == "__main__":
    common.run(main, REQUIRED)
