"""The sample-quality scores as periodic evaluators of the training loop (big_vision style):
every `evals.every` iterations the loop's current samples are scored with the reference
classifier and logged with the other metrics as eval/..., so quality is seen to rise.

Config keys (gvoxel.experiment.config): evals.every (0 = off), evals.reference ('bundled' or
a classifier workdir), evals.category (the intended category; '' = the data's only one),
evals.splits (Inception-score splits), evals.fid (FID against the training shapes).
"""

from __future__ import annotations

import numpy as np

from gvoxel.data import split
from gvoxel.errors import ConfigError
from gvoxel.metrics import reference, suite


def intended_category(config, categories) -> str:
    """evals.category, else data.category, else the data's single category."""
    name = config.evals.category or config.data.category
    if name:
        return name
    if len(categories) != 1:
        raise ConfigError(
            f"evals.category must name the category to score ({', '.join(categories)})"
        )
    return categories[0]


def make_evaluator(config):
    """callable(samples (N, R, R, R) in [0, 1], step) -> {'eval/...': float} or None when
    `step` is not an evaluation step. The reference and the real features load on first use."""
    e = config.get("evals")
    every = int(e.every) if e is not None else 0
    if every < 0:
        raise ConfigError(f"evals.every must be >= 0, got {every}")
    cache = {}

    def setup():
        ref = reference.Reference(e.reference)
        real = split.training_set(config.data)
        label = ref.label(intended_category(config, real.categories))
        feats = ref.predict(real.voxels)[1] if e.fid else None
        cache.update(ref=ref, label=label, real_feats=feats)

    def evaluate(samples, step: int):
        if not every or step % every:
            return None
        if not cache:
            setup()
        samples = np.asarray(samples, np.float32)
        scores = suite.score(
            cache["ref"], samples, cache["label"], int(e.splits), cache["real_feats"]
        )
        return {f"eval/{k}": v for k, v in scores.items()}

    return evaluate
