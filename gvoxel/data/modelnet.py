"""Voxelize a ModelNet-style mesh folder into one training archive (the library behind
`python -m gvoxel voxelize`).

Layout: SRC/CATEGORY/{train,test}/NAME.{off,obj,stl,ply} (mesh files directly in
SRC/CATEGORY/ count as 'train'). Bad meshes are skipped with a one-line reason. Each
converted mesh is cached under OUT.cache/, so a re-run (after a crash, or with more
categories) reuses the work; the archive itself is written under a temporary name and
renamed only when complete.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from gvoxel.data.files import atomic_output, save_voxels
from gvoxel.data.meshio import MESH_EXTENSIONS, read_mesh
from gvoxel.data.voxelizer import AXES, voxelize_mesh
from gvoxel.errors import ConfigError, InputError
from gvoxel.progress import track

SPLITS = ("train", "test")
# bump when the voxelization itself changes, so stale cache entries are not reused
CACHE_VERSION = 1


@dataclass(frozen=True)
class Job:
    path: str
    name: str  # path relative to the source folder, e.g. bathtub/train/bathtub_0001.off
    category: str
    split: str


@dataclass(frozen=True)
class Params:
    resolution: int
    margin: float
    rotations: int
    up_axis: str


@dataclass
class Summary:
    converted: int = 0
    cached: int = 0
    grids: int = 0
    skipped: list = field(default_factory=list)  # (name, reason)
    notes: Counter = field(default_factory=Counter)  # fill notes -> number of meshes
    empty_categories: list = field(default_factory=list)
    out: str = ""
    seconds: float = 0.0


def find_meshes(src: str, categories=None) -> list[Job]:
    """Every mesh under SRC/CATEGORY/{train,test}/, sorted, optionally only `categories`."""
    if not os.path.isdir(src):
        raise InputError(f"{src}: no such folder")
    found = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    if categories:
        unknown = [c for c in categories if c not in found]
        if unknown:
            raise ConfigError(
                f"unknown categories {', '.join(unknown)} in {src} (have: {', '.join(found)})"
            )
        found = [c for c in found if c in set(categories)]
    jobs = []
    for cat in found:
        folders = [(os.path.join(src, cat, s), s) for s in SPLITS]
        folders.append((os.path.join(src, cat), "train"))
        for folder, split in folders:
            if not os.path.isdir(folder):
                continue
            for f in sorted(os.listdir(folder)):
                if f.lower().endswith(MESH_EXTENSIONS) and not f.startswith("."):
                    path = os.path.join(folder, f)
                    jobs.append(Job(path, os.path.relpath(path, src), cat, split))
    if not jobs:
        raise InputError(
            f"{src}: no meshes found (expected CATEGORY/train|test/NAME"
            f"{{{','.join(MESH_EXTENSIONS)}}})"
        )
    return jobs


def _cache_file(cache_dir: str, job: Job, params: Params) -> str:
    st = os.stat(job.path)
    key = f"{CACHE_VERSION}|{job.name}|{st.st_size}|{st.st_mtime_ns}|{params}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    stem = os.path.splitext(os.path.basename(job.name))[0]
    return os.path.join(cache_dir, f"{stem}-{digest}.npz")


def convert_one(job: Job, params: Params, cache_dir: str | None):
    """(grids bool (rotations,R,R,R) or None, note or skip reason, from cache?). Never raises."""
    try:
        cache = _cache_file(cache_dir, job, params) if cache_dir else None
        if cache and os.path.exists(cache):
            try:
                with np.load(cache) as z:
                    shape = tuple(z["shape"])
                    grids = np.unpackbits(z["bits"])[: int(np.prod(shape))].reshape(shape)
                    return grids.astype(bool), str(z["note"]), True
            except Exception:  # noqa: BLE001 -- a damaged cache entry is just redone
                pass
        try:
            mesh = read_mesh(job.path)
            grids, info = voxelize_mesh(
                mesh, params.resolution, params.margin, params.up_axis, params.rotations
            )
            if not grids.any():
                raise InputError(f"{job.path}: voxelization is empty")
            result = (grids, info.note, False)
        except InputError as exc:
            result = (None, str(exc), False)
        except MemoryError:
            result = (None, f"{job.path}: out of memory while voxelizing", False)
        grids, note, _ = result
        # failures are not cached: a re-run retries them (the file may have been fixed)
        if cache and grids is not None:
            with atomic_output(cache) as tmp, open(tmp, "wb") as f:
                # bit-packed: a 32^3 grid is 4 KiB
                np.savez(f, bits=np.packbits(grids), shape=grids.shape, note=note)
        return result
    except Exception as exc:  # noqa: BLE001 -- one bad file must never end the run
        return None, f"{job.path}: unexpected {type(exc).__name__}: {exc}", False


def _convert_star(args):
    return convert_one(*args)


def voxelize_folder(
    src: str,
    out: str,
    resolution: int = 32,
    margin: float | None = None,
    categories=None,
    rotations: int = 1,
    up_axis: str = "z",
    workers: int = 1,
    cache: bool = True,
    progress: bool = True,
) -> Summary:
    """Convert every mesh under `src` and write the archive `out`; returns what happened."""
    if resolution < 4:
        raise ConfigError(f"resolution must be >= 4, got {resolution}")
    if margin is None:
        margin = resolution / 32  # 3D ShapeNets: a 30^3 object in a 32^3 grid
    if not 0 <= 2 * margin < resolution - 1:
        raise ConfigError(f"margin {margin} leaves no room in a {resolution}^3 grid")
    if rotations < 1:
        raise ConfigError(f"rotations must be >= 1, got {rotations}")
    if up_axis.lower().lstrip("+") not in AXES:
        raise ConfigError(f"up_axis must be x, y or z, got {up_axis!r}")
    if workers < 0:
        raise ConfigError(f"workers must be >= 0 (0 = one per CPU), got {workers}")
    if not out.endswith(".npz"):
        raise ConfigError(f"--out must end with .npz, got {out!r}")
    t0 = time.monotonic()
    jobs = find_meshes(src, categories)
    params = Params(resolution, float(margin), rotations, up_axis)
    cache_dir = out + ".cache" if cache else None
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    results = [None] * len(jobs)
    tasks = [(job, params, cache_dir) for job in jobs]
    bar = functools.partial(
        track, description="meshes", total=len(jobs), enabled=progress, quiet_s=0.0
    )
    if workers == 1 or len(jobs) == 1:
        for i, res in enumerate(bar(map(_convert_star, tasks))):
            results[i] = res
    else:
        # forkserver: workers fork from a clean server that imported trimesh once, so they
        # start fast and inherit no threads of this process (e.g. BLAS or jax)
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            ctx.set_forkserver_preload(["gvoxel.cli.voxelize"])
        with ctx.Pool(min(workers, len(jobs))) as pool:
            for i, res in enumerate(bar(pool.imap(_convert_star, tasks, chunksize=1))):
                results[i] = res

    summary = Summary(out=out)
    cats = sorted({job.category for job in jobs})
    voxels, labels, split, names, rotation = [], [], [], [], []
    for job, (grids, note, cached) in zip(jobs, results, strict=True):
        if grids is None:
            summary.skipped.append((job.name, note))
            continue
        summary.converted += 1
        summary.cached += int(cached)
        for part in filter(None, note.split("; ")):
            summary.notes[part.split(":")[0]] += 1
        for k, grid in enumerate(grids):
            voxels.append(grid)
            labels.append(cats.index(job.category))
            split.append(job.split)
            names.append(job.name)
            rotation.append(k)
    if not voxels:
        raise InputError(f"{src}: none of the {len(jobs)} meshes could be converted")
    # a category with no converted mesh would be an empty class: drop it, renumber
    used = sorted(set(labels))
    summary.empty_categories = [c for i, c in enumerate(cats) if i not in used]
    labels = [used.index(i) for i in labels]
    cats = [cats[i] for i in used]
    summary.grids = len(voxels)
    save_voxels(
        out,
        np.stack(voxels).astype(bool),
        labels=np.asarray(labels, np.int32),
        categories=np.asarray(cats),
        split=np.asarray(split),
        names=np.asarray(names),
        rotation=np.asarray(rotation, np.int32),
        resolution=resolution,
        margin=float(margin),
        up_axis="z",  # of the grids; the meshes' own up axis was turned onto it
        source_up_axis=up_axis,
    )
    summary.seconds = time.monotonic() - t0
    return summary


def format_summary(s: Summary) -> str:
    lines = [
        f"wrote {s.out}: {s.grids} grids from {s.converted} meshes "
        f"({s.cached} reused from cache) in {s.seconds:.1f}s; skipped {len(s.skipped)}"
    ]
    for note, count in sorted(s.notes.items()):
        lines.append(f"  {count} meshes {note}")
    if s.empty_categories:
        lines.append(f"  left out (no mesh converted): {', '.join(s.empty_categories)}")
    for _, reason in s.skipped:
        lines.append(f"  skipped {reason}")  # the reason names the file
    return "\n".join(lines)
