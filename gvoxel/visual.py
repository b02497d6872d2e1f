"""Isosurface montages (headless matplotlib) and mesh export of voxel grids.

Rendering is a small orthographic painter's-algorithm rasteriser on a 2D PolyCollection:
marching-cubes triangles are rotated into the camera frame, back faces culled, sorted
far-to-near and Lambert-shaded: much faster than mplot3d for the same mesh
(docs/performance.md).
"""

import logging
import math
import os

import matplotlib

matplotlib.use("Agg")  # headless: never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import trimesh  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from skimage.measure import marching_cubes  # noqa: E402

from gvoxel.data import loaders  # noqa: E402
from gvoxel.data.files import atomic_output, save_voxels  # noqa: E402
from gvoxel.errors import ConfigError, InputError  # noqa: E402
from gvoxel.progress import track

log = logging.getLogger(__name__)

MESH_FORMATS = ("obj", "ply", "stl", "glb")
AXES = {"x": 0, "y": 1, "z": 2}
# camera: looking down a little, from the front-left; suits ModelNet chairs (z up)
ELEVATION, AZIMUTH = 25.0, -55.0
_BASE_RGB = np.array([0.55, 0.68, 0.85])
_LIGHT = np.array([-0.35, 0.45, 0.82])  # camera frame: upper-left, towards the viewer


def _as_grids(grids) -> np.ndarray:
    arr = np.asarray(grids)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise InputError(f"expected grids (N, R, R, R), got shape {arr.shape}")
    return arr


def grid_to_mesh(grid, threshold: float = 0.5) -> trimesh.Trimesh | None:
    """Marching-cubes isosurface of one grid in voxel units (voxel i centred at i + 0.5).

    The grid is padded with empty space so shapes touching the border still close, and
    faces are wound outward (positive volume). None for a grid with nothing above threshold.
    """
    g = np.asarray(grid, dtype=np.float32)
    if g.ndim != 3:
        raise InputError(f"expected one grid (R, R, R), got shape {g.shape}")
    if not np.isfinite(g).all():
        raise InputError("grid contains NaN or inf")
    if g.size == 0 or not (g > threshold).any():
        return None
    padded = np.pad(g, 1)
    verts, faces, _, _ = marching_cubes(padded, level=threshold)
    verts = verts - 0.5  # undo the pad, then move from voxel index to voxel centre
    mesh = trimesh.Trimesh(verts, faces, process=True)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def _camera(up_axis: str, elevation: float, azimuth: float) -> np.ndarray:
    """3x3 rotation from grid coordinates to camera (right, up, towards viewer)."""
    up = AXES[up_axis]
    # a right-handed (a, b, up) frame: for z-up it is (x, y, z)
    a, b = [(1, 2), (2, 0), (0, 1)][up]
    to_zup = np.zeros((3, 3))
    to_zup[0, a], to_zup[1, b], to_zup[2, up] = 1, 1, 1
    el, az = np.radians(elevation), np.radians(azimuth)
    view = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    right = np.cross([0.0, 0.0, 1.0], view)
    right /= np.linalg.norm(right)
    cam_up = np.cross(view, right)
    return np.stack([right, cam_up, view]) @ to_zup


def _draw(ax, grid, threshold, rotation, note_empty=True):
    r = grid.shape[-1]
    center = np.full(3, r / 2)
    # limits from the projected grid cube, not the shape: panels share one scale
    corners = (np.indices((2, 2, 2)).reshape(3, -1).T * r - center) @ rotation.T
    half = np.abs(corners[:, :2]).max() * 1.02
    ax.set_xlim(-half, half)
    ax.set_ylim(-half, half)
    ax.set_aspect("equal")
    ax.set_axis_off()
    # a diverged sample must not crash the training loop that draws it
    finite = bool(np.isfinite(grid).all())
    mesh = grid_to_mesh(grid, threshold) if finite else None
    if mesh is None:
        if note_empty:
            note = "empty" if finite else "NaN/inf"
            ax.text(0, 0, note, ha="center", va="center", color="0.5", fontsize=9)
        return
    v = (mesh.vertices - center) @ rotation.T
    tri = v[mesh.faces]  # (F, 3, 3) in camera coordinates
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    front = normal[:, 2] > 0  # back faces are hidden on a closed surface
    tri, normal = tri[front], normal[front]
    order = np.argsort(tri[:, :, 2].mean(1))  # far first
    tri, normal = tri[order], normal[order]
    light = _LIGHT / np.linalg.norm(_LIGHT)
    shade = 0.3 + 0.7 * np.clip(normal @ light, 0, 1)
    colors = np.clip(shade[:, None] * _BASE_RGB, 0, 1)
    ax.add_collection(
        PolyCollection(tri[:, :, :2], facecolors=colors, edgecolors=colors, linewidths=0.15)
    )


def _figure(nrows, ncols, titled=False, row_titled=False, panel_inches=2.0):
    width, height = ncols * panel_inches, nrows * panel_inches
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
    # margins in inches, so one-row strips do not clip their titles
    top = 1 - (0.25 if titled else 0.05) / height
    left = (0.3 if row_titled else 0.05) / width
    fig.subplots_adjust(left=left, right=0.99, bottom=0.02, top=top, wspace=0.02, hspace=0.12)
    return fig, axes


def _save(fig, path: str, dpi: int) -> str:
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")
    plt.close(fig)
    return os.fspath(path)


