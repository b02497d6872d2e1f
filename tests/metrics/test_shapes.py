"""Shape-quality metrics: their defining values on sets whose answer is known."""

import numpy as np
import pytest

from gvoxel.data import split
from gvoxel.errors import InputError
from gvoxel.experiment import config as config_lib
from gvoxel.metrics import shapes


@pytest.fixture(scope="module")
def chairs():
    train, val = split.train_val(config_lib.load("configs/synthesis.py:cpu").data)
    return train.voxels, val.voxels


def test_a_set_against_itself_has_full_coverage_and_zero_mmd(chairs):
    _, val = chairs
    d = shapes.distances(val, val)
    assert shapes.coverage(d) == 1.0
    assert shapes.mmd(d) == 0.0


def test_one_nna_near_half_for_two_halves_of_one_set_and_near_one_against_noise(chairs):
    train, _ = chairs
    perm = np.random.default_rng(0).permutation(len(train))
    a, b = train[perm[:100]], train[perm[100:200]]
    d = shapes.distances
    half = shapes.one_nna(d(a, a), d(b, b), d(a, b))
    assert 0.35 < half < 0.65, half
    noise = np.random.default_rng(1).random((100,) + a.shape[1:]) > 0.5
    apart = shapes.one_nna(d(noise, noise), d(b, b), d(noise, b))
    assert apart > 0.95, apart


def test_a_cube_is_one_piece_and_a_stray_voxel_adds_one():
    g = np.zeros((2, 16, 16, 16), np.float32)
    g[:, 4:10, 4:10, 4:10] = 1.0
    g[1, 14, 14, 14] = 1.0  # not touching the cube, even at a corner
    count, outside = shapes.pieces(g)
    assert count.tolist() == [1, 2]
    assert outside[0] == 0.0 and outside[1] == pytest.approx(1 / 217)
    corner = g[:1].copy()
    corner[0, 10, 10, 10] = 1.0  # touches the cube at a corner: 26-connected, still one
    assert shapes.pieces(corner)[0].tolist() == [1]


def test_iou_and_copies():
    a = np.zeros((1, 8, 8, 8), bool)
    a[0, :4] = True
    b = np.zeros((2, 8, 8, 8), bool)
    b[0, :2] = True
    b[1] = a[0]
    np.testing.assert_allclose(shapes.iou_matrix(a, b), [[0.5, 1.0]])
    assert shapes.nearest_training_iou(a, b).tolist() == [1.0]
    empty = np.zeros((1, 8, 8, 8), bool)
    assert shapes.iou_matrix(empty, empty)[0, 0] == 1.0


def test_score_reports_every_metric_and_the_ceiling_uses_real_shapes(chairs):
    train, val = chairs
    columns = shapes.against_split(train[:16], train, val)
    for key, _, _ in shapes.ROWS:
        assert key in columns["samples"] and key in columns["real held-out"]
    assert columns["samples"]["train_iou_median"] == 1.0  # training shapes are copies
    assert columns["real held-out"]["train_iou_median"] < 1.0
    text = shapes.table(columns)
    assert "1-NNA" in text and "real held-out" in text


def test_bad_input_is_an_input_error():
    with pytest.raises(InputError, match="NaN"):
        shapes.pieces(np.full((1, 4, 4, 4), np.nan))
    with pytest.raises(InputError, match="different sizes"):
        shapes.iou_matrix(np.zeros((1, 4, 4, 4)), np.zeros((1, 8, 8, 8)))
