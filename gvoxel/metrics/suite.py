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


class Scorer:
    """Every score of a set of shapes against fixed real ones, for comparing samplers: FID
    against `real` (default: the classifier's held-out shapes of `category`), p(category)
    and IS, the L2 distance of each shape to its nearest training shape (at the shapes' own
    resolution; ~0 = a copy) and the occupancy (fraction of voxels > 0.5). Shapes at another
    resolution than the classifier's are resized to it for the classifier's scores only."""

    def __init__(self, ref, category: str, train_voxels, real=None, num_splits: int = 10):
        self.ref = ref
        self.label = ref.label(category)
        self.train = np.asarray(train_voxels, np.float32)
        real = held_out(ref, category) if real is None else real
        self.real_feats = ref.predict(real)[1]
        self.num_splits = num_splits

    def __call__(self, grids) -> dict:
        grids = np.asarray(grids, np.float32)
        out = score(self.ref, grids, self.label, self.num_splits, self.real_feats)
        _, dist = nearest_neighbours(grids, self.train)
        occ = (grids > 0.5).mean(axis=(1, 2, 3))
        return dict(out, n=len(grids), nn_l2=float(dist.mean()), occupancy=float(occ.mean()),
                    occupancy_std=float(occ.std()))  # fmt: skip