def save_montage(
    grids,
    path: str,
    titles=None,
    threshold: float = 0.5,
    ncols: int | None = None,
    columns_titles=None,
    up_axis: str = "z",
    elevation: float = ELEVATION,
    azimuth: float = AZIMUTH,
    dpi: int = 80,
) -> str:
    """One PNG with an isosurface render per grid, `ncols` per row (default ~square)."""
    grids = _as_grids(grids)
    n = len(grids)
    if titles is not None and len(titles) != n:
        raise InputError(f"{len(titles)} titles for {n} grids")
    ncols = ncols or max(1, math.ceil(math.sqrt(n)))
    nrows = max(1, math.ceil(n / ncols))
    rotation = _camera(up_axis, elevation, azimuth)
    fig, axes = _figure(nrows, ncols, titled=titles is not None or columns_titles is not None)
    for i, ax in enumerate(track(axes.flat, "rendering", total=nrows * ncols)):
        if i >= n:
            ax.set_axis_off()
            continue
        _draw(ax, grids[i], threshold, rotation)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
        elif columns_titles is not None and i < min(ncols, len(columns_titles)):
            ax.set_title(str(columns_titles[i]), fontsize=9)
    return _save(fig, path, dpi)


def save_rows(
    rows,
    path: str,
    row_titles=None,
    columns_titles=None,
    threshold: float = 0.5,
    up_axis: str = "z",
    elevation: float = ELEVATION,
    azimuth: float = AZIMUTH,
    dpi: int = 80,
) -> str:
    """Side-by-side comparison: row k renders rows[k] (N_k, R_k, R_k, R_k) left to right.

    Rows may differ in resolution (e.g. a 16^3 input next to a 32^3 result).
    """
    rows = [_as_grids(r) for r in rows]
    if not rows:
        raise InputError("save_rows needs at least one row")
    if row_titles is not None and len(row_titles) != len(rows):
        raise InputError(f"{len(row_titles)} row titles for {len(rows)} rows")
    ncols = max(len(r) for r in rows)
    rotation = _camera(up_axis, elevation, azimuth)
    fig, axes = _figure(
        len(rows), ncols, titled=columns_titles is not None, row_titled=row_titles is not None
    )
    for k, row in enumerate(rows):
        for j in range(ncols):
            ax = axes[k, j]
            if j < len(row):
                _draw(ax, row[j], threshold, rotation)
            else:
                ax.set_axis_off()
            if k == 0 and columns_titles is not None and j < len(columns_titles):
                ax.set_title(str(columns_titles[j]), fontsize=9)
        if row_titles is not None:
            # axis is off, so label with text in axes coordinates rather than ylabel
            axes[k, 0].text(
                -0.02, 0.5, str(row_titles[k]), transform=axes[k, 0].transAxes,
                rotation=90, ha="right", va="center", fontsize=9,
            )  # fmt: skip
    return _save(fig, path, dpi)


def export_meshes(
    grids, out_dir: str, prefix: str = "sample", formats=("obj",), threshold: float = 0.5
) -> list[str]:
    """One mesh file per grid and format ({prefix}_{i:03d}.{fmt}); empty grids skipped."""
    grids = _as_grids(grids)
    formats = tuple(f.lower().lstrip(".") for f in formats)
    bad = [f for f in formats if f not in MESH_FORMATS]
    if bad:
        raise InputError(f"unknown mesh format {bad[0]!r} (use {', '.join(MESH_FORMATS)})")
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for i, grid in enumerate(track(grids, "meshes")):
        if not np.isfinite(grid).all():
            log.warning("%s_%03d: grid has NaN/inf values, no mesh written", prefix, i)
            continue
        mesh = grid_to_mesh(grid, threshold)
        if mesh is None:
            log.warning(
                "%s_%03d: empty grid at threshold %g, no mesh written", prefix, i, threshold
            )
            continue
        for fmt in formats:
            path = os.path.join(out_dir, f"{prefix}_{i:03d}.{fmt}")
            data = mesh.export(file_type=fmt)
            with atomic_output(path) as tmp, open(tmp, "wb") as f:
                f.write(data.encode() if isinstance(data, str) else data)
            written.append(path)
    return written


def write_samples(
    grids, out_dir: str, prefix: str, formats=("obj",), titles=None, threshold: float = 0.5
) -> dict:
    """Write {prefix}.npz (key voxels), {prefix}.png and meshes in {prefix}_meshes/."""
    grids = _as_grids(grids)
    os.makedirs(out_dir, exist_ok=True)
    npz = save_voxels(os.path.join(out_dir, f"{prefix}.npz"), grids.astype(np.float32))
    png = save_montage(grids, os.path.join(out_dir, f"{prefix}.png"), titles, threshold)
    meshes = []
    if formats:
        meshes = export_meshes(
            grids, os.path.join(out_dir, f"{prefix}_meshes"), prefix, formats, threshold
        )
    return {"npz": npz, "png": png, "meshes": meshes}


def write_comparison(rows, titles, path):
    """Rows (e.g. original / input / result) side by side, the first 8 shapes."""
    n = min(len(rows[0]), 8)  # a readable figure; every shape is in the .npz files
    save_rows([r[:n] for r in rows], path, row_titles=titles)


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
    data = loaders.load_voxels(input_path, category=category)
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


def write_completion(
    out, name, inputs, result, binary, original=None, formats=("obj",), title="result"
):
    """What recover / superres write: NAME.npz/.png (soft result), NAME_binary.npz/.png and
    meshes, input.npz/.png, and comparison.png (original, when known / input / result)."""
    write_samples(result, out, name, formats=())
    write_samples(binary, out, f"{name}_binary", formats=tuple(formats))
    write_samples(inputs, out, "input", formats=())
    rows, titles = [inputs, binary], ["input", title]
    if original is not None:
        rows, titles = [original, *rows], ["original", *titles]
    path = os.path.join(out, "comparison.png")
    write_comparison(rows, titles, path)
    return path
