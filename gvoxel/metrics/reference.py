"""The reference classifier behind every score: the pinned weights shipped in
gvoxel/assets/reference_classifier (SHA-256 checked on load) or any classifier workdir."""

from __future__ import annotations

import os
from pathlib import Path

import jax
import numpy as np

from gvoxel.core.resample import resize
from gvoxel.data import files, split
from gvoxel.errors import InputError
from gvoxel.experiment.run import load_experiment
from gvoxel.progress import track

ASSET = Path(__file__).resolve().parent.parent / "assets" / "reference_classifier"
BUNDLED = "bundled"  # --reference=bundled: the shipped weights


def checkpoint_files(workdir) -> list[str]:
    """Every file of a workdir's checkpoints, relative to the workdir, sorted."""
    root = Path(workdir)
    return sorted(
        str(p.relative_to(root)) for p in (root / "checkpoints").rglob("*") if p.is_file()
    )


def write_checksums(workdir) -> str:
    return files.write_checksums(workdir, checkpoint_files(workdir))


def verify_checksums(workdir):
    """Raises InputError unless every checkpoint file matches SHA256SUMS (none missing/extra)."""
    files.verify_checksums(workdir, checkpoint_files(workdir), "the reference weights")


class Reference:
    """Batched softmax probabilities and features of a trained classifier."""

    def __init__(self, workdir: str = BUNDLED, batch_size: int = 64):
        if workdir == BUNDLED:
            workdir = str(ASSET)
            verify_checksums(workdir)
        exp, state, step = load_experiment(workdir, num_devices=1)
        if exp.config.variant != "classifier":
            raise InputError(f"{workdir} is a {exp.config.variant!r} run, not a classifier")
        self.workdir = workdir
        self.step = step
        self.config = exp.config
        self.categories = exp.variant.categories
        self.resolution = exp.info.resolution
        self.params = state["params"]
        self.batch_size = batch_size
        self._predict = jax.jit(exp.variant.predict)

    def label(self, category: str) -> int:
        if category not in self.categories:
            raise InputError(
                f"unknown category {category!r}; the reference classifier knows "
                f"{', '.join(self.categories)}"
            )
        return self.categories.index(category)

    def prepare(self, voxels) -> np.ndarray:
        """(N, R, R, R) grids in [0, 1] at the classifier's resolution (integer resize)."""
        v = np.asarray(voxels, np.float32)
        if v.ndim == 3:
            v = v[None]
        if v.ndim != 4 or len(v) == 0:
            raise InputError(f"expected (N, R, R, R) voxel grids, got shape {v.shape}")
        if not np.isfinite(v).all():
            raise InputError("voxel grids contain NaN or inf")
        if v.shape[-1] != self.resolution:
            v = resize(v, self.resolution)
        return np.clip(v, 0.0, 1.0)

    def predict(self, voxels) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (N, C), features (N, D)); fixed-size batches, so one trace."""
        v = self.prepare(voxels)
        n, b = len(v), self.batch_size
        pad = (-n) % b
        v = np.concatenate([v, np.zeros((pad,) + v.shape[1:], v.dtype)]) if pad else v
        probs, feats = [], []
        for s in track(range(0, len(v), b), "reference classifier"):
            p, f = self._predict(self.params, v[s : s + b])
            probs.append(np.asarray(p))
            feats.append(np.asarray(f))
        return np.concatenate(probs)[:n], np.concatenate(feats)[:n]


def held_out_set(config):
    """(training, validation) split of the run that trained `config`'s classifier."""
    return split.train_val(config.data)


def accuracy(ref: Reference, dataset) -> float:
    """Accuracy of `ref` on a labelled dataset whose categories it knows (by name)."""
    known = [ref.label(c) for c in dataset.categories]
    probs, _ = ref.predict(dataset.voxels)
    return float(np.mean(probs.argmax(1) == np.asarray(known)[dataset.labels]))


def exists(workdir) -> bool:
    return os.path.isdir(os.path.join(workdir, "checkpoints"))
