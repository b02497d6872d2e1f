"""Recovery and super-resolution metrics on cases with known answers."""

import numpy as np

from gvoxel.metrics.conditional import iou, recovery_error, voxel_error


def test_metrics_on_known_cases():
    y = np.zeros((2, 4, 4, 4), np.float32)
    y[:, :2] = 1
    visible = np.ones_like(y, bool)
    visible[:, 0] = False  # 16 hidden voxels, all occupied
    rec = y.copy()
    rec[0, 0, :2] = 0  # 8 of them wrong in shape 0
    rec[1, 3] = 1  # wrong, but visible: not counted
    np.testing.assert_allclose(recovery_error(rec, y, visible), [0.5, 0.0])
    np.testing.assert_allclose(voxel_error(rec, y), [8 / 64, 16 / 64])
    np.testing.assert_allclose(iou(rec, y), [24 / 32, 32 / 48])
    assert float(iou(np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 2, 2)))[0]) == 1.0
