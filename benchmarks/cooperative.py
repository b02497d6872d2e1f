"""Generator-only sampling vs Langevin-from-noise sampling: shapes per second and quality.

    python benchmarks/cooperative.py                                   # untrained nets: speed
    python benchmarks/cooperative.py --coop=runs/coop_chair --synthesis=runs/chair --num=64 \
        --synthesis_steps=20,200

Speed: one forward pass of g (cooperative), g + K Langevin steps of its descriptor, and the
core model's K Langevin steps from noise (synthesis), each jitted, timed after a warm-up.
Without workdirs the nets are the `cpu` presets freshly initialised (speed does not depend
on training). Quality (trained runs only), with the evaluation suite's bundled reference
classifier: FID against the real chairs the (cooperative, else synthesis) run held out, at
its resolution, average p(chair), Inception score; and
the L2 distance of each sample to its nearest training shape (gvoxel.metrics.neighbours;
~0 = a copy) and the occupancy (fraction of voxels > 0.5). The training-set row is the
real-data reference (its FID is train vs held-out chairs). The machine is shared: compare
ratios from one invocation.
"""

from __future__ import annotations

import argparse
import json
import time

import _common
import jax
import numpy as np

from gvoxel.experiment.run import Experiment, load_experiment
from gvoxel.metrics import reference, suite
from gvoxel.variants.base import DataInfo


def experiment(workdir, config_name):
    """(experiment, state, trained?) from a workdir, or the cpu preset freshly initialised."""
    if workdir:
        exp, state, _ = load_experiment(workdir, num_devices=1)
        return exp, state, True
    cfg = _common.preset(config_name, "cpu")
    r = cfg.data.resolution or 32  # the bundled chairs are 32³
    exp = Experiment(cfg, DataInfo(r, 700, 40), 1)
    return exp, exp.init_state(0, np.zeros((r,) * 3, np.float32)), False


def timed(fn, state, num, steps, repeats):
    f = jax.jit(fn, static_argnums=(2, 3))
    rng = jax.random.PRNGKey(0)
    out = jax.block_until_ready(f(state, rng, num, steps))  # compile + warm-up
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        out = jax.block_until_ready(f(state, jax.random.PRNGKey(i + 1), num, steps))
        times.append(time.perf_counter() - t)
    return num / min(times), np.asarray(out)


def report(name, r):
    if "fid" in r:
        q = (
            f"{r['fid']:7.2f} {r['class_probability']:7.3f} {r['inception_score']:6.3f} "
            f"{r['nn_l2']:7.2f} {r['occupancy']:7.3f} ± {r['occupancy_std']:.3f}"
        )
    else:
        q = "  (untrained)"
    print(f"{name:34s} {r['shapes_per_s']:9.1f} {q}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--coop", help="cooperative workdir (default: untrained cpu preset)")
    p.add_argument("--synthesis", help="synthesis workdir (default: untrained cpu preset)")
    p.add_argument("--num", type=int, default=16, help="shapes per call")
    p.add_argument("--steps", type=int, default=0, help="Langevin steps (default: config K)")
    p.add_argument(
        "--synthesis_steps",
        type=_common.int_list,
        default=[],
        help="from-noise chain lengths, e.g. 20,200 (default K)",
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", help="also write the results here")
    a = p.parse_args()

    coop, coop_state, coop_trained = experiment(a.coop, "cooperative")
    syn, syn_state, syn_trained = experiment(a.synthesis, "synthesis")
    k_coop = a.steps or coop.config.sampler.steps
    k_syn = a.synthesis_steps or [a.steps or syn.config.sampler.steps]
    c, s = coop.variant.synthesize, syn.variant.synthesize
    runs = {
        "generator (1 pass)": (c, coop_state, 0, coop_trained),
        f"generator + {k_coop} Langevin": (c, coop_state, k_coop, coop_trained),
    }
    for k in k_syn:
        runs[f"Langevin from noise, {k} steps"] = (s, syn_state, k, syn_trained)
    train_voxels, scorer, results = None, None, {}
    if coop_trained or syn_trained:
        cfg = (coop if coop_trained else syn).config
        # FID against the shapes that run held out, at its resolution and downscaling
        train_voxels, held_out = _common.run_split(cfg.data)
        scorer = suite.Scorer(reference.Reference(), "chair", train_voxels, real=held_out)
        results["training set"] = dict(scorer(train_voxels), shapes_per_s=float("nan"))
        results["training set"]["nn_l2"] = float("nan")  # each is its own neighbour
    print(f"{jax.devices()[0].device_kind}, {a.num} shapes per call")
    print(
        f"{'':34s} {'shapes/s':>9s} {'FID':>7s} {'p(chair)':>7s} {'IS':>6s} {'NN L2':>7s} "
        f"{'occupancy':>15s}"
    )
    for name, r in results.items():
        report(name, r)
    for name, (fn, state, steps, trained) in runs.items():
        rate, grids = timed(fn, state, a.num, steps, a.repeats)
        results[name] = {"shapes_per_s": rate}
        if trained:
            results[name].update(scorer(grids))
        report(name, results[name])
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
