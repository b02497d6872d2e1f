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
import os
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from gvoxel import data, train  # noqa: E402
from gvoxel.cli import classify  # noqa: E402
from gvoxel.metrics import reference, suite  # noqa: E402
from gvoxel.metrics.neighbours import nearest_neighbours  # noqa: E402

BUNDLED = {"chair": "bundled:chair32", "monitor": "bundled:monitor32", "bed": "bundled:bed64"}


def row(name, n, s):
    cells = [
        f"{s['inception_score']:.3f} ± {s['inception_score_std']:.3f}",
        f"{s.get('class_probability', float('nan')):.4f}",
        f"{100 * s.get('class_error', float('nan')):.1f}%",
        f"{s.get('fid', float('nan')):.2f}",
    ]
    return f"| {name} | {n} | " + " | ".join(cells) + " |"


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
    _, val = reference.held_out_set(ref.config)
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
    real_feats = {}
    for cat, path in BUNDLED.items():
        train_set = ref.prepare(data.load_voxels(path, resolution=ref.resolution).voxels)
        real_feats[cat] = (train_set, ref.predict(train_set)[1])
        held = suite.held_out(ref, cat)
        pool = suite.drop_copies(train_set, held)  # the ceiling is not compared with itself
        s = suite.score(ref, held, ref.label(cat), args.splits, ref.predict(pool)[1])
        _, dist = nearest_neighbours(held, pool)
        s["nn_distance_median"] = float(np.median(dist))
        out[f"ceiling/{cat}"] = s
        print(
            row(f"real held-out {cat} (ceiling)", len(held), s)
            + f" NN L2 median {s['nn_distance_median']:.2f}"
        )
    for item in filter(None, args.synthesis.split(",")):
        cat, workdir = item.split(":", 1)
        exp, state, step = train.load_experiment(workdir, num_devices=1)
        samples = np.asarray(jax.device_get(exp.variant.outputs(state)["samples"]))
        samples = ref.prepare(samples)
        s = suite.score(ref, samples, ref.label(cat), args.splits, real_feats[cat][1])
        _, dist = nearest_neighbours(samples, real_feats[cat][0])
        s["nn_distance_median"] = float(np.median(dist))
        out[f"synthesis/{cat}"] = s
        print(
            row(f"synthesis {cat} ({workdir}, iter {step})", len(samples), s)
            + f" NN L2 median {s['nn_distance_median']:.2f}"
        )
    if args.descriptor:
        import importlib.util

        cfg_path = os.path.join(os.path.dirname(__file__), "..", "configs", "classification.py")
        spec = importlib.util.spec_from_file_location("cls", cfg_path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        exp, state, step = train.load_experiment(args.descriptor, num_devices=1)
        res = classify.classify(exp, jax.device_get(state), mod.get_config("cpu"))
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
