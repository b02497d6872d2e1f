"""The one train / validation split of a run, from its config's data section: every loader
of "the run's data" (training, evaluators, classification, benchmarks) goes through here,
so none can drop a key (category, resolution, downscale) the run used."""

from __future__ import annotations

import numpy as np

from gvoxel.core.resample import DOWNSCALES
from gvoxel.data.loaders import load_voxels
from gvoxel.errors import ConfigError


def load(data_cfg):
    """The whole data set a run's `data` config names (before the split)."""
    if data_cfg.downscale not in DOWNSCALES:  # a typo errs even when nothing is resampled
        raise ConfigError(
            f"data.downscale must be one of {sorted(DOWNSCALES)}, got {data_cfg.downscale!r}"
        )
    return load_voxels(
        data_cfg.path,
        category=data_cfg.category or None,
        resolution=data_cfg.resolution or None,
        downscale=data_cfg.downscale,
    )


def train_val(data_cfg):
    """(training set, validation set): the validation set held out by data.val_fraction
    and data.seed, which training never sees."""
    return load(data_cfg).split_train_val(data_cfg.val_fraction, data_cfg.seed)


def training_set(data_cfg):
    """The shapes a run trains on: its training split, capped at data.max_examples."""
    train, _ = train_val(data_cfg)
    if data_cfg.get("max_examples", 0):
        train = train.subset(np.arange(min(data_cfg.max_examples, len(train.voxels))))
    return train
