"""Logistic regression on features: model selection on validation shapes only, few labels."""

import numpy as np
import pytest

from gvoxel.errors import ConfigError
from gvoxel.metrics import logreg


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
