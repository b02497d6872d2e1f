"""Scores of a set of shapes from the reference classifier's outputs.

probs: (N, C) softmax probabilities; feats: (N, D) penultimate-layer features.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from gvoxel.errors import InputError

EPS = 1e-12


def _probs(probs) -> np.ndarray:
    p = np.asarray(probs, np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise InputError(f"probabilities must be (N, C) with N > 0, got shape {p.shape}")
    return p


def inception_score(probs, num_splits: int = 10) -> tuple[float, float]:
    """exp E_x KL(p(y|x) || p(y)) per split; (mean, std) over `num_splits` splits (Table 1).

    Certain, balanced predictions over c classes score c; one constant prediction scores 1.
    """
    p = _probs(probs)
    if not 1 <= num_splits <= len(p):
        raise InputError(f"num_splits must be in [1, {len(p)}] (the samples), got {num_splits}")
    scores = []
    for part in np.array_split(p, num_splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + EPS) - np.log(marginal + EPS)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def class_probability(probs, label: int) -> tuple[float, float]:
    """(average softmax probability of the intended class, classification error) (Tables 2-3)."""
    p = _probs(probs)
    if not 0 <= label < p.shape[1]:
        raise InputError(f"class {label} outside the classifier's {p.shape[1]} classes")
    return float(p[:, label].mean()), float(np.mean(p.argmax(axis=1) != label))


def gaussian(feats) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(feats, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise InputError(f"FID needs (N, D) features with N >= 2, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """||μ1-μ2||² + tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^½) between two Gaussians."""
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products are handled just below
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean, _ = scipy.linalg.sqrtm(cov1 @ cov2, disp=False)
    if not np.isfinite(covmean).all():  # singular product: regularise as the TTUR code does
        off = np.eye(len(mu1)) * 1e-6
        covmean = scipy.linalg.sqrtm((cov1 + off) @ (cov2 + off))
    covmean = covmean.real
    value = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))  # rounding can leave -1e-10 for identical sets


def fid(feats_a, feats_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Table 6)."""
    return frechet_distance(*gaussian(feats_a), *gaussian(feats_b))
