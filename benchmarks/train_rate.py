"""Seconds per training iteration of a config preset, after compilation (run it in two
checkouts, or with --root, to compare the training rate before and after a change).

    python benchmarks/train_rate.py --config=configs/synthesis.py:cpu --iters=5
    python benchmarks/train_rate.py --config=configs/synthesis.py:cpu --root=/path/to/old/checkout
    python benchmarks/train_rate.py --config=configs/synthesis.py:cpu --devices=2  # 2 CPU devices

Uses the training loop's own jitted step (gvoxel.experiment.run.Experiment) on the preset's
training shapes (gvoxel.data.split.training_set).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import _common


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/synthesis.py:cpu", help="FILE:PRESET")
    p.add_argument("--iters", type=int, default=5, help="timed iterations (median)")
    p.add_argument(
        "--root", default=str(_common.ROOT), help="checkout whose gvoxel and configs to time"
    )
    p.add_argument("--devices", type=int, default=1, help="CPU devices to split the batch over")
    p.add_argument("--json", action="store_true", help="one JSON line instead of prose")
    a = p.parse_args()
    sys.path.insert(0, a.root)  # that checkout's gvoxel, imported below
    import jax

    if a.devices > 1:  # only counts on a CPU host; before anything initialises a backend
        jax.config.update("jax_num_cpu_devices", a.devices)
    from gvoxel.data import split
    from gvoxel.experiment import config

    path, _, preset = a.config.partition(":")
    full = os.path.join(a.root, path)
    if not preset or not os.path.isfile(full):
        p.error(f"--config must be FILE:PRESET with FILE under --root, got {a.config!r}")
    try:
        cfg = config.load(f"{full}:{preset}")
    except ValueError as e:
        p.error(str(e))
    voxels = split.training_set(cfg.data).voxels
    _, state, step, batches, compile_s = _common.fresh_run(cfg, voxels, a.devices)
    times = []
    for i in range(1, a.iters + 1):
        t = time.perf_counter()
        state, metrics = step(state, batches.batch(i))
        float(metrics["loss"])  # waits for the step
        times.append(time.perf_counter() - t)
    if a.json:
        print(json.dumps({
            "config": a.config, "compile_s": round(compile_s, 2),
            "s_per_iter": round(statistics.median(times), 4),
            "steps_per_epoch": batches.steps_per_epoch, "backend": jax.default_backend(),
        }))  # fmt: skip
        return
    print(
        f"{a.config} ({a.root}, {a.devices} device(s)): compile {compile_s:.1f} s, "
        f"{statistics.median(times):.3f} s/iteration (median of {a.iters})"
    )


if __name__ == "__main__":
    main()
