"""All sample-quality scores of a set of grids at once, and the real-data ceiling set."""

from __future__ import annotations

import numpy as np

from gvoxel.metrics import reference as reference_lib
from gvoxel.metrics.neighbours import nearest_neighbours
from gvoxel.metrics.scores import class_probability, fid, inception_score


def score(ref, voxels, label: int | None = None, num_splits: int = 10, real_feats=None) -> dict:
    """Inception score (mean, std over splits); with `label` the average probability of that
    class and the classification error; with `real_feats` the FID against them."""
    probs, feats = ref.predict(voxels)
    mean, std = inception_score(probs, min(num_splits, len(probs)))
    out = {"inception_score": mean, "inception_score_std": std}
    if label is not None:
        out["class_probability"], out["class_error"] = class_probability(probs, label)
    if real_feats is not None:
        out["fid"] = fid(feats, real_feats)
    return out


def held_out(ref, category: str | None = None):
    """Real shapes the reference classifier never trained on (of `category`, if given)."""
    _, val = reference_lib.held_out_set(ref.config)
    if category:
        val = val.subset(val.labels == val.categories.index(category))
    return val.voxels


def drop_copies(pool, voxels, tol: float = 1e-3):
    """`pool` without the grids that also occur in `voxels`: the real shapes a held-out
    ceiling is compared with must not contain the held-out shapes themselves."""
    _, dist = nearest_neighbours(pool, voxels)
    return np.asarray(pool)[dist[:, 0] > tol]
