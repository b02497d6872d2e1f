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
from gvoxel.metrics import reference, shapes, suite


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
    """callable(samples (N, R, R, R) in [0, 1], step, draw=None) -> {'eval/...': float} or
    None when `step` is not an evaluation step. Scores the loop's samples with the reference
    classifier (evals.classifier) and their shape quality against the run's validation split
    (evals.shapes); with evals.fresh > 0, `draw(n)` gives n fresh samples drawn as a user
    draws them, scored as eval/fresh/.... The reference and the real shapes load on first use."""
    e = config.get("evals")
    every = int(e.every) if e is not None else 0
    if every < 0:
        raise ConfigError(f"evals.every must be >= 0, got {every}")
    if every and int(e.get("fresh", 0)) < 0:
        raise ConfigError(f"evals.fresh must be >= 0, got {e.fresh}")
    cache = {}

    def setup():
        train, val = split.train_val(config.data)
        cache.update(train=train.voxels, val=val.voxels)
        if e.get("classifier", True):
            ref = reference.Reference(e.reference)
            real = split.training_set(config.data)
            label = ref.label(intended_category(config, real.categories))
            feats = ref.predict(real.voxels)[1] if e.fid else None
            cache.update(ref=ref, label=label, real_feats=feats)

    def scores(samples, prefix):
        samples = np.asarray(samples, np.float32)
        out = {}
        if "ref" in cache:
            out.update(
                suite.score(
                    cache["ref"], samples, cache["label"], int(e.splits), cache["real_feats"]
                )
            )
        if e.get("shapes", True) and len(cache["val"]):
            quality = shapes.score(samples, cache["val"], cache["train"])
            out.update({f"shapes/{k}": v for k, v in quality.items() if k != "n"})
        return {f"{prefix}{k}": v for k, v in out.items()}

    def evaluate(samples, step: int, draw=None):
        if not every or step % every:
            return None
        if not cache:
            setup()
        out = {} if samples is None else scores(samples, "eval/")
        n = int(e.get("fresh", 0))
        if n and draw is not None:
            out.update(scores(draw(n), "eval/fresh/"))
        return out

    return evaluate
