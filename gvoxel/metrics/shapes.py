"""Shape-quality metrics of generated voxel shapes against real ones, with 1 − IoU of the
occupied voxels (threshold 0.5) as the distance: coverage (COV), minimum matching distance
(MMD) and 1-nearest-neighbour accuracy (1-NNA), the usual trio for 3D generators; pieces per
shape (26-connected) and the share of voxels outside the largest piece, which find speckle;
occupancy; and each sample's best IoU with a training shape, which finds copies.

No single number says the shapes are good: noise clouds far from each other and from the data
score a low 1-NNA, so every report carries all of them, beside the same numbers for real
held-out shapes (the ceiling).
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from gvoxel.core import resample
from gvoxel.errors import InputError

THRESHOLD = 0.5
CONNECTIVITY = np.ones((3, 3, 3), bool)  # 26-connected: pieces touching at a corner are one


def occupied(voxels, threshold: float = THRESHOLD) -> np.ndarray:
    """(N, R, R, R) soft occupancies -> (N, R, R, R) bool."""
    v = np.asarray(voxels)
    if v.ndim == 3:
        v = v[None]
    if v.ndim != 4 or len(v) == 0:
        raise InputError(f"expected (N, R, R, R) voxel grids, got shape {v.shape}")
    if v.dtype != bool and not np.isfinite(v).all():
        raise InputError("voxel grids contain NaN or inf")
    return v if v.dtype == bool else v > threshold


def iou_matrix(a, b) -> np.ndarray:
    """(Na, Nb) IoU of every pair of occupied sets; two empty shapes have IoU 1."""
    a, b = occupied(a), occupied(b)
    if a.shape[1:] != b.shape[1:]:
        raise InputError(f"grids of different sizes: {a.shape[1:]} and {b.shape[1:]}")
    fa = a.reshape(len(a), -1).astype(np.float32)
    fb = b.reshape(len(b), -1).astype(np.float32)
    inter = fa @ fb.T
    union = fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1.0), 1.0)


def distances(a, b) -> np.ndarray:
    """(Na, Nb) 1 − IoU."""
    return 1.0 - iou_matrix(a, b)


def coverage(d_sr: np.ndarray) -> float:
    """COV: the fraction of reference shapes that are some sample's nearest reference."""
    return float(len(np.unique(np.argmin(d_sr, axis=1))) / d_sr.shape[1])


def mmd(d_sr: np.ndarray) -> float:
    """MMD: the mean over reference shapes of the distance to their nearest sample."""
    return float(np.mean(np.min(d_sr, axis=0)))


def one_nna(d_ss: np.ndarray, d_rr: np.ndarray, d_sr: np.ndarray) -> float:
    """1-NNA: leave-one-out accuracy of the 1-NN classifier telling samples from reference
    shapes in their union; 50% when the two sets are alike, 100% when they are apart."""
    n_s, n_r = d_sr.shape
    full = np.block([[d_ss, d_sr], [d_sr.T, d_rr]]).astype(np.float64)
    np.fill_diagonal(full, np.inf)
    label = np.r_[np.zeros(n_s, bool), np.ones(n_r, bool)]
    return float(np.mean(label[np.argmin(full, axis=1)] == label))


def pieces(voxels) -> tuple[np.ndarray, np.ndarray]:
    """(pieces per shape, share of its occupied voxels outside its largest piece), per shape;
    an empty shape has 0 pieces and share 0."""
    occ = occupied(voxels)
    count = np.zeros(len(occ), np.int64)
    outside = np.zeros(len(occ), np.float64)
    for i, grid in enumerate(occ):
        labels, n = scipy.ndimage.label(grid, structure=CONNECTIVITY)
        count[i] = n
        if n > 1:
            sizes = np.bincount(labels.ravel())[1:]
            outside[i] = 1.0 - sizes.max() / sizes.sum()
    return count, outside


def nearest_training_iou(samples, train) -> np.ndarray:
    """Each sample's highest IoU with any training shape (near 1: a copy)."""
    return np.max(iou_matrix(samples, train), axis=1)


def score(samples, reference, train=None) -> dict:
    """Every metric of `samples` against `reference` (e.g. a run's validation split); with
    `train`, the nearest-training-shape IoU as well."""
    s, r = occupied(samples), occupied(reference)
    d_sr = distances(s, r)
    count, outside = pieces(s)
    occupancy = s.reshape(len(s), -1).mean(1)
    out = {
        "n": len(s),
        "one_nna": one_nna(distances(s, s), distances(r, r), d_sr),
        "cov": coverage(d_sr),
        "mmd": mmd(d_sr),
        "pieces_median": float(np.median(count)),
        "outside_largest": float(np.sum(outside * occupancy) / max(np.sum(occupancy), 1e-12)),
        "occupancy": float(occupancy.mean()),
        "occupancy_std": float(occupancy.std()),
    }
    if train is not None:
        nearest = nearest_training_iou(s, train)
        out.update(train_iou_median=float(np.median(nearest)), train_iou_max=float(nearest.max()))
    return out


def ceiling(train, reference, n: int, seed: int = 0) -> dict:
    """The same scores for `n` real training shapes (drawn with `seed`) against `reference`:
    what real data gets, the best a model can hope for. Their nearest-training IoU is taken
    against the other training shapes."""
    t = occupied(train)
    idx = np.random.default_rng(seed).permutation(len(t))[: min(n, len(t))]
    rest = np.setdiff1d(np.arange(len(t)), idx)
    return score(t[idx], reference, t[rest] if len(rest) else None)


def against_split(samples, train, val, seed: int = 0) -> dict:
    """{"samples": scores vs the validation split, "real held-out": the ceiling (as many real
    training shapes, scored the same way)}; samples resized to the data's resolution."""
    s = np.asarray(samples, np.float32)
    r = np.asarray(val).shape[-1]
    if s.shape[-1] != r:
        s = resample.resize(s, r)
    return {
        "samples": score(s, val, train),
        "real held-out": ceiling(train, val, len(s), seed),
    }


ROWS = (
    ("pieces_median", "pieces per shape (median)", "{:.0f}"),
    ("outside_largest", "voxels outside the largest piece", "{:.1%}"),
    ("one_nna", "1-NNA (50% ideal)", "{:.1%}"),
    ("cov", "COV", "{:.2f}"),
    ("mmd", "MMD (1 − IoU)", "{:.3f}"),
    ("occupancy", "occupancy (mean)", "{:.3f}"),
    ("occupancy_std", "occupancy (spread)", "{:.3f}"),
    ("train_iou_median", "best IoU with a training shape (median)", "{:.2f}"),
)


def table(columns: dict[str, dict]) -> str:
    """A plain-text table: one row per metric, one column per scored set."""
    names = list(columns)
    width = max(len(label) for _, label, _ in ROWS)
    lines = [f"{'':<{width}}  " + "  ".join(f"{n:>14}" for n in names)]
    for key, label, fmt in ROWS:
        cells = [fmt.format(columns[n][key]) if key in columns[n] else "-" for n in names]
        lines.append(f"{label:<{width}}  " + "  ".join(f"{c:>14}" for c in cells))
    return "\n".join(lines)
