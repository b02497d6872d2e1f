"""Multi-grid modelling and sampling (Algorithm 2): the grid list's checks, the 1³ histogram,
the up-scaling ladder (C C⁻ = I at every start, Langevin free after it), and a smoke run that
trains every grid, resumes bit-exactly and polishes only the finest grid."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel import train
from gvoxel.data import downscale, split
from gvoxel.data import upscale as upscale_block
from gvoxel.errors import ConfigError
from gvoxel.experiment import batches as pipeline
from gvoxel.experiment import run as run_lib
from gvoxel.variants import multigrid
from gvoxel.variants.base import DataInfo
from tests.helpers import final_state, smoke_config


def mg_config(**overrides):
    return smoke_config("multigrid", **{"train.num_devices": 1, **overrides})


def smoke_data():
    """The smoke run's training shapes (8³ beds) and its data mean."""
    cfg = mg_config()
    voxels = split.training_set(cfg.data).voxels
    return voxels, pipeline.data_mean(voxels, cfg.data.mean)


@pytest.mark.parametrize(
    "grids, needle",
    [
        ((1, 8, 4), "must be increasing, got (1, 8, 4)"),
        ((1, 3, 8), "ratios must be integers, got (1, 3, 8) (8/3)"),
        ((1, 2, 4), "ends at 4 but the data are 8³"),
        ((2, 4, 8), "must start at 1"),
        ((1, 4.0, 8), "must be positive ints"),
    ],
)
def test_bad_grid_lists_are_config_errors(grids, needle):
    cfg = mg_config(**{"multigrid.grids": grids})
    with pytest.raises(ConfigError) as e:
        run_lib.Experiment(cfg, DataInfo(8, 16, 4), 1)
    assert needle in str(e.value)


def test_nets_must_match_the_grids():
    cfg = mg_config(**{"multigrid.nets": ("4@2/1",)})
    with pytest.raises(ConfigError, match="1 entries for the 2 grids above 1³"):
        run_lib.Experiment(cfg, DataInfo(8, 16, 4), 1)


def test_histogram_reproduces_the_1cube_statistics():
    voxels, _ = smoke_data()
    full = split.training_set(mg_config(**{"data.max_examples": 0}).data).voxels
    for data in (voxels, full):
        values = downscale(data, 8).reshape(-1)  # the shapes' 1³ values (occupied fractions)
        counts = multigrid.add_to_histogram(jnp.zeros(100, jnp.int32), jnp.asarray(values))
        assert int(counts.sum()) == len(values)
        draws = np.asarray(multigrid.draw_from_histogram(jax.random.PRNGKey(0), counts, 50_000))
        assert draws.min() >= 0 and draws.max() <= 1
        # bins of 0.01: the draws match the data to well within a bin
        assert abs(draws.mean() - values.mean()) < 0.003, (draws.mean(), values.mean())
        assert abs(draws.std() - values.std()) < 0.003, (draws.std(), values.std())
    # an empty histogram (before the first step) draws uniformly
    uniform = multigrid.draw_from_histogram(jax.random.PRNGKey(1), jnp.zeros(10, jnp.int32), 9999)
    assert abs(float(uniform.mean()) - 0.5) < 0.02


