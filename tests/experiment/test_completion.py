"""Completing partial inputs with a trained run: the known part stays exact."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel import data
from gvoxel.core import corruption, pieces
from gvoxel.errors import ConfigError
from gvoxel.experiment import completion
from gvoxel.experiment import config as config_lib
from gvoxel.experiment import run as run_lib


def test_trained_recovery_keeps_visible_voxels_and_superres_keeps_low_res(trained_run):
    shapes = data.load_voxels("bundled:chair32", resolution=16).voxels[:6].astype(np.float32)
    exp, state, _ = run_lib.load_experiment(str(trained_run("recovery")))
    visible = np.asarray(corruption.visible_mask(jax.random.PRNGKey(0), 6, 16, "box", 0.5))
    start, res = completion.complete(exp, state, visible, shapes, noise=True, num_steps=10)
    assert np.array_equal(res[visible], shapes[visible])
    assert np.array_equal(start[visible], shapes[visible])
    assert np.any(res[~visible] != start[~visible])

    exp, state, _ = run_lib.load_experiment(str(trained_run("superres")))
    low = np.asarray(data.downscale(shapes, 2))
    start, res = completion.complete(exp, state, low, None, noise=True, num_steps=10)
    # results are clipped to [0, 1]; where no voxel of a block was clipped CY is exact
    raw_ok = np.all((res > 0) & (res < 1), axis=None)
    if raw_ok:
        np.testing.assert_allclose(data.downscale(res, 2), low, atol=1e-5)
    np.testing.assert_allclose(data.downscale(start, 2), low, atol=1e-6)
    assert np.abs(res - start).max() > 0


def test_completion_uses_the_moving_average_of_theta_when_one_is_kept(trained_run):
    shapes = data.load_voxels("bundled:chair32", resolution=16).voxels[:4].astype(np.float32)
    exp, state, _ = run_lib.load_experiment(str(trained_run("recovery")))
    visible = np.asarray(corruption.visible_mask(jax.random.PRNGKey(0), 4, 16, "random", 0.7))
    run = lambda s: completion.complete(exp, s, visible, shapes, num_steps=5)[1]  # noqa: E731
    zeroed = jax.tree.map(lambda p: p * 0.0, state["params"])
    with_avg = dict(state, ema_params=zeroed)
    np.testing.assert_array_equal(run(with_avg), run(dict(state, params=zeroed)))
    assert not np.array_equal(run(with_avg), run(state))


def test_completion_ensemble_over_views(trained_run):
    shapes = data.load_voxels("bundled:chair32", resolution=16).voxels[:4].astype(np.float32)
    exp, state, _ = run_lib.load_experiment(str(trained_run("recovery")))
    visible = np.asarray(corruption.visible_mask(jax.random.PRNGKey(0), 4, 16, "random", 0.7))
    run = lambda v, y, **kw: completion.complete(exp, state, v, y, num_steps=5, **kw)  # noqa: E731
    start, plain = run(visible, shapes)
    with exp.config.unlocked():
        exp.config.sampler.view_mirror = 0
    # {plain, mirrored}: completing the mirror image gives the mirror image of the result
    _, both = run(visible, shapes)
    _, of_mirror = run(np.flip(visible, 1), np.flip(shapes, 1))
    np.testing.assert_array_equal(np.flip(of_mirror, 1), both)
    assert not np.array_equal(both, plain)
    np.testing.assert_array_equal(run(visible, shapes, ensemble=False)[1], plain)
    with exp.config.unlocked():
        exp.config.sampler.view_shifts = True
    s, shifted = run(visible, shapes)
    np.testing.assert_array_equal(s, start)  # the starts shown are the plain input's
    np.testing.assert_array_equal(shifted[visible], shapes[visible])
    assert not np.array_equal(shifted, both)


def test_completion_chains_move_on_the_shift_averaged_energy_when_the_recipe_says(trained_run):
    shapes = data.load_voxels("bundled:chair32", resolution=16).voxels[:4].astype(np.float32)
    exp, state, _ = run_lib.load_experiment(str(trained_run("recovery")))
    visible = np.asarray(corruption.visible_mask(jax.random.PRNGKey(0), 4, 16, "random", 0.7))
    run = lambda **kw: completion.complete(exp, state, visible, shapes, num_steps=5, **kw)[1]  # noqa: E731
    plain = run()
    assert not completion.sampling_variant(exp).model.sampler.shift_average
    assert completion.recipe(exp.config) is None  # one chain on f
    with exp.config.unlocked():
        exp.config.sampler.energy_shifts = True
    assert completion.recipe(exp.config) == "1 view, chains on f̄"
    assert completion.sampling_variant(exp).model.sampler.shift_average
    assert not completion.sampling_variant(exp, use=False).model.sampler.shift_average
    f_bar = run()
    np.testing.assert_array_equal(f_bar[visible], shapes[visible])
    assert not np.array_equal(f_bar, plain)
    np.testing.assert_array_equal(run(ensemble=False), plain)  # --noviews: one chain on f


def test_uncertain_voxels_are_the_band_around_half_and_small_pieces_with_their_rims():
    soft = np.zeros((1, 12, 12, 12), np.float32)
    soft[0, 2:8, 2:8, 6] = 0.95  # a plate: sure
    soft[0, 4, 4, 2:5] = 0.45  # a faint leg under it: in the band
    soft[0, 10, 10, 10] = 0.9  # a stray voxel, sure of itself
    got = np.asarray(completion.uncertain(soft, band=0.2, max_piece=4))[0]
    want = np.zeros((12, 12, 12), bool)
    want[4, 4, 2:5] = True
    want[9:12, 9:12, 9:12] = True  # the stray voxel and its rim
    np.testing.assert_array_equal(got, want)


def test_refine_keeps_sure_voxels_and_redraws_the_rest_binary(trained_run):
    shapes = data.load_voxels("bundled:chair32", resolution=16).voxels[:4].astype(np.float32)
    rng = np.random.default_rng(0)
    soft = np.clip(0.8 * shapes + 0.1 + rng.normal(0, 0.15, shapes.shape), 0, 1).astype("f4")
    soft[:, :, :, 4] = 0.0  # one plane surely empty: legs cut from their seats
    exp, state, _ = run_lib.load_experiment(str(trained_run("recovery")))
    first = completion.refine(exp, state, soft, completion.RefineSettings(radius=0, reach=0))
    sure = ~np.asarray(completion.uncertain(soft))
    assert set(np.unique(first)) <= {0.0, 1.0}
    np.testing.assert_array_equal(first[sure], (soft > 0.5)[sure])
    assert 0 < (~sure).mean() < 0.5
    # the gap round only turns on voxels between the largest piece and the loose ones
    out = completion.refine(exp, state, soft)
    gaps = np.asarray(pieces.gaps(jnp.asarray(first > 0.5)))
    assert gaps.any() and set(np.unique(out)) <= {0.0, 1.0}
    np.testing.assert_array_equal(out[~gaps], first[~gaps])
    with pytest.raises(ConfigError, match="works on 16³ grids; the shapes are 32³"):
        completion.refine(exp, state, np.zeros((2, 32, 32, 32), np.float32))
    exp, state, _ = run_lib.load_experiment(str(trained_run("synthesis")))
    with pytest.raises(ConfigError, match="cannot complete a partial input"):
        completion.refine(exp, state, soft)


def test_refine_settings_come_from_the_config_and_are_checked():
    config = config_lib.base_config("synthesis")
    assert completion.RefineSettings.from_config(config) == completion.RefineSettings()
    with config.unlocked():
        config.refine.reach = 3
        config.refine.join = 0.5
    assert completion.RefineSettings.from_config(config).reach == 3
    config.refine.band = 0.7
    with pytest.raises(ConfigError, match="refine.band must be in"):
        completion.RefineSettings.from_config(config)
    with pytest.raises(ConfigError, match="refine.pieces, refine.radius and refine.reach"):
        completion.RefineSettings(reach=-1).checked()
