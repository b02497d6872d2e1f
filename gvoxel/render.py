"""Render a voxel file as an isosurface montage, optionally exporting one mesh per grid.

    python -m gvoxel.render --input=FILE.npz --out=FILE.png [--meshes=DIR]

FILE may be .npz/.npy/.binvox/.mat, a folder of them, or bundled:chair32.
"""

import os

from gvoxel.data import load_voxels
from gvoxel.errors import ConfigError
from gvoxel.visual import MESH_FORMATS, export_meshes, save_montage


def panel_titles(dataset, indices) -> list[str]:
    """Short titles: the source file's stem when known, else category and index."""
    if dataset.names is not None:
        return [os.path.splitext(os.path.basename(dataset.names[i]))[0] for i in indices]
    return [f"{dataset.categories[dataset.labels[i]]} {i}" for i in indices]


def render_file(
    input_path: str,
    out: str,
    meshes: str | None = None,
    formats=("obj",),
    num: int = 25,
    start: int = 0,
    category: str | None = None,
    threshold: float = 0.5,
    ncols: int | None = None,
    titles: bool = True,
    up_axis: str = "z",
) -> dict:
    """Montage of grids [start, start + num) of `input_path`; meshes of the same grids."""
    if not out.lower().endswith(".png"):
        raise ConfigError(f"--out must end with .png, got {out!r}")
    if num < 1 or start < 0:
        raise ConfigError(f"need num >= 1 and start >= 0, got num={num}, start={start}")
    if not 0 < threshold < 1:
        raise ConfigError(f"threshold must be in (0, 1), got {threshold}")
    if up_axis not in ("x", "y", "z"):
        raise ConfigError(f"up_axis must be x, y or z, got {up_axis!r}")
    data = load_voxels(input_path, category=category)
    if start >= len(data):
        raise ConfigError(f"--start={start} but {input_path} has {len(data)} grids")
    idx = list(range(start, min(start + num, len(data))))
    grids = data.voxels[idx]
    names = panel_titles(data, idx) if titles else None
    png = save_montage(grids, out, titles=names, threshold=threshold, ncols=ncols, up_axis=up_axis)
    written = []
    if meshes:
        stem = os.path.splitext(os.path.basename(out))[0]
        written = export_meshes(grids, meshes, prefix=stem, formats=formats, threshold=threshold)
    return {"png": png, "meshes": written, "grids": len(idx), "total": len(data)}


def _define_flags():
    # only when run as a program: importing never clashes with other CLIs' flags
    from absl import flags

    flags.DEFINE_string("input", None, "voxel file: .npz/.npy/.binvox/.mat, folder, bundled:NAME")
    flags.DEFINE_string("out", None, "output montage (.png)")
    flags.DEFINE_string("meshes", None, "also write one mesh per grid into this folder")
    flags.DEFINE_list("formats", ["obj"], f"mesh formats: {', '.join(MESH_FORMATS)}")
    flags.DEFINE_integer("num", 25, "number of grids to draw")
    flags.DEFINE_integer("start", 0, "index of the first grid")
    flags.DEFINE_string("category", None, "only this category")
    flags.DEFINE_float("threshold", 0.5, "isosurface level")
    flags.DEFINE_integer("ncols", None, "panels per row (default: about square)")
    flags.DEFINE_bool("titles", True, "title each panel with its source name")
    flags.DEFINE_enum("up_axis", "z", ["x", "y", "z"], "grid axis drawn pointing up")
    flags.mark_flags_as_required(["input", "out"])


def main(argv):
    from absl import flags

    if len(argv) > 1:
        raise ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
    f = flags.FLAGS
    res = render_file(
        f.input, f.out, f.meshes, tuple(f.formats), f.num, f.start, f.category,
        f.threshold, f.ncols, f.titles, f.up_axis,
    )  # fmt: skip
    line = f"wrote {res['png']} ({res['grids']} of {res['total']} grids)"
    if f.meshes:
        line += f" and {len(res['meshes'])} meshes in {f.meshes}"
    print(line)


if __name__ == "__main__":
    from gvoxel.cli import run

    _define_flags()
    run(main)
