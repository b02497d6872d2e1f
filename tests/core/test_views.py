"""Views of a grid for completion ensembles: exact inverses, the identity first."""

import numpy as np
import pytest

from gvoxel.core import views


@pytest.mark.parametrize("shifts,axis,count", [(False, -1, 1), (True, -1, 8), (True, 0, 16)])
def test_views_start_with_the_identity_and_count(shifts, axis, count):
    grid = views.views(shifts, axis)
    assert len(grid) == count == len(set(grid))
    assert grid[0] == views.View((0, 0, 0), False)


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("unit", [1, 2])
def test_invert_undoes_apply_bit_exactly_and_views_differ(axis, unit):
    x = np.random.default_rng(0).random((3, 8, 8, 8)).astype(np.float32)
    for view in views.views(True, axis):
        moved = views.apply(x, view, axis, unit)
        np.testing.assert_array_equal(views.invert(moved, view, axis, unit), x)
        if view != views.View((0, 0, 0), False):
            assert not np.array_equal(moved, x)
    shift_x = views.View((1, 0, 0), False)
    np.testing.assert_array_equal(views.apply(x, shift_x, axis, unit)[:, unit:], x[:, :-unit])
    mirror = views.View((0, 0, 0), True)
    np.testing.assert_array_equal(views.apply(x, mirror, axis), np.flip(x, axis + 1))
