"""Classification with learned descriptor features (§6.5); see configs/classification.py.

python -m gvoxel.classify --workdir=runs/all --config=configs/classification.py:cpu

Reports held-out accuracy of a logistic regression on the trained descriptor's pooled
features, on a randomly initialised descriptor's (same net, same classifier), and of the
supervised reference classifier.
"""

from __future__ import annotations

import json

import jax
import numpy as np
from absl import flags
from ml_collections import config_flags

from gvoxel import cli, data, features, train
from gvoxel.errors import InputError
from gvoxel.metrics import logreg
from gvoxel.metrics import reference as reference_lib

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/classification.py:cpu", "configs/classification.py:preset",
    lock_config=True,
)  # fmt: skip
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "a descriptor (synthesis) run on all categories", allow_override=True
)
_OUT = flags.DEFINE_string("out", None, "also write the results as JSON here", allow_override=True)
flags.mark_flags_as_required(["workdir"])

SPLIT_KEYS = ("path", "category", "resolution", "val_fraction", "seed")


def splits(run_config, val_fraction: float, seed: int):
    """(fit, val, test) of the run's data: test = the shapes the run held out."""
    ds = data.load_voxels(
        run_config.data.path,
        category=run_config.data.category or None,
        resolution=run_config.data.resolution or None,
    )
    if len(ds.categories) < 2 or len(np.unique(ds.labels)) < 2:
        raise InputError(
            f"{run_config.data.path} holds one category; train the descriptor on several, e.g. "
            "--config.data.path=bundled:chair32+monitor32+bed64 --config.data.resolution=32"
        )
    pool, test = ds.split_train_val(run_config.data.val_fraction, run_config.data.seed)
    if len(test) == 0:
        raise InputError("the descriptor run held out no shapes (data.val_fraction = 0)")
    fit, val = pool.split_train_val(val_fraction, seed)
    return fit, val, test


def classify(exp, state, cfg) -> dict:
    """Accuracies of learned vs random features (and the reference classifier)."""
    variant = exp.variant
    if not hasattr(variant, "descriptor"):
        raise InputError(f"a {exp.config.variant!r} run has no descriptor to take features from")
    fit, val, test = splits(exp.config, cfg.val_fraction, cfg.seed)
    mean = np.asarray(state["data_mean"])  # the descriptor learned on mean-removed grids
    random_params = variant.init(jax.random.PRNGKey(cfg.random_seed), mean)["params"]
    num_classes = len(fit.categories)
    results = {
        "num": {"fit": len(fit), "val": len(val), "test": len(test)},
        "categories": list(fit.categories),
    }
    for name, params in (("learned", state["params"]), ("random", random_params)):
        feats = [
            features.extract_all(
                variant.descriptor, params, s.voxels - mean, tuple(cfg.pools), cfg.batch_size
            )
            for s in (fit, val, test)
        ]
        results[name] = logreg.select_and_test(
            (feats[0], fit.labels), (feats[1], val.labels), (feats[2], test.labels),
            num_classes, tuple(cfg.logreg.l2), float(cfg.logreg.lr), int(cfg.logreg.steps),
        )  # fmt: skip
        results[name]["feature_size"] = int(feats[0].shape[1])
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
    for name in ("learned", "random"):
        r = results[name]
        lines.append(
            f"{name:>9} features ({r['feature_size']}): test accuracy "
            f"{100 * r['test_accuracy']:.1f}% (val {100 * r['val_accuracy']:.1f}%, "
            f"l2 {r['l2']:g}, {r['steps']} steps chosen on val)"
        )
    if "reference" in results:
        r = results["reference"]
        note = "" if r["same_held_out_split"] else " (different split: may have seen test shapes)"
        lines.append(f"reference classifier: test accuracy {100 * r['test_accuracy']:.1f}%{note}")
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        raise InputError(f"unexpected arguments: {' '.join(argv[1:])}")
    exp, state, _ = train.load_experiment(_WORKDIR.value, num_devices=1)
    results = classify(exp, jax.device_get(state), _CONFIG.value)
    print(report(results))
    if _OUT.value:
        with data.atomic_output(_OUT.value) as tmp, open(tmp, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    cli.run(main)
