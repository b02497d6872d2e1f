"""C (block average) and its pseudo-inverse C⁻ (block replication); resize."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel.core.resample import downscale, resize, upscale
from gvoxel.data import load_voxels
from gvoxel.errors import InputError


@pytest.fixture(scope="module")
def chairs():
    return load_voxels("bundled:chair32").voxels[:6]


def test_up_then_down_is_identity(chairs):
    small = downscale(chairs, 4)
    assert small.shape == (6, 8, 8, 8)
    np.testing.assert_array_equal(downscale(upscale(small, 4), 4), small)
    np.testing.assert_array_equal(downscale(upscale(chairs, 2), 2), chairs)


@pytest.mark.parametrize("factor", [2, 4])
def test_down_up_is_a_projection(chairs, factor):
    def proj(x):
        return upscale(downscale(x, factor), factor)

    once = proj(chairs)
    assert once.shape == chairs.shape
    np.testing.assert_allclose(proj(once), once, atol=1e-6)
    # block average keeps the occupied volume
    np.testing.assert_allclose(once.sum(), chairs.sum(), rtol=1e-5)


def test_block_average_values():
    x = np.zeros((4, 4, 4), np.float32)
    x[:2, :2, :2] = 1
    x[2, 2, 2] = 1
    y = downscale(x, 2)
    assert y.shape == (2, 2, 2)
    assert y[0, 0, 0] == 1 and y[1, 1, 1] == 1 / 8 and y.sum() == 1 + 1 / 8
    np.testing.assert_array_equal(upscale(y, 2)[:2, :2, :2], 1)


def test_bool_downscale_is_float32():
    assert downscale(np.ones((2, 4, 4, 4), bool), 2).dtype == np.float32


def test_jax_jit_matches_numpy(chairs):
    f = jax.jit(lambda x: upscale(downscale(x, 2), 2))
    out = f(jnp.asarray(chairs))
    np.testing.assert_allclose(np.asarray(out), upscale(downscale(chairs, 2), 2), atol=1e-6)


def test_resize_and_errors(chairs):
    assert resize(chairs, 16).shape == (6, 16, 16, 16)
    assert resize(chairs, 64).shape == (6, 64, 64, 64)
    assert resize(chairs, 32) is chairs
    with pytest.raises(InputError, match="not an integer ratio"):
        resize(chairs, 24)
    with pytest.raises(ValueError, match="does not divide"):  # also a ValueError
        downscale(chairs, 3)
    with pytest.raises(InputError, match="positive int"):
        upscale(chairs, 0)


def test_max_downscale_keeps_thin_parts_that_the_average_drops(chairs):
    leg = np.zeros((1, 8, 8, 8), np.float32)
    leg[0, 2, 2, :] = 1.0  # one voxel thick: a quarter of each 2³ block it crosses
    assert resize(leg, 4).max() == 0.25
    thick = resize(leg, 4, "max")
    np.testing.assert_array_equal(thick[0, 1, 1, :], np.ones(4))
    assert thick.sum() == 4.0
    # any occupied block is occupied: max-downscaled data is the union of its blocks
    coarse = resize(chairs, 16, "max")
    np.testing.assert_array_equal(coarse > 0.5, resize(chairs, 16) > 0)
    with pytest.raises(InputError, match="downscale must be one of"):
        resize(chairs, 16, "median")


def test_rms_downscale_is_the_root_of_the_occupied_share_between_mean_and_max(chairs):
    leg = np.zeros((1, 8, 8, 8), np.float32)
    leg[0, 2, 2, :] = 1.0  # a quarter of each 2³ block it crosses: 0.5, not the mean's 0.25
    np.testing.assert_allclose(resize(leg, 4, "rms")[0, 1, 1, :], np.full(4, 0.5))
    assert resize(leg, 4, "rms").sum() == 2.0
    coarse = np.asarray(resize(chairs, 8, "rms"))
    share = np.asarray(resize(chairs, 8))
    np.testing.assert_allclose(coarse, np.sqrt(share), rtol=1e-6)  # binary data
    assert (coarse >= share - 1e-7).all() and (coarse <= resize(chairs, 8, "max") + 1e-7).all()
    np.testing.assert_array_equal(resize(upscale(coarse, 4), 8, "rms"), coarse)  # C C⁻ = I
