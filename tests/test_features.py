"""§6.5 features have the documented size; a smoke run classifies a separable toy problem with
hyper-parameters picked on validation shapes only."""

import os

import jax
import numpy as np
import pytest

from gvoxel import data, train
from gvoxel.cli import classify
from gvoxel.core import features, nets
from gvoxel.errors import ConfigError, InputError
from gvoxel.experiment import run as run_lib
from gvoxel.metrics import logreg

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "configs")


def load_config(name, preset="smoke", **overrides):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, os.path.join(CONFIGS, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    c = mod.get_config(preset)
    for key, value in overrides.items():
        *path, leaf = key.split(".")
        node = c
        for p in path:
            node = node[p]
        node[leaf] = value
    return c


def smoke_config(**overrides):
    return load_config("synthesis", **overrides)


def classification_config(preset="smoke"):
    return load_config("classification", preset)


def test_paper_net_gives_8100_features_at_32():
    d = nets.Descriptor(layers=nets.resolve_layers("synthesis"))
    assert features.feature_size(d, 32) == 200 * 27 + 100 * 27 == 8100


def test_extracted_features_match_the_documented_size_and_pool_maxima():
    d = nets.Descriptor(layers=nets.resolve_layers("tiny"), init_std=0.1)
    y = np.random.default_rng(0).normal(size=(5, 16, 16, 16)).astype(np.float32)
    params = d.init(jax.random.PRNGKey(0), y[:1])["params"]
    f = features.extract_all(d, params, y, batch_size=2)
    assert f.shape == (5, features.feature_size(d, 16)) == (5, 8 * 2**3 + 8 * 2**3)
    _, maps = d.apply({"params": params}, y, features=True)
    # layer 1 is 8³ pooled by 4: the first feature is the max over its first 4³ block
    np.testing.assert_allclose(
        f[:, 0], np.asarray(maps[0])[:, :4, :4, :4, 0].max((1, 2, 3)), rtol=1e-5
    )


def toy_boxes(path, n=100, r=16, seed=0):
    """Class 0: a random box in the left half; class 1: in the right half."""
    rng = np.random.default_rng(seed)
    vox = np.zeros((n, r, r, r), bool)
    labels = np.arange(n) % 2
    for i, c in enumerate(labels):
        s = rng.integers(3, 6, 3)
        x0 = rng.integers(0, r // 2 - s[0]) + c * (r // 2)
        y0, z0 = rng.integers(0, r - s[1]), rng.integers(0, r - s[2])
        vox[i, x0 : x0 + s[0], y0 : y0 + s[1], z0 : z0 + s[2]] = True
    data.save_voxels(path, vox, labels=labels.astype(np.int32), categories=np.array(["l", "r"]))
    return str(path)


def test_smoke_feature_classification_learns_a_separable_toy_problem(tmp_path):
    toy = toy_boxes(tmp_path / "toy.npz")
    cfg = smoke_config(**{"data.path": toy, "data.resolution": 0, "train.num_devices": 1})
    train.train_and_evaluate(cfg, str(tmp_path / "run"))
    exp, state, _ = run_lib.load_experiment(str(tmp_path / "run"), num_devices=1)
    res = classify.classify(exp, jax.device_get(state), classification_config("smoke"))
    assert res["num"]["test"] == 10 and res["learned"]["feature_size"] == 128
    assert res["learned"]["test_accuracy"] >= 0.9
    assert "reference" not in res
    assert "learned features" in classify.report(res)


def test_model_selection_never_looks_at_the_test_split():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    fit, val = (x[:40], y[:40]), (x[40:], y[40:])
    honest = logreg.select_and_test(fit, val, (x[:20], y[:20]), 2, (0.0, 0.1), 0.05, 50)
    flipped = logreg.select_and_test(fit, val, (x[:20], 1 - y[:20]), 2, (0.0, 0.1), 0.05, 50)
    assert honest["val_accuracy"] >= 0.9
    # the same model is chosen whatever the test labels say
    assert (honest["l2"], honest["steps"]) == (flipped["l2"], flipped["steps"])
    assert honest["test_accuracy"] + flipped["test_accuracy"] == pytest.approx(1.0)


def test_selection_keeps_training_past_the_first_perfect_validation_accuracy():
    # widely separated classes: validation accuracy is 100% from the first step, so only the
    # cross-entropy tells an under-fitted model from a fitted one
    rng = np.random.default_rng(1)
    y = np.arange(80) % 2
    x = (rng.normal(size=(80, 3)) + 6.0 * y[:, None]).astype(np.float32)
    fit, val = (x[:60], y[:60]), (x[60:], y[60:])
    r = logreg.select_and_test(fit, val, val, 2, (0.0,), 0.05, 100)
    assert r["val_accuracy"] == 1.0
    assert r["steps"] > 50 and r["val_cross_entropy"] < 0.05


def test_few_label_fits_draw_per_class_and_refuse_too_many():
    rng = np.random.default_rng(2)
    y = np.arange(90) % 3
    x = (rng.normal(size=(90, 5)) + 6.0 * np.eye(3, 5)[y]).astype(np.float32)
    fit, val, test = (x[:60], y[:60]), (x[60:75], y[60:75]), (x[75:], y[75:])
    kw = dict(l2_grid=(0.0,), lr=0.05, steps=50)
    assert logreg.few_labels(fit, val, test, 3, 2, 3, 0, **kw) >= 0.8
    with pytest.raises(ConfigError, match="labels_per_class 21: needs 1 to 20"):
        logreg.few_labels(fit, val, test, 3, 21, 1, 0, **kw)


def test_few_label_fits_standardize_by_all_fitting_shapes(monkeypatch):
    # 2 labelled shapes' spread is no scale for a feature; all fitting shapes' (labels unused)
    x = np.random.default_rng(3).normal(size=(60, 4)).astype(np.float32)
    x[:, 0] *= 100.0
    y = np.arange(60) % 2
    seen = []

    def spy(fit, val, test, num_classes, stats=None, **kw):
        seen.append(logreg.standardize(fit[0], stats=stats)[0])
        return {"test_accuracy": 1.0}

    monkeypatch.setattr(logreg, "select_and_test", spy)
    logreg.few_labels((x, y), (x, y), (x, y), 2, 1, 3, 0)
    for z in seen:  # two shapes scaled by the whole set: first column ~ ±1, not exactly ±1
        assert z.shape == (2, 4)
        assert not np.allclose(np.abs(z), 1.0)
    assert len(seen) == 3


def test_a_single_category_run_is_refused(tmp_path):
    cfg = smoke_config(**{"train.num_devices": 1})
    with pytest.raises(InputError, match="one category"):
        classify.splits(cfg, 0.2, 0)
