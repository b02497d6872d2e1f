"""Voxelization throughput (meshes per second) on the bundled ModelNet10 bathtubs.

    python benchmarks/voxelize.py                         # 32^3 and 64^3, 1 and 2 workers
    python benchmarks/voxelize.py --resolutions 32 --workers 1,4 --repeat 4

Single process: read + voxelize each mesh in a loop (best of --trials). Worker pool: the
full `voxelize_folder` path with the cache off, so spawn start-up and archive writing are
included (that is what a user waits for). The mesh set is the five bathtubs copied
--repeat times. The machine may be shared: compare numbers from one invocation only.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import tempfile
import time

import _common

from gvoxel.data.meshio import read_mesh
from gvoxel.data.modelnet import voxelize_folder
from gvoxel.data.voxelizer import voxelize_mesh

MESHES = os.path.join(_common.ROOT, "tests", "assets")


def single(paths, resolution, trials):
    best = float("inf")
    for _ in range(trials):
        t0 = time.perf_counter()
        for p in paths:
            voxelize_mesh(read_mesh(p), resolution, margin=resolution / 32)
        best = min(best, time.perf_counter() - t0)
    return len(paths) / best


def pool(src, n_meshes, resolution, workers):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.npz")
        t0 = time.perf_counter()
        voxelize_folder(src, out, resolution, workers=workers, cache=False, progress=False)
        return n_meshes / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolutions", type=_common.int_list, default="32,64")
    ap.add_argument(
        "--workers", type=_common.int_list, default="1,2", help="pool sizes for the folder path"
    )
    ap.add_argument("--repeat", type=int, default=2, help="copies of the five meshes")
    ap.add_argument("--trials", type=int, default=2)
    args = ap.parse_args()

    paths = sorted(glob.glob(os.path.join(MESHES, "bathtub", "train", "*.off")))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "ModelNet")
        dst = os.path.join(src, "bathtub", "train")
        os.makedirs(dst)
        for k in range(args.repeat):
            for p in paths:
                shutil.copy(p, os.path.join(dst, f"r{k}_{os.path.basename(p)}"))
        n = len(paths) * args.repeat
        print(f"{n} meshes ({len(paths)} bathtubs x {args.repeat}), {os.cpu_count()} CPUs")
        print(f"{'res':>4} {'mode':<22} {'meshes/s':>9}")
        for res in args.resolutions:
            rate = single(paths * args.repeat, res, args.trials)
            print(f"{res:>4} {'single process (loop)':<22} {rate:9.2f}")
            for w in args.workers:
                rate = pool(src, n, res, w)
                print(f"{res:>4} {f'folder, {w} worker(s)':<22} {rate:9.2f}")


if __name__ == "__main__":
    main()
