"""Evaluation suite on the bundled real categories (chair, monitor, bed; 32³).

    python benchmarks/evaluate.py [--synthesis=chair:runs/chair,monitor:runs/monitor] \
        [--descriptor=runs/all] [--json=out.json]

Prints: the reference classifier's held-out accuracy per category; the real-data ceiling of
every score per category (held-out shapes vs the category's other shapes); the scores of
trained synthesis runs (configs/synthesis.py:cpu, one per category, their persistent chains);
§6.5 feature-classification accuracy of a descriptor run on all categories vs random features.
Paper anchors (need full ModelNet10, see README): IS 11.772 (10 categories), p(class) 0.8811,
feature-classification accuracy 92.4%.
"""

from __future__ import annotations

import argparse
import json
import time

import _common
import jax
import numpy as np

from gvoxel import data
from gvoxel.cli import classify
from gvoxel.data import split
from gvoxel.experiment.run import load_experiment
from gvoxel.metrics import reference, suite
from gvoxel.metrics.neighbours import nearest_neighbours

BUNDLED = {"chair": "bundled:chair32", "monitor": "bundled:monitor32", "bed": "bundled:bed64"}


def scored(ref, voxels, category, splits, real):
    """suite.score of `voxels` as `category` against `real` (grids, features), with the
    median L2 distance of each to its nearest real grid."""
    s = suite.score(ref, voxels, ref.label(category), splits, real[1])
    _, dist = nearest_neighbours(voxels, real[0])
    s["nn_distance_median"] = float(np.median(dist))
    return s


def row(name, n, s):
    cells = [
        f"{s['inception_score']:.3f} ± {s['inception_score_std']:.3f}",
        f"{s.get('class_probability', float('nan')):.4f}",
        f"{100 * s.get('class_error', float('nan')):.1f}%",
        f"{s.get('fid', float('nan')):.2f}",
    ]
    nn = f" NN L2 median {s['nn_distance_median']:.2f}"
    return f"| {name} | {n} | " + " | ".join(cells) + " |" + nn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", default=reference.BUNDLED)
    ap.add_argument("--synthesis", default="", help="category:workdir,... (cpu synthesis runs)")
    ap.add_argument("--descriptor", default="", help="a synthesis run on all three categories")
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    out = {}
    t0 = time.time()
    ref = reference.Reference(args.reference)
    _, val = split.train_val(ref.config.data)  # the classifier's held-out shapes
    probs, _ = ref.predict(val.voxels)
    out["reference_accuracy"] = {
        c: float(np.mean(probs[val.labels == i].argmax(1) == i))
        for i, c in enumerate(val.categories)
    }
    out["reference_accuracy"]["all"] = float(np.mean(probs.argmax(1) == val.labels))
    print(
        f"reference classifier ({ref.workdir}), held-out accuracy: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in out["reference_accuracy"].items())
    )

    print("\n| shapes | N | IS ± std | p(class) | error | FID |\n|---|---|---|---|---|---|")
    real_feats, downscale = {}, ref.config.data.downscale
    for cat, path in BUNDLED.items():
        # the whole category, resampled as the classifier's own data were
        every = data.load_voxels(path, resolution=ref.resolution, downscale=downscale)
        train_set = ref.prepare(every.voxels)
        real_feats[cat] = (train_set, ref.predict(train_set)[1])
        held = suite.held_out(ref, cat)
        pool = suite.drop_copies(train_set, held)  # the ceiling is not compared with itself
        s = scored(ref, held, cat, args.splits, (pool, ref.predict(pool)[1]))
        out[f"ceiling/{cat}"] = s
        print(row(f"real held-out {cat} (ceiling)", len(held), s))
    for item in filter(None, args.synthesis.split(",")):
        cat, workdir = item.split(":", 1)
        exp, state, step = load_experiment(workdir, num_devices=1)
        samples = np.asarray(jax.device_get(exp.variant.outputs(state)["samples"]))
        samples = ref.prepare(samples)
        s = scored(ref, samples, cat, args.splits, real_feats[cat])
        out[f"synthesis/{cat}"] = s
        print(row(f"synthesis {cat} ({workdir}, iter {step})", len(samples), s))
    if args.descriptor:
        exp, state, step = load_experiment(args.descriptor, num_devices=1)
        res = classify.classify(exp, jax.device_get(state), _common.preset("classification", "cpu"))
        res["descriptor_iteration"] = step
        out["feature_classification"] = res
        print(f"\n§6.5 features of {args.descriptor} (iteration {step}):")
        print(classify.report(res))
    out["wall_s"] = time.time() - t0
    print(f"\n{out['wall_s']:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
