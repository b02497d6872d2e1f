"""Inception score, class probability and FID behave as their definitions require."""

import numpy as np
import pytest

from gvoxel.errors import InputError
from gvoxel.metrics import class_probability, fid, inception_score


@pytest.mark.parametrize("c", [2, 3, 10])
def test_inception_score_of_certain_balanced_predictions_is_the_number_of_classes(c):
    probs = np.eye(c)[np.arange(20 * c) % c]
    mean, std = inception_score(probs, num_splits=4)
    assert mean == pytest.approx(c, rel=1e-6)
    assert std == pytest.approx(0.0, abs=1e-6)


def test_inception_score_of_a_constant_prediction_is_one():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5))
    mean, _ = inception_score(np.tile(p, (40, 1)), num_splits=4)
    assert mean == pytest.approx(1.0, abs=1e-6)


def test_inception_score_falls_with_uncertainty_and_spreads_over_uneven_splits():
    certain = np.eye(3)[np.arange(60) % 3]
    blurred = 0.5 * certain + 0.5 / 3
    assert inception_score(blurred, 3)[0] < inception_score(certain, 3)[0]
    uneven = np.eye(3)[np.r_[np.zeros(30, int), np.arange(30) % 3]]
    assert inception_score(uneven, 2)[1] > 0.1  # one split has one class, the other three
    with pytest.raises(InputError, match="num_splits"):
        inception_score(certain, 61)


def test_class_probability_and_error():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    avg, err = class_probability(probs, 0)
    assert avg == pytest.approx((0.9 + 0.6 + 0.2) / 3)
    assert err == pytest.approx(1 / 3)
    with pytest.raises(InputError, match="outside"):
        class_probability(probs, 2)


def test_fid_is_zero_for_a_set_with_itself_and_grows_with_a_shift():
    feats = np.random.default_rng(0).normal(size=(500, 8))
    assert fid(feats, feats) == pytest.approx(0.0, abs=1e-6)
    shifts = [fid(feats, feats + s) for s in (0.5, 1.0, 2.0)]
    assert shifts == sorted(shifts) and shifts[0] > 0
    # a pure mean shift s along all 8 axes adds exactly 8 s²
    assert shifts[1] == pytest.approx(8.0, rel=1e-6)
