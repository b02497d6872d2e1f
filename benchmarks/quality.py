"""What the trained models synthesize, measured against real shapes they never saw.

    python benchmarks/quality.py                       # every cpu preset, train if needed
    python benchmarks/quality.py --presets synthesis:cpu --num 64 --root runs/quality
    python benchmarks/quality.py --long                # 4x the iterations: the stability check

For each preset: train it in ROOT/NAME (or reuse a finished run there), then draw --num fresh
samples exactly as `gvoxel sample` does (the run's stored recipe), and print the shape-quality
table (gvoxel.metrics.shapes) of the fresh samples and of the last training chains against the
run's validation split, beside real training shapes scored the same way (the ceiling), with
the iterations and the wall time. Conditional presets (recovery, superres) report their error
on the validation split instead. Results are also written to ROOT/quality.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform

import _common
import jax
import numpy as np

from gvoxel.data import split
from gvoxel.experiment import completion
from gvoxel.experiment import run as run_lib
from gvoxel.metrics import conditional, shapes
from gvoxel.progress import track
from gvoxel.variants import base

PRESETS = ("synthesis:cpu", "cooperative:cpu", "multigrid:cpu", "recovery:cpu", "superres:cpu")


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def trained(preset: str, root: str, long: bool):
    """(experiment, state, step, seconds spent training now) of the preset's run."""
    file, _, name = preset.partition(":")
    config = _common.preset(file, name)
    if long:
        with config.unlocked():
            config.train.num_iters *= 4
    workdir = os.path.join(root, f"{file}_{name}" + ("_long" if long else ""))
    return _common.trained_run(config, workdir, train_first=True)


def generative(exp, state, step, num: int, seed: int) -> dict:
    train_set, val = split.train_val(exp.config.data)
    columns = {}
    if isinstance(exp.variant, base.DrawsSamples):
        refine = run_lib.refiner(exp.config, exp.info.resolution)  # as gvoxel sample
        grids, _, _ = run_lib.draw(exp, state, step, num, seed=seed, refine=refine)
        if refine is not None:
            columns["fresh, unrefined"] = shapes.score(
                np.asarray(grids["unrefined"]), val.voxels, train_set.voxels
            )
        grids = grids["samples"] if isinstance(grids, dict) else grids
        columns["fresh"] = shapes.score(np.asarray(grids), val.voxels, train_set.voxels)
    chains = exp.variant.outputs(state).get("samples")
    if chains is not None:
        columns["training chains"] = shapes.score(
            np.asarray(jax.device_get(chains)), val.voxels, train_set.voxels
        )
    columns["real held-out"] = shapes.ceiling(train_set.voxels, val.voxels, num, seed)
    return columns


def conditional_error(exp, state, seed: int) -> dict:
    _, val = split.train_val(exp.config.data)
    y = val.voxels.astype(np.float32)
    v = exp.variant
    if exp.config.variant == "recovery":
        from gvoxel.core import corruption

        key = jax.random.PRNGKey(seed)
        cond = np.asarray(corruption.visible_mask(key, len(y), y.shape[-1], v.kind, v.rho))
        _, result = completion.complete(exp, state, cond, y, seed)
        binary = completion.binarize(exp, cond, result)
        err = conditional.recovery_error(binary, y, cond)
        return {"recovery error (binary, hidden voxels)": float(np.mean(err)), "n": len(y)}
    low = np.asarray(jax.device_get(v.condition(None, y)))
    _, result = completion.complete(exp, state, low, None, seed)
    binary = completion.binarize(exp, low, result)
    return {
        "per-voxel error (binary)": float(np.mean(conditional.voxel_error(binary, y))),
        "IoU (binary)": float(np.mean(conditional.iou(binary, y))),
        "n": len(y),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--presets", default=",".join(PRESETS), help="FILE:PRESET,...")
    p.add_argument("--root", default="runs/quality", help="workdirs go here")
    p.add_argument("--num", type=int, default=64, help="fresh samples per model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--long", action="store_true", help="4x each preset's iterations")
    args = p.parse_args()
    report = {"cpu": cpu_name(), "long": args.long, "runs": {}}
    print(f"CPU: {report['cpu']}")
    presets = [s.strip() for s in args.presets.split(",") if s.strip()]
    for preset in track(presets, "presets", quiet_s=0.0):
        exp, state, step, seconds = trained(preset, args.root, args.long)
        if isinstance(exp.variant, base.CompletesInput):
            result = conditional_error(exp, state, args.seed)
            text = ", ".join(
                f"{k} {v:.4f}" if k != "n" else f"{v} shapes" for k, v in result.items()
            )
        else:
            result = generative(exp, state, step, args.num, args.seed)
            text = shapes.table(result)
        report["runs"][preset] = {"iterations": step, "train_seconds": seconds, "scores": result}
        print(f"\n{preset}: {step} iterations, trained {seconds / 60:.1f} min now")
        print(text)
    os.makedirs(args.root, exist_ok=True)
    with open(os.path.join(args.root, "quality.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
