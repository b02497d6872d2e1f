"""Corruption masks hide what they claim to hide."""

import jax
import numpy as np
import pytest
import scipy.optimize

from gvoxel.core import corruption
from gvoxel.errors import ConfigError


@pytest.mark.parametrize("kind", ["random", "box", "half", "mixed"])
def test_masks_hide_about_rho_and_are_deterministic_in_the_key(kind):
    key = jax.random.PRNGKey(7)
    vis = np.asarray(corruption.visible_mask(key, 6, 16, kind, 0.6))
    assert vis.shape == (6, 16, 16, 16) and vis.dtype == bool
    hidden = 1 - vis.reshape(6, -1).mean(1)
    np.testing.assert_allclose(hidden, 0.6, atol=0.05)
    assert np.array_equal(vis, np.asarray(corruption.visible_mask(key, 6, 16, kind, 0.6)))
    other = np.asarray(corruption.visible_mask(jax.random.PRNGKey(8), 6, 16, kind, 0.6))
    assert not np.array_equal(vis, other)


def test_box_and_half_space_hide_contiguous_regions():
    box = ~np.asarray(corruption.visible_mask(jax.random.PRNGKey(0), 4, 16, "box", 0.3))
    for b in box:
        idx = np.argwhere(b)
        lo, hi = idx.min(0), idx.max(0) + 1
        assert b[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].all()  # its bounding box, full
    half = ~np.asarray(corruption.visible_mask(jax.random.PRNGKey(0), 4, 16, "half", 0.3))
    coords = np.indices((16,) * 3).reshape(3, -1).T.astype(float)
    x = np.c_[coords, np.ones(len(coords))]
    for h in half:
        # linearly separable: some (w, b) has t·(w·x + b) >= 1 for every voxel (an LP)
        t = np.where(h.reshape(-1), 1.0, -1.0)
        lp = scipy.optimize.linprog(
            np.zeros(4), A_ub=-t[:, None] * x, b_ub=-np.ones(len(t)), bounds=[(None, None)] * 4
        )
        assert lp.status == 0
    # and a mask that is not a half-space fails the same check
    t = np.where(box[0].reshape(-1), 1.0, -1.0)
    lp = scipy.optimize.linprog(
        np.zeros(4), A_ub=-t[:, None] * x, b_ub=-np.ones(len(t)), bounds=[(None, None)] * 4
    )
    assert lp.status == 2  # infeasible


def test_bad_corruption_settings_are_config_errors():
    with pytest.raises(ConfigError, match="kind"):
        corruption.check("blur", 0.5)
    for rho in (0.0, 1.0, -0.1):
        with pytest.raises(ConfigError, match="rho"):
            corruption.check("random", rho)
