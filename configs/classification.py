"""Learned descriptor features for classification (§6.5), scored by gvoxel.classify.

1. Train one descriptor on all categories, without labels:
    python -m gvoxel.main --config=configs/synthesis.py:mixed --workdir=runs/all
2. Pool its layer-1/2 feature maps, fit a logistic regression, compare with random features
   and the reference classifier on the run's held-out split:
    python -m gvoxel classify --workdir=runs/all --config=configs/classification.py:cpu

Hyper-parameters (l2, number of steps) are chosen by cross-entropy on `val_fraction` of the
run's training shapes; the run's held-out shapes (which the descriptor never saw) are the test
set. The random baseline is the same net at `random_seeds` inits, each scored the same way.

Presets: paper (the 4³/2³ pooling of §6.5, a wider l2 grid), cpu, smoke (tests).
"""

import ml_collections

PRESETS = ("paper", "cpu", "smoke")


def get_config(preset: str = "cpu"):
    c = ml_collections.ConfigDict()
    c.pools = (4, 2)  # max-pool sizes of layer 1, 2, ... feature maps
    c.val_fraction = 0.2  # of the descriptor's training shapes, for model selection
    c.seed = 0
    c.random_seeds = (1, 2, 3)  # randomly initialised descriptors of the baseline (mean ± sd)
    c.batch_size = 16  # feature extraction batch
    # also fit on only this many labelled shapes per class (label_draws draws each): with
    # every label, distinct categories leave random features near the ceiling too
    c.labels_per_class = (2, 5, 20)
    c.label_draws = 10
    c.reference = "bundled"  # supervised reference classifier ("" = skip)
    c.logreg = ml_collections.ConfigDict()
    c.logreg.l2 = (0.0, 1e-3, 1e-2, 1e-1)
    c.logreg.lr = 0.01
    c.logreg.steps = 1000  # at 300 the last step was the one chosen: too few
    if preset == "paper":
        c.logreg.l2 = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    elif preset == "cpu":
        pass
    elif preset == "smoke":
        c.logreg.l2 = (0.0, 1e-2)
        c.logreg.steps = 100
        c.batch_size = 8
        c.reference = ""
        c.random_seeds = (1,)
        c.labels_per_class = (2,)
        c.label_draws = 2
    else:
        raise ValueError(f"unknown preset {preset!r}; choose {', '.join(PRESETS)}")
    return c
