"""Inception score, class probability, FID and nearest neighbours behave as their definitions
require; the shipped reference classifier passes its checksum and tells the categories apart."""

import numpy as np
import pytest

from gvoxel.errors import ConfigError, InputError
from gvoxel.metrics import class_probability, fid, inception_score, nearest_neighbours, reference


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


def test_nearest_neighbour_of_a_training_shape_is_itself():
    rng = np.random.default_rng(0)
    train = (rng.random((50, 8, 8, 8)) > 0.5).astype(np.float32)
    idx, dist = nearest_neighbours(train[[7, 3, 41]], train, k=2, chunk=2)
    np.testing.assert_array_equal(idx[:, 0], [7, 3, 41])
    np.testing.assert_allclose(dist[:, 0], 0.0, atol=1e-3)
    assert (dist[:, 1] > 1.0).all()  # the second is another shape
    noisy = train[[5]] + 0.01
    assert nearest_neighbours(noisy, train)[0][0, 0] == 5
    with pytest.raises(InputError, match="different grid sizes"):
        nearest_neighbours(train[:, :4, :4, :4], train)


def test_checksums_catch_a_changed_weight_file(tmp_path):
    ckpt = tmp_path / "checkpoints" / "1"
    ckpt.mkdir(parents=True)
    (ckpt / "w").write_bytes(b"abc")
    reference.write_checksums(tmp_path)
    reference.verify_checksums(tmp_path)
    (ckpt / "w").write_bytes(b"abd")
    with pytest.raises(InputError, match="SHA-256"):
        reference.verify_checksums(tmp_path)
    (ckpt / "extra").write_bytes(b"")
    with pytest.raises(InputError, match="differ"):
        reference.verify_checksums(tmp_path)


@pytest.mark.skipif(not reference.exists(reference.ASSET), reason="weights not shipped yet")
def test_shipped_reference_classifier_verifies_and_separates_held_out_shapes():
    ref = reference.Reference()
    assert ref.categories == ("chair", "monitor", "bed")
    _, val = reference.held_out_set(ref.config)
    val = val.subset(np.arange(0, len(val), 3))  # a third keeps the test fast
    assert reference.accuracy(ref, val) > 0.8
    probs, feats = ref.predict(val.voxels[:5])
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    assert feats.shape == (5, ref.config.classifier.hidden)


@pytest.mark.skipif(not reference.exists(reference.ASSET), reason="weights not shipped yet")
def test_periodic_evaluator_scores_real_chairs_above_noise_on_its_schedule():
    from gvoxel import data
    from gvoxel.experiment.config import base_config
    from gvoxel.metrics import evaluators

    cfg = base_config("synthesis")
    cfg.data.max_examples = 60
    cfg.evals.every = 5
    cfg.evals.splits = 2
    evaluate = evaluators.make_evaluator(cfg)
    chairs = data.load_voxels("bundled:chair32").voxels[-20:]  # outside max_examples
    noise = np.random.default_rng(0).random(chairs.shape).astype(np.float32)
    assert evaluate(chairs, 4) is None
    real, fake = evaluate(chairs, 5), evaluate(noise, 10)
    assert set(real) == {
        "eval/inception_score",
        "eval/inception_score_std",
        "eval/class_probability",
        "eval/class_error",
        "eval/fid",
    }
    assert real["eval/class_probability"] > 0.8 > fake["eval/class_probability"] - 0.2
    assert real["eval/fid"] < fake["eval/fid"]
    cfg.data.path = "bundled:chair32+monitor32"
    with pytest.raises(ConfigError, match="evals.category"):
        evaluators.make_evaluator(cfg)(chairs, 5)


@pytest.mark.skipif(not reference.exists(reference.ASSET), reason="weights not shipped yet")
def test_sample_scorer_at_64_finds_training_beds_and_scores_them_as_beds():
    from gvoxel import data
    from gvoxel.metrics import suite

    beds = data.load_voxels("bundled:bed64").voxels[:24]
    scorer = suite.Scorer(reference.Reference(), "bed", beds[:20], real=beds[:20], num_splits=2)
    real, noise = scorer(beds[20:]), scorer(np.full_like(beds[20:], 0.6))
    copies = scorer(beds[:4])
    assert copies["nn_l2"] == pytest.approx(0.0, abs=1e-2)  # each is its own neighbour
    assert real["nn_l2"] > 1.0 and real["n"] == 4
    np.testing.assert_allclose(real["occupancy"], (beds[20:] > 0.5).mean(), rtol=1e-5)
    assert noise["occupancy"] == 1.0 and noise["occupancy_std"] == 0.0
    assert real["class_probability"] > 0.8 and real["fid"] < noise["fid"]