@pytest.mark.parametrize(
    "upscale, conditional", [("block", False), ("trilinear", False), ("trilinear", True)]
)
def test_each_start_block_averages_to_the_coarser_result_and_langevin_is_free(upscale, conditional):
    voxels, mean = smoke_data()
    cfg = mg_config(**{"multigrid.upscale": upscale, "multigrid.conditional": conditional})
    exp = run_lib.Experiment(cfg, DataInfo(8, len(voxels), 4), 1)
    v = exp.variant
    state = exp.init_state(0, mean)
    means = v.means(state["data_mean"])
    top = jnp.asarray(downscale(voxels[:4], 8))  # observed 1³ values
    ladder = jax.jit(v.ladder, static_argnums=(4,))
    for noise in (True, False):  # with noise, and the noise-free descent
        starts, chains, _ = ladder(state["params"], jax.random.PRNGKey(2), top, means, 5, noise)
        coarser = top  # occupancy at grid s − 1
        for s, (start, chain) in enumerate(zip(starts, chains), start=1):
            f = v.grids[s] // v.grids[s - 1]
            assert start.shape == (4,) + (v.grids[s],) * 3
            # the start is C⁻ of the coarser result: C(start) reproduces it (C C⁻ = I) ...
            np.testing.assert_allclose(downscale(start + means[s], f), coarser, atol=1e-6)
            up = np.asarray(start + means[s])
            steps = np.square(np.diff(up, axis=-1)).sum()  # Dirichlet energy
            block = np.square(np.diff(upscale_block(np.asarray(coarser), f), axis=-1)).sum()
            if upscale == "trilinear":  # ... and, trilinear, with smaller steps than blocks
                assert steps < 0.9 * block if s > 1 else steps < 1e-4, (s, steps, block)
            else:
                np.testing.assert_allclose(steps, block, rtol=1e-5)
            # ... K free Langevin steps move the chain's block averages away from it,
            # conditional ones keep them
            moved = np.abs(np.asarray(downscale(chain.position + means[s], f) - coarser))
            if conditional:
                assert moved.max() < 1e-5, (noise, s, moved.max())
            else:
                assert moved.max() > 1e-2, (noise, s, moved.max())
            coarser = chain.position + means[s]


def test_smoke_trains_every_grid_and_resumes_bit_exactly(
    trained_run, assert_states_equal, tmp_path
):
    full, part = trained_run("multigrid"), tmp_path / "part"
    for name, r in (("grid4", 4), ("samples", 8)):  # every grid's montage
        assert os.path.exists(full / "samples" / f"iter_000004_{name}.png")
        with np.load(full / "samples" / f"iter_000004_{name}.npz") as f:
            assert f["voxels"].shape == (4, r, r, r)
    train.train_and_evaluate(mg_config(**{"train.num_iters": 2}), str(part))
    train.train_and_evaluate(mg_config(), str(part))
    (step_a, a), (step_b, b) = final_state(full), final_state(part)
    assert step_a == step_b == 4
    assert_states_equal(a, b)

    # Every grid's θ and Adam state moved; the histogram counted each training shape once.
    voxels, mean = smoke_data()
    exp = run_lib.Experiment(mg_config(), DataInfo(8, len(voxels), 4), 1)
    init = exp.init_state(mg_config().seed, mean)
    assert set(a["params"]) == set(a["opt_state"]) == {"grid4", "grid8"}
    for key in ("params", "opt_state"):
        for name in ("grid4", "grid8"):
            moved = [
                not np.array_equal(np.asarray(x), np.asarray(y))
                for x, y in zip(
                    jax.tree.leaves(a[key][name]), jax.tree.leaves(init[key][name]), strict=True
                )
            ]
            assert any(moved), (key, name)
    values = jnp.asarray(downscale(voxels, 8))
    want = multigrid.add_to_histogram(jnp.zeros(100, jnp.int32), values)
    np.testing.assert_array_equal(a["histogram"], want)


def test_polish_moves_only_the_finest_written_grid(trained_run):
    exp, state, _ = run_lib.load_experiment(str(trained_run("multigrid")), num_devices=1)

    def draw(variant):
        synthesize = jax.jit(variant.synthesize, static_argnums=(2, 3))
        return synthesize(state, jax.random.PRNGKey(0), 2, 3)

    plain = draw(exp.variant)
    polished_cfg = mg_config(**{"sampler.polish_steps": 5})
    polished = draw(run_lib.Experiment(polished_cfg, exp.info, 1).variant)
    np.testing.assert_array_equal(plain["grid4"], polished["grid4"])
    assert float(jnp.abs(plain["samples"] - polished["samples"]).max()) > 1e-3


@pytest.mark.skipif(jax.device_count() < 4, reason="needs 4 (simulated) devices")
def test_sharded_step_equals_single_device():
    # XLA convolutions: the CPU FFT path rounds exact zeros (empty receptive fields of the
    # observed shapes) to ±1e-10, which flips ReLU'(0) differently per batch split.
    cfg = mg_config(**{"model.conv_impl": "xla"})
    voxels, mean = smoke_data()
    batches = pipeline.Batches(voxels - mean, 4, 0)
    states = {}
    for n in (1, 4):
        exp = run_lib.Experiment(cfg, DataInfo(8, len(voxels), 4), n)
        state, step = exp.init_state(0, mean), exp.jit_train_step()
        for i in range(2):
            state, _ = step(state, batches.batch(i))
        assert len(state["coarse_chains"]["grid4"].sharding.device_set) == n
        states[n] = jax.device_get(state)
    jax.tree.map(  # same tree, and every leaf close
        lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-5), states[1], states[4]
    )


