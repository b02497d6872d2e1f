"""Classification with learned descriptor features (§6.5); see configs/classification.py.

python -m gvoxel classify --workdir=runs/all --config=configs/classification.py:cpu

Reports held-out accuracy of a logistic regression on the trained descriptor's pooled
features, on a randomly initialised descriptor's (same net, same classifier), and of the
supervised reference classifier.
"""

from __future__ import annotations

import json
import os

import jax
import numpy as np

from gvoxel import progress
from gvoxel.cli import common
from gvoxel.cli import flags as shared
from gvoxel.core import features
from gvoxel.data import split
from gvoxel.data.files import atomic_output
from gvoxel.errors import ConfigError, InputError
from gvoxel.experiment import config as config_lib
from gvoxel.experiment import run as run_lib
from gvoxel.metrics import logreg
from gvoxel.metrics import reference as reference_lib
from gvoxel.variants import base

DEFAULT_CONFIG = "configs/classification.py:cpu"

SPLIT_KEYS = ("path", "category", "resolution", "downscale", "val_fraction", "seed")


def splits(run_config, val_fraction: float, seed: int):
    """(fit, val, test) of the run's data: test = the shapes the run held out."""
    pool, test = split.train_val(run_config.data)
    if len(pool.categories) < 2 or len(np.unique(pool.labels)) < 2:
        raise InputError(
            f"{run_config.data.path} holds one category; train the descriptor on several, e.g. "
            "--config.data.path=bundled:chair32+monitor32+bed64 --config.data.resolution=32"
        )
    if len(test) == 0:
        raise InputError("the descriptor run held out no shapes (data.val_fraction = 0)")
    fit, val = pool.split_train_val(val_fraction, seed)
    return fit, val, test


def classify(exp, state, cfg) -> dict:
    """Accuracies of learned vs random features (and the reference classifier)."""
    variant = base.require(exp.variant, exp.config.variant, "give descriptor features")
    fit, val, test = splits(exp.config, cfg.val_fraction, cfg.seed)
    if not cfg.random_seeds:
        raise ConfigError("random_seeds is empty: the random-feature baseline needs one seed")
    mean = np.asarray(state["data_mean"])  # the descriptor learned on mean-removed grids
    num_classes = len(fit.categories)
    results = {
        "num": {"fit": len(fit), "val": len(val), "test": len(test)},
        "categories": list(fit.categories),
    }

    def score(params):
        feats = [
            features.extract_all(
                variant.descriptor, params, s.voxels - mean, tuple(cfg.pools), cfg.batch_size
            )
            for s in (fit, val, test)
        ]
        sets = [(x, s.labels) for x, s in zip(feats, (fit, val, test))]
        kw = dict(
            l2_grid=tuple(cfg.logreg.l2), lr=float(cfg.logreg.lr), steps=int(cfg.logreg.steps)
        )
        r = logreg.select_and_test(*sets, num_classes, **kw)
        r["few_labels"] = {
            int(n): logreg.few_labels(*sets, num_classes, int(n), cfg.label_draws, cfg.seed, **kw)
            for n in cfg.labels_per_class
        }
        return r | {"feature_size": int(feats[0].shape[1])}

    results["learned"] = score(state["params"])
    # one random init is a noisy yardstick: several inits, each scored like the learned one
    runs = [
        score(variant.init(jax.random.PRNGKey(s), mean)["params"])
        for s in progress.track(cfg.random_seeds, "random descriptors")
    ]
    accs = [r["test_accuracy"] for r in runs]
    results["random"] = runs[0] | {
        "seeds": [int(s) for s in cfg.random_seeds],
        "test_accuracies": accs,
        "test_accuracy": float(np.mean(accs)),
        "test_accuracy_std": float(np.std(accs)),
        "few_labels": {
            n: float(np.mean([r["few_labels"][n] for r in runs])) for n in runs[0]["few_labels"]
        },
    }
    if cfg.reference:
        ref = reference_lib.Reference(cfg.reference)
        same = all(ref.config.data[k] == exp.config.data[k] for k in SPLIT_KEYS)
        results["reference"] = {
            "test_accuracy": reference_lib.accuracy(ref, test),
            # otherwise the reference may have trained on some of these test shapes
            "same_held_out_split": bool(same),
        }
    return results


def report(results: dict) -> str:
    n = results["num"]
    lines = [
        f"{', '.join(results['categories'])}: fit {n['fit']}, val {n['val']}, "
        f"test {n['test']} shapes (test = the descriptor run's held-out split)"
    ]
    r = results["learned"]
    lines.append(
        f"  learned features ({r['feature_size']}): test accuracy {100 * r['test_accuracy']:.1f}% "
        f"(val {100 * r['val_accuracy']:.1f}%, l2 {r['l2']:g}, {r['steps']} steps chosen on val)"
    )
    r = results["random"]
    each = ", ".join(f"{100 * a:.1f}" for a in r["test_accuracies"])
    lines.append(
        f"   random features ({r['feature_size']}): test accuracy {100 * r['test_accuracy']:.1f}"
        f" ± {100 * r['test_accuracy_std']:.1f}% over {len(r['seeds'])} random descriptors "
        f"({each})"
    )
    if results["learned"]["few_labels"]:
        budgets = results["learned"]["few_labels"]
        lines.append("  with few labels (test accuracy, mean of draws): " + "; ".join(
            f"{n}/class learned {100 * results['learned']['few_labels'][n]:.1f}% vs random "
            f"{100 * results['random']['few_labels'][n]:.1f}%" for n in budgets
        ))  # fmt: skip
    if "reference" in results:
        r = results["reference"]
        note = "" if r["same_held_out_split"] else " (different split: may have seen test shapes)"
        lines.append(f"reference classifier: test accuracy {100 * r['test_accuracy']:.1f}%{note}")
    return "\n".join(lines)


def main(argv):
    del argv
    cfg = shared.CONFIG.value or config_lib.load(DEFAULT_CONFIG)
    exp, state, _ = run_lib.load_experiment(shared.WORKDIR.value, num_devices=1)
    results = classify(exp, jax.device_get(state), cfg)
    print(report(results))
    if shared.OUT.value:
        os.makedirs(shared.OUT.value, exist_ok=True)
        path = os.path.join(shared.OUT.value, "classification.json")
        with atomic_output(path) as tmp, open(tmp, "w") as f:
            json.dump(results, f, indent=1)


REQUIRED = ("workdir",)

if __name__ == "__main__":
    common.run(main, REQUIRED)
