"""The sample-quality scores as periodic evaluators of the training loop (big_vision style):
every `evals.every` iterations the loop's current samples are scored with the reference
classifier and logged with the other metrics as eval/..., so quality is seen to rise.

Config keys (`extend_config`): evals.every (0 = off), evals.reference ('bundled' or a
classifier workdir), evals.category (the intended category; '' = the data's only one),
evals.splits (Inception-score splits), evals.fid (FID against the training shapes).
"""

from __future__ import annotations

import ml_collections
import numpy as np

from gvoxel.errors import ConfigError


def extend_config(c):
    c.evals = ml_collections.ConfigDict()
    c.evals.every = 0
    c.evals.reference = "bundled"
    c.evals.category = ""
    c.evals.splits = 10
    c.evals.fid = True
    return c


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
        from gvoxel import train
        from gvoxel.metrics import reference

        ref = reference.Reference(e.reference)
        real = train.load_training_data(config)
        label = ref.label(intended_category(config, real.categories))
        feats = ref.predict(real.voxels)[1] if e.fid else None
        cache.update(ref=ref, label=label, real_feats=feats)

    def evaluate(samples, step: int):
        if not every or step % every:
            return None
        if not cache:
            setup()
        from gvoxel.metrics import suite

        samples = np.asarray(samples, np.float32)
        scores = suite.score(
            cache["ref"], samples, cache["label"], int(e.splits), cache["real_feats"]
        )
        return {f"eval/{k}": v for k, v in scores.items()}

    return evaluate
