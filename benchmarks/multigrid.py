"""Multi-grid vs single-grid at 64³ on the bundled beds under one wall-clock budget (Table 6).

    nice -n 10 python benchmarks/multigrid.py --seconds=600 --evals=3
    python benchmarks/multigrid.py --seconds=20 --tiny        # a quick check that it runs
    python benchmarks/multigrid.py --mg=paper --sg=single_grid --seconds=3600   # a GPU

Each model is a preset of configs/multigrid.py (default `cpu` and `single_grid_cpu`: same
64³ net, same batch), trained by the training loop's own jitted step (gvoxel.train.Experiment,
the loop's batches) for --seconds of wall-clock after compilation, and scored --evals times
along the way (scoring time is not counted). Rows: compile time, seconds per iteration and per
epoch, epochs reached; quality of --num shapes: FID and p(bed) with the shipped reference
classifier (64³ block-averaged to its 32³ with C), the L2 distance to the nearest training
shape at 64³ and the occupancy (fraction of voxels > 0.5). Multi-grid shapes are drawn from
scratch (histogram → grid 1 → … → 64³); single-grid shapes are its persistent chains
(Algorithm 1's samples; --num of them only if sampler.num_chains allows) and, for
comparison, fresh chains from noise with --noise_steps Langevin steps. The held-out real beds
are the floor. The machine is shared: compare rows of one invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import _common
import jax
import numpy as np

from gvoxel import visual
from gvoxel.metrics import reference, suite

TINY = {  # --tiny: nets and chains small enough for a seconds-long check
    "multigrid": {"multigrid.nets": ("4@2/1", "4@4/2", "4@8/4", "4@8/4")},
    "synthesis": {"model.net": "4@8/4"},
    "both": {"train.batch_size": 4, "sampler.num_chains": 4, "sampler.steps": 5},
}


def samples(exp, state, num, noise_steps, seed):
    """{row name: (N, 64, 64, 64)} of one model's shapes."""
    v, rng = exp.variant, jax.random.PRNGKey(seed)
    synth = jax.jit(v.synthesize, static_argnums=(2, 3))
    if exp.config.variant == "multigrid":
        return {"from scratch": synth(state, rng, num, exp.config.sampler.steps)["samples"]}
    return {
        "persistent chains": v.outputs(state)["samples"][:num],
        f"from noise, {noise_steps} steps": synth(state, rng, num, noise_steps),
    }


def run(name, cfg, voxels, seconds, evals, score, num, noise_steps, out=None):
    """Trains `cfg` for `seconds` (after compiling), scoring `evals` times; yields rows."""
    exp, state, step, batches, compile_s = _common.fresh_run(cfg, voxels)
    i, trained = 1, 0.0
    for k in range(1, evals + 1):
        t = time.perf_counter()
        while trained + time.perf_counter() - t < seconds * k / evals:
            state, metrics = step(state, batches.batch(i))
            loss = float(metrics["loss"])  # also waits for the step
            i += 1
            if not np.isfinite(loss):
                print(f"{name}: diverged at iteration {i}", flush=True)
                return
        trained += time.perf_counter() - t
        per_iter = trained / max(i - 1, 1)
        timing = {"compile_s": compile_s, "iterations": i, "s_per_iter": per_iter,
                  "s_per_epoch": per_iter * batches.steps_per_epoch,
                  "epochs": i / batches.steps_per_epoch, "trained_s": trained}  # fmt: skip
        for kind, grids in samples(exp, state, num, noise_steps, k).items():
            if out:  # look at them: scores alone do not tell a bed from a blob
                tag = f"{name}_{kind}_eval{k}".replace(" ", "_").replace(",", "")
                visual.save_montage(np.asarray(grids), os.path.join(out, f"{tag}.png"))
            yield {"model": name, "samples": kind, **timing, **score(np.asarray(grids))}


def show(r):
    t = f"{r['s_per_epoch']:8.1f} {r['epochs']:6.2f}" if "epochs" in r else f"{'':8s} {'':6s}"
    print(f"{r['model']:12s} {r['samples']:24s} {t} {r['n']:4d} {r['fid']:9.2f} "
          f"{r['class_probability']:6.3f} {r['nn_l2']:7.2f} {r['occupancy']:6.3f} "
          f"± {r['occupancy_std']:.3f}", flush=True)  # fmt: skip


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=60, help="training budget per model")
    p.add_argument("--evals", type=int, default=1, help="score this many times along the way")
    p.add_argument("--mg", default="cpu", help="multi-grid preset of configs/multigrid.py")
    p.add_argument("--sg", default="single_grid_cpu", help="single-grid preset")
    p.add_argument("--num", type=int, default=16, help="shapes scored per row")
    p.add_argument("--noise_steps", type=int, default=200, help="single grid from noise: steps")
    p.add_argument("--tiny", action="store_true", help="tiny nets and chains (a quick check)")
    p.add_argument("--json", help="also write the rows here")
    p.add_argument("--out", help="write each scored set of shapes as a PNG montage here")
    a = p.parse_args()

    models = {"multi-grid": a.mg, "single-grid": a.sg}
    configs = {}
    for name, which in models.items():
        c = _common.preset("multigrid", which)
        tiny = {**TINY[c.variant], **TINY["both"]} if a.tiny else {}
        configs[name] = _common.preset("multigrid", which, **tiny)
    train_voxels, held_out = _common.run_split(configs["multi-grid"].data)  # both: one split
    # FID against the training beds (the held-out ones are the floor row)
    score = suite.Scorer(reference.Reference(), "bed", train_voxels, real=train_voxels)
    print(f"{jax.devices()[0].device_kind}; {len(train_voxels)} training beds at "
          f"{train_voxels.shape[-1]}³; {a.seconds:g} s per model")  # fmt: skip
    print(f"{'model':12s} {'samples':24s} {'s/epoch':>8s} {'epochs':>6s} {'N':>4s} {'FID':>9s} "
          f"{'p(bed)':>6s} {'NN L2':>7s} {'occupancy':>15s}")  # fmt: skip
    rows = [{"model": "real", "samples": "held-out beds", **score(held_out)}]
    show(rows[0])
    for name, c in configs.items():
        args = (a.seconds, a.evals, score, a.num, a.noise_steps, a.out)
        for r in run(name, c, train_voxels, *args):
            show(r)
            rows.append(r)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