def test_max_pool_sees_thin_parts_as_occupied_and_trains():
    voxels, mean = smoke_data()
    cfg = mg_config(**{"multigrid.pool": "max"})
    exp = run_lib.Experiment(cfg, DataInfo(8, len(voxels), 4), 1)
    v = exp.variant
    leg = np.zeros((1, 8, 8, 8), np.float32)
    leg[0, 3, 5, :] = 1.0  # a one-voxel column: a quarter of each 2³ block it crosses
    coarse = np.asarray(v.coarse(jnp.asarray(leg), 4))
    want = np.zeros((1, 4, 4, 4), np.float32)
    want[0, 1, 2, :] = 1.0  # with "max" those blocks are occupied (the block mean says 0.25)
    np.testing.assert_array_equal(coarse, want)
    np.testing.assert_allclose(np.asarray(downscale(leg, 2)), want * 0.25)

    # one train step: the histogram counts each shape's largest occupancy (its 1³ value)
    state = exp.init_state(0, mean)
    batch = {"voxels": jnp.asarray(voxels[:4] - mean), "labels": jnp.zeros(4, jnp.int32)}
    state, metrics = exp.jit_train_step()(state, batch)
    assert np.isfinite(float(metrics["loss"]))
    tops = jnp.asarray(voxels[:4].max(axis=(1, 2, 3)))
    want = multigrid.add_to_histogram(jnp.zeros(100, jnp.int32), tops)
    np.testing.assert_array_equal(state["histogram"], want)

    with pytest.raises(ConfigError, match="multigrid.pool must be one of"):
        run_lib.Experiment(mg_config(**{"multigrid.pool": "maximum"}), DataInfo(8, 16, 4), 1)


def test_rms_pool_shows_each_grid_the_root_of_the_occupied_share_and_trains():
    voxels, mean = smoke_data()
    exp = run_lib.Experiment(mg_config(**{"multigrid.pool": "rms"}), DataInfo(8, len(voxels), 4), 1)
    v = exp.variant
    np.testing.assert_allclose(
        np.asarray(v.coarse(jnp.asarray(voxels), 4)), np.sqrt(downscale(voxels**2, 2)), rtol=1e-6
    )
    batch = {"voxels": jnp.asarray(voxels[:4] - mean), "labels": jnp.zeros(4, jnp.int32)}
    state, metrics = exp.jit_train_step()(exp.init_state(0, mean), batch)
    assert np.isfinite(float(metrics["loss"]))
    tops = jnp.asarray(np.sqrt((voxels[:4] ** 2).mean(axis=(1, 2, 3))))  # and the 1³ grid
    want = multigrid.add_to_histogram(jnp.zeros(100, jnp.int32), tops)
    np.testing.assert_array_equal(state["histogram"], want)


def test_conditional_grids_learn_from_the_observed_coarser_shapes():
    voxels, mean = smoke_data()
    cfg = mg_config(**{"multigrid.conditional": True})
    exp = run_lib.Experiment(cfg, DataInfo(8, len(voxels), 4), 1)
    state = exp.init_state(0, mean)
    batch = {"voxels": jnp.asarray(voxels[:4] - mean), "labels": jnp.zeros(4, jnp.int32)}
    state, _ = exp.jit_train_step()(state, batch)
    means = exp.variant.means(state["data_mean"])
    # each grid's chains keep the block averages of the observed shape one grid coarser
    grid4 = np.asarray(state["coarse_chains"]["grid4"] + means[1])
    np.testing.assert_allclose(downscale(grid4, 4), downscale(voxels[:4], 8), atol=1e-5)
    finest = np.asarray(state["chains"] + means[2])
    np.testing.assert_allclose(downscale(finest, 2), downscale(voxels[:4], 2), atol=1e-5)

    with pytest.raises(ConfigError, match="needs multigrid.pool='mean'"):
        run_lib.Experiment(
            mg_config(**{"multigrid.conditional": True, "multigrid.pool": "max"}),
            DataInfo(8, 16, 4),
            1,
        )
