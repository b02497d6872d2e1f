"""Nearest neighbours among training shapes."""

import numpy as np
import pytest

from gvoxel.errors import InputError
from gvoxel.metrics import nearest_neighbours


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
