"""Sample-quality scores of generated shapes with the pinned reference classifier (§6.1).

python -m gvoxel evaluate --input=runs/chair/samples/iter_000300_samples.npz \
    --category=chair --train=bundled:chair32 [--reference=bundled|CLASSIFIER_WORKDIR]

python -m gvoxel evaluate --input=FRESH/samples.npz --workdir=runs/chair

With --workdir (the run that drew the samples), the shape-quality table (gvoxel.metrics.shapes:
pieces, 1-NNA, COV, MMD, occupancy, copies) against that run's validation split, beside real
training shapes scored the same way. With --train / --category, the reference classifier's
scores: the Inception score (mean ± std over --splits), the average softmax probability of
--category and the classification error, the FID against the --train shapes, the nearest
training shape of every sample (distances + a montage, Figure 2), and the same scores of real
held-out shapes (unseen by the classifier; FID against the --train shapes other than them) as
the ceiling.
"""

from __future__ import annotations

import json
import os

import numpy as np
from absl import flags

from gvoxel import data, visual
from gvoxel.cli import common
from gvoxel.cli import flags as shared
from gvoxel.data import split
from gvoxel.errors import InputError
from gvoxel.experiment import run as run_lib
from gvoxel.metrics import reference as reference_lib
from gvoxel.metrics import shapes, suite
from gvoxel.metrics.neighbours import nearest_neighbours

_REFERENCE = flags.DEFINE_string(
    "reference", reference_lib.BUNDLED,
    "evaluate: 'bundled' (the shipped weights) or a classifier workdir",
)  # fmt: skip
_TRAIN = flags.DEFINE_string(
    "train", None, "evaluate: the training shapes (FID reference, nearest-neighbour pool)"
)
_SPLITS = flags.DEFINE_integer("splits", 10, "evaluate: Inception-score splits (Table 1: 10)")
_SHOW = flags.DEFINE_integer("show", 8, "evaluate: samples drawn beside their nearest neighbour")
_CATEGORY, _OUT = shared.CATEGORY, shared.OUT  # evaluate: the samples' category; output folder


def fmt(scores: dict) -> str:
    parts = [f"IS {scores['inception_score']:.3f} ± {scores['inception_score_std']:.3f}"]
    if "class_probability" in scores:
        parts.append(f"p(class) {scores['class_probability']:.4f}")
        parts.append(f"error {100 * scores['class_error']:.1f}%")
    if "fid" in scores:
        parts.append(f"FID {scores['fid']:.3f}")
    return ", ".join(parts)


def shape_table(samples_path: str, workdir: str) -> dict:
    config = run_lib.load_config(workdir)
    train, val = split.train_val(config.data)
    if len(val) == 0:
        raise InputError(f"{workdir}: the run held out no shapes (data.val_fraction = 0)")
    samples = data.load_voxels(samples_path).voxels
    columns = shapes.against_split(samples, train.voxels, val.voxels)
    print(f"shape quality against {workdir}'s validation split ({len(val)} shapes):")
    print(shapes.table(columns))
    return columns


def main(argv):
    del argv
    results = {}
    if shared.WORKDIR.value:
        results["shapes"] = shape_table(shared.INPUT.value, shared.WORKDIR.value)
        if not (_TRAIN.value or _CATEGORY.value):
            return write_scores(results, _OUT.value or default_out())
    if _SPLITS.value < 1:
        raise InputError(f"--splits must be positive, got {_SPLITS.value}")
    ref = reference_lib.Reference(_REFERENCE.value)
    label = None if _CATEGORY.value is None else ref.label(_CATEGORY.value)
    samples = ref.prepare(data.load_voxels(shared.INPUT.value).voxels)
    out_dir = _OUT.value or default_out()

    train = real_feats = None
    if _TRAIN.value:
        train = ref.prepare(data.load_voxels(_TRAIN.value, category=_CATEGORY.value).voxels)
        real_feats = ref.predict(train)[1]
    results["samples"] = suite.score(ref, samples, label, _SPLITS.value, real_feats)
    ceiling = suite.held_out(ref, _CATEGORY.value)
    pool = pool_feats = None
    if train is not None:  # the ceiling is compared with real shapes other than itself
        pool = suite.drop_copies(train, ceiling)
        pool_feats = ref.predict(pool)[1] if len(pool) > 1 else None
    results["real_held_out"] = suite.score(ref, ceiling, label, _SPLITS.value, pool_feats)
    print(f"reference: {ref.workdir} (iteration {ref.step}; {', '.join(ref.categories)})")
    print(f"samples       ({len(samples):4d}): {fmt(results['samples'])}")
    print(f"real held-out ({len(ceiling):4d}): {fmt(results['real_held_out'])}  <- ceiling")

    if train is not None:
        idx, dist = nearest_neighbours(samples, train)
        results["nearest_neighbour_distance"] = {
            "min": float(dist.min()), "median": float(np.median(dist)),
            "per_sample": dist[:, 0].tolist(), "train_index": idx[:, 0].tolist(),
        }  # fmt: skip
        _, real_dist = nearest_neighbours(ceiling, pool)
        print(
            f"nearest training shape, L2 in voxel space: samples min {dist.min():.2f} median "
            f"{np.median(dist):.2f}; real held-out median {np.median(real_dist):.2f} "
            "(samples far below this are copies)"
        )
        k = min(_SHOW.value, len(samples))
        png = visual.save_rows(
            [samples[:k], train[idx[:k, 0]]],
            os.path.join(out_dir, "neighbours.png"),
            row_titles=["sample", "nearest training shape"],
            columns_titles=[f"L2 {d:.2f}" for d in dist[:k, 0]],
        )
        print(f"montage: {png}")
    write_scores(results, out_dir)


def default_out() -> str:
    return os.path.splitext(shared.INPUT.value)[0] + "_eval"


def write_scores(results: dict, out_dir: str):
    os.makedirs(out_dir, exist_ok=True)
    with data.atomic_output(os.path.join(out_dir, "scores.json")) as tmp, open(tmp, "w") as f:
        json.dump(results, f, indent=1)
    print(f"scores: {os.path.join(out_dir, 'scores.json')}")


REQUIRED = ("input",)

if __name__ == "__main__":
    common.run(main, REQUIRED)
