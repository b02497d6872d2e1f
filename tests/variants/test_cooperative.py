"""Cooperative learning (Algorithm 3): the generator's checks and optimizer, MCMC teaching,
regression on clipped revisions and on their edited pieces, warm-up, latent inference, the
moving average of g's weights; the smoke run resumes bit-exactly and trains every part of
its state."""

import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel import train
from gvoxel.errors import ConfigError
from gvoxel.experiment import run as run_lib
from gvoxel.variants import cooperative
from gvoxel.variants.base import DataInfo
from gvoxel.variants.cooperative import Cooperative
from tests.helpers import final_state, smoke_config


def coop_config(**overrides):
    return smoke_config("cooperative", **{"train.num_devices": 1, **overrides})


def unit_config(**overrides):
    """The smoke config on XLA's convolutions, which compile fastest: for checks of teaching
    and of g, not of the convolution paths (tests/core/test_conv.py)."""
    return coop_config(**{"model.conv_impl": "xla", **overrides})


def test_generator_that_cannot_reach_the_resolution_is_a_config_error():
    cfg = unit_config(**{"generator.upsample": (1, 2, 2, 3)})
    with pytest.raises(ConfigError, match="does not divide the data resolution 16"):
        run_lib.Experiment(cfg, DataInfo(16, 16, 4), 1)
    cfg = unit_config(**{"generator.upsample": (2, 2, 2)})
    with pytest.raises(ConfigError, match="needs 4 positive factors"):
        run_lib.Experiment(cfg, DataInfo(16, 16, 4), 1)


def test_generator_optimizer_sgd_steps_in_proportion_to_the_gradient():
    # eq. (17) as written: α moves by lr × the gradient, so step sizes differ as much as the
    # gradient's entries do; Adam's first step is lr × sign(gradient) for every entry
    def first_step(optimizer):
        cfg = unit_config(**{"generator.optimizer": optimizer, "generator.lr": 1e-4})
        exp = run_lib.Experiment(cfg, DataInfo(16, 16, 4), 1)
        state = exp.init_state(0, np.full((16,) * 3, 0.1, np.float32))
        batch = {"voxels": np.zeros((4, 16, 16, 16), np.float32), "labels": np.zeros(4, np.int32)}
        new, _ = jax.jit(exp.variant.train_step)(state, batch)
        k = new["gen_params"]["fc"]["kernel"] - state["gen_params"]["fc"]["kernel"]
        k = np.abs(np.asarray(k)).ravel()
        return k[k > 0]

    sgd, adam = first_step("sgd"), first_step("adam")
    assert np.max(sgd) / np.median(sgd) > 3
    assert np.max(adam) / np.median(adam) < 1.5
    with pytest.raises(ConfigError, match="generator.optimizer must be 'adam' or 'sgd'"):
        run_lib.Experiment(unit_config(**{"generator.optimizer": "sdg"}), DataInfo(16, 16, 4), 1)


def toy_data(n=32, r=8, seed=0):
    """Boxes of random size and position: a simple distribution the descriptor can learn."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, r, r, r), np.float32)
    for v in out:
        lo = rng.integers(0, r // 2, 3)
        hi = lo + rng.integers(2, r // 2 + 1, 3)
        v[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = 1.0
    return out


def test_mcmc_teaching_shrinks_the_revision():
    """‖Ỹ − g(Z)‖ falls as g learns where the descriptor's Langevin dynamics take its output
    (deterministic revision, so the distance is all teaching, no noise floor)."""
    cfg = unit_config(
        **{
            "data.resolution": 8,
            "model.net": "8@3/2",
            "generator.channels": (16, 8),
            "generator.upsample": (1, 2, 2),
            "generator.lr": 0.001,
            "sampler.steps": 10,
            "sampler.noise_off_iter": 0,
            "train.batch_size": 16,
            "sampler.num_chains": 16,
        }
    )
    data = toy_data()
    mean = data.mean(0)
    exp = run_lib.Experiment(cfg, DataInfo(8, len(data), 2), 1)
    state = exp.init_state(0, mean)
    step = jax.jit(exp.variant.train_step)
    revision = []
    for i in range(100):
        batch = {"voxels": data[(i % 2) * 16 :][:16] - mean, "labels": np.zeros(16, np.int32)}
        state, metrics = step(state, batch)
        revision.append(float(metrics["revision"]))
    early, late = np.mean(revision[:5]), np.mean(revision[-5:])
    assert late < 0.5 * early, (early, late)
    # The metric is what it says: revising g(Z) again gives that distance.
    z = exp.variant.latents(jax.random.PRNGKey(5), 16)
    y = exp.variant.generate(state, z)
    again = exp.variant.refine(state, jax.random.PRNGKey(6), y, 10, noise=False)
    dist = float(jnp.mean(jnp.sqrt(jnp.sum(jnp.square(again - y), axis=(1, 2, 3)))))
    assert 0.5 * late < dist < 2.0 * late, (dist, late)


def test_diversity_metrics():
    """contraction: 0 when the revisions keep g's dependence on Z (a common shift plus noise),
    1 when they forget it; iou_gen: 1 for one shape repeated, 0 for disjoint shapes."""
    y = jax.random.uniform(jax.random.PRNGKey(0), (64, 6, 6, 6), minval=-1.0, maxval=1.0)
    noise = 0.1 * jax.random.normal(jax.random.PRNGKey(1), y.shape)
    assert abs(float(cooperative._contraction(y, y + 0.3 + noise))) < 0.05
    same = jnp.broadcast_to(jnp.mean(y, axis=0), y.shape)
    np.testing.assert_allclose(cooperative._contraction(y, same), 1.0, rtol=1e-5)
    iou = lambda v: float(cooperative._pairwise(v, cooperative._iou))  # noqa: E731
    assert iou(jnp.ones((3, 4, 4, 4))) == 1.0
    assert iou(jnp.eye(3).reshape(3, 3, 1, 1)) == 0.0


def _gen_loss_on(revision, **overrides):
    """One training step whose Langevin revision is replaced by `revision(y)`: its gen_loss,
    and the g(Z) of that step, the variant and its state."""

    @dataclasses.dataclass(frozen=True)
    class Revised(Cooperative):
        def refine(self, state, rng, y, num_steps, noise=True):
            return revision(y)

    exp = run_lib.Experiment(unit_config(**overrides), DataInfo(16, 16, 4), 1)
    v = exp.variant
    fixed = Revised(**{f.name: getattr(v, f.name) for f in dataclasses.fields(v)})
    state = exp.init_state(0, np.full((16,) * 3, 0.1, np.float32))
    batch = {"voxels": np.zeros((4, 16, 16, 16), np.float32), "labels": np.zeros(4, np.int32)}
    _, metrics = jax.jit(fixed.train_step)(state, batch)
    y_gen = v.generator.apply(
        {"params": state["gen_params"], "batch_stats": state["gen_batch_stats"]},
        v.latents(jax.random.split(state["rng"], 4)[1], v.num_chains),
        train=True,
        mutable=["batch_stats"],
    )[0]
    return float(metrics["gen_loss"]), y_gen, v


def test_generator_regresses_on_revisions_clipped_to_its_range():
    """Ỹ outside [−1, 1] is a target g's tanh can't reach: regressing on it only saturates g
    (∂g/∂α → 0), so the target is clipped. A revision far below −1 teaches "−1", no more."""
    loss, y_gen, v = _gen_loss_on(lambda y: y - 10.0)
    want = jnp.mean(jnp.sum(jnp.square(-1.0 - y_gen), axis=(1, 2, 3))) / (2 * v.sigma**2)
    np.testing.assert_allclose(loss, want, rtol=1e-5)


def test_generator_regresses_on_the_revision_bridged_and_reduced_to_its_main_piece():
    """generator.bridge: g's target is the revision whose faint voxels joined to the shape
    are raised above 0.5; generator.main_piece: the voxels above 0.5 outside its largest
    piece lowered below, generator.despeckle: those of its small pieces (gvoxel.core.pieces);
    without any, the revision itself."""
    seat = np.full((16,) * 3, 0.02, np.float32)
    seat[4:12, 4:12, 10] = 0.9
    seat[6, 6, 2:10] = [0.7, 0.35, 0.7, 0.35, 0.7, 0.35, 0.7, 0.35]  # a beaded leg
    bridged = seat.copy()
    bridged[6, 6, 3:10:2] = 0.6  # the faint beads between the strong ones, and under the seat
    main = seat.copy()
    main[6, 6, 2:10:2] = 0.4  # generator.main_piece alone: the strong beads are loose pieces
    cases = (
        ({}, seat),
        ({"generator.bridge": 0.3}, bridged),
        ({"generator.main_piece": True}, main),
        ({"generator.bridge": 0.3, "generator.main_piece": True}, bridged),  # one piece
        ({"generator.despeckle": 1}, main),  # each strong bead is a one-voxel piece
        ({"generator.despeckle": 1, "generator.bridge": 0.3}, bridged),
        (
            {"generator.despeckle": 1, "generator.target_margin": 0.5},
            np.where(main == 0.4, 0, main),
        ),
    )
    revision = jnp.asarray(2.0 * seat - 1.0)[None]
    for overrides, target in cases:
        v = run_lib.Experiment(unit_config(**overrides), DataInfo(16, 16, 4), 1).variant
        got = jax.jit(v.regression_target)(revision)
        np.testing.assert_allclose(got[0], 2.0 * target - 1.0, rtol=1e-6, atol=1e-6)
    # the training step regresses g on that target
    on = {"generator.bridge": 0.3}
    loss, y_gen, v = _gen_loss_on(lambda y: jnp.broadcast_to(2.0 * seat - 1.0, y.shape), **on)
    want = jnp.mean(jnp.sum(jnp.square(2.0 * bridged - 1.0 - y_gen), axis=(1, 2, 3)))
    np.testing.assert_allclose(loss, want / (2 * v.sigma**2), rtol=1e-5)
    with pytest.raises(ConfigError, match="generator.bridge must be in"):
        run_lib.Experiment(unit_config(**{"generator.bridge": 0.5}), DataInfo(16, 16, 4), 1)
    with pytest.raises(ConfigError, match="generator.target_margin must be in"):
        run_lib.Experiment(unit_config(**{"generator.target_margin": 0}), DataInfo(16, 16, 4), 1)


def test_bernoulli_likelihood_moves_voxels_saturated_at_minus_one():
    """generator.likelihood=bernoulli applies the residual Ỹ − g(Z) to g's pre-tanh output:
    where g is saturated at −1, eq. (17)'s gradient through tanh is exactly 0, the
    Bernoulli one is not. Unsaturated, both point the same way."""

    def first_gen_grad(likelihood, bias):
        cfg = unit_config(**{"generator.likelihood": likelihood})
        exp = run_lib.Experiment(cfg, DataInfo(16, 16, 4), 1)
        state = exp.init_state(0, np.full((16,) * 3, 0.1, np.float32))
        last = max(k for k in state["gen_params"] if k.startswith("deconv") and "bias" in k)
        state["gen_params"] = dict(state["gen_params"], **{last: state["gen_params"][last] + bias})
        batch = {"voxels": np.zeros((4, 16, 16, 16), np.float32), "labels": np.zeros(4, np.int32)}
        return float(jax.jit(exp.variant.train_step)(state, batch)[1]["gen_grad_norm"])

    assert first_gen_grad("gaussian", -50.0) == 0.0
    assert first_gen_grad("bernoulli", -50.0) > 0.0
    assert first_gen_grad("gaussian", 0.0) > 0.0
    g = DataInfo(16, 16, 4)
    v = run_lib.Experiment(unit_config(**{"generator.likelihood": "bernoulli"}), g, 1).variant
    assert v.bernoulli and not run_lib.Experiment(unit_config(), g, 1).variant.bernoulli
    with pytest.raises(ConfigError, match="generator.likelihood must be"):
        run_lib.Experiment(unit_config(**{"generator.likelihood": "binary"}), g, 1)


def test_generator_logits_are_its_output_before_tanh():
    exp = run_lib.Experiment(unit_config(), DataInfo(16, 16, 4), 1)
    state = exp.init_state(0, np.full((16,) * 3, 0.1, np.float32))
    variables = {"params": state["gen_params"], "batch_stats": state["gen_batch_stats"]}
    z = exp.variant.latents(jax.random.PRNGKey(0), 3)
    y = exp.variant.generator.apply(variables, z, train=False)
    h = exp.variant.generator.apply(variables, z, train=False, logits=True)
    np.testing.assert_array_equal(y, jnp.tanh(h))


def _first_iteration(**overrides):
    """One training step of the smoke generator; returns the variant, both states and the
    regression loss of g before and after it on that step's own (Z, Ỹ) pairs."""
    exp = run_lib.Experiment(unit_config(**overrides), DataInfo(16, 16, 4), 1)
    v = exp.variant
    state = exp.init_state(0, np.full((16,) * 3, 0.1, np.float32))
    batch = {"voxels": np.zeros((4, 16, 16, 16), np.float32), "labels": np.zeros(4, np.int32)}
    new, metrics = jax.jit(v.train_step)(state, batch)
    z = v.latents(jax.random.split(state["rng"], 4)[1], v.num_chains)
    target = jnp.clip(new["chains"], -1.0, 1.0)
    y = v.generator.apply(
        {"params": new["gen_params"], "batch_stats": new["gen_batch_stats"]},
        z,
        train=True,
        mutable=["batch_stats"],
    )[0]
    after = jnp.mean(jnp.sum(jnp.square(target - y), axis=(1, 2, 3))) / (2 * v.sigma**2)
    return state, new, float(metrics["gen_loss"]), float(after)


def test_more_regression_steps_fit_the_revisions_closer():
    """generator.steps = k takes k steps of eq. (17) on each iteration's (Z, Ỹ) pairs."""
    _, one, before1, after1 = _first_iteration(**{"generator.lr": 1e-3})
    _, three, before3, after3 = _first_iteration(**{"generator.lr": 1e-3, "generator.steps": 3})
    assert before1 == before3  # same chains, same revisions: only α's update differs
    np.testing.assert_array_equal(one["chains"], three["chains"])
    assert after3 < after1 < before1, (before1, after1, after3)
    with pytest.raises(ConfigError, match="generator.steps must be >= 1"):
        run_lib.Experiment(unit_config(**{"generator.steps": 0}), DataInfo(16, 16, 4), 1)


def test_decoded_negatives_are_the_revisions_as_binary_shapes():
    """optim.negative_kind="decoded": f_neg is f on this step's revisions decoded at 0.5."""
    on = {"optim.negatives": 0.5, "optim.negative_kind": "decoded"}
    state, new, _, _ = _first_iteration(**on)
    exp = run_lib.Experiment(unit_config(**on), DataInfo(16, 16, 4), 1)
    v = exp.variant
    batch = {"voxels": np.zeros((4, 16, 16, 16), np.float32), "labels": np.zeros(4, np.int32)}
    _, metrics = jax.jit(v.train_step)(state, batch)
    occupancy = v.to_descriptor(state, new["chains"]) + state["data_mean"]
    assert 0.05 < float(jnp.mean(occupancy > 0.5)) < 0.95  # not what empty shapes give
    decoded = (occupancy > 0.5).astype(jnp.float32) - state["data_mean"]
    want = jnp.mean(v.model.descriptor_fn(state["params"], decoded))
    np.testing.assert_allclose(metrics["f_neg"], want, rtol=1e-4, atol=1e-5)


def test_fresh_draws_end_with_the_descriptors_polish():
    plain = run_lib.Experiment(unit_config(), DataInfo(16, 16, 4), 1).variant
    v = run_lib.Experiment(
        unit_config(**{"sampler.polish_steps": 4}), DataInfo(16, 16, 4), 1
    ).variant
    state = run_lib.Experiment(unit_config(), DataInfo(16, 16, 4), 1).init_state(
        0, np.full((16,) * 3, 0.1, np.float32)
    )
    rng = jax.random.PRNGKey(3)
    rough = plain.synthesize(state, rng, 4, 2)
    polished = v.synthesize(state, rng, 4, 2)
    # the same revision, then 4 noise-free descriptor steps in the descriptor's domain
    k_z, k_lang = jax.random.split(rng)
    y = v.refine(state, k_lang, v.generate(state, v.latents(k_z, 4)), 2)
    np.testing.assert_array_equal(v.postprocess(state, y), rough)
    d = v.to_descriptor(state, y)
    want = v.postprocess(state, v.from_descriptor(state, v.model.polish(state["params"], d)))
    np.testing.assert_allclose(polished, want, atol=1e-6)
    assert not np.allclose(polished, rough, atol=1e-4)


def test_fresh_draws_revise_with_the_moving_average_of_theta_when_one_is_kept():
    v = run_lib.Experiment(unit_config(), DataInfo(16, 16, 4), 1).variant
    state = run_lib.Experiment(unit_config(), DataInfo(16, 16, 4), 1).init_state(
        0, np.full((16,) * 3, 0.1, np.float32)
    )
    zeroed = jax.tree.map(lambda p: p * 0.0, state["params"])
    rng = jax.random.PRNGKey(3)
    with_avg = v.synthesize(dict(state, ema_params=zeroed), rng, 4, 3)
    np.testing.assert_array_equal(with_avg, v.synthesize(dict(state, params=zeroed), rng, 4, 3))
    assert not np.array_equal(with_avg, v.synthesize(state, rng, 4, 3))


def test_generator_warmup_trains_the_descriptor_alone(assert_states_equal):
    exp = run_lib.Experiment(
        unit_config(**{"generator.warmup": 1, "generator.steps": 2}), DataInfo(16, 16, 4), 1
    )
    state = exp.init_state(0, np.full((16,) * 3, 0.1, np.float32))
    batch = {"voxels": np.zeros((4, 16, 16, 16), np.float32), "labels": np.zeros(4, np.int32)}
    step = jax.jit(exp.variant.train_step)
    s1, _ = step(state, batch)
    assert_states_equal(state["gen_params"], s1["gen_params"])  # iteration 1: g frozen
    assert not all(
        np.array_equal(a, b)
        for a, b in zip(
            jax.tree.leaves(state["params"]), jax.tree.leaves(s1["params"]), strict=True
        )
    )
    s2, _ = step(s1, batch)  # iteration 2: both learn
    assert not np.array_equal(s1["gen_params"]["fc"]["kernel"], s2["gen_params"]["fc"]["kernel"])


def test_latent_inference_finds_a_z_that_explains_the_revision():
    """generator.infer_steps: Langevin on Z under Ỹ = g(Z) + ε moves Z towards one whose g(Z)
    is the revision; the regression then uses (Z̃, Ỹ)."""
    cfg = unit_config(**{"generator.infer_steps": 30, "generator.infer_step_size": 0.05})
    exp = run_lib.Experiment(cfg, DataInfo(16, 16, 4), 1)
    v = exp.variant
    state = exp.init_state(0, np.full((16,) * 3, 0.1, np.float32))
    gen = lambda z: v.generator.apply(  # noqa: E731
        {"params": state["gen_params"], "batch_stats": state["gen_batch_stats"]},
        z,
        train=True,
        mutable=["batch_stats"],
    )[0]
    z_true = v.latents(jax.random.PRNGKey(1), 4)
    z0 = v.latents(jax.random.PRNGKey(2), 4)
    target = gen(z_true)
    z = jax.jit(v.infer)(state, jax.random.PRNGKey(3), z0, target)
    dist = lambda z: float(jnp.sum(jnp.square(target - gen(z))))  # noqa: E731
    assert dist(z) < 0.75 * dist(z0), (dist(z0), dist(z))
    batch = {"voxels": np.zeros((4, 16, 16, 16), np.float32), "labels": np.zeros(4, np.int32)}
    _, metrics = jax.jit(v.train_step)(state, batch)
    assert float(metrics["revision_inferred"]) < float(metrics["revision"])


def test_generator_moving_average_follows_its_formula_and_draws_use_it(assert_states_equal):
    """generator.ema = d: after each step ᾱ ← d·ᾱ + (1 − d)·α (α the updated generator), and
    g's one-pass draws (gvoxel generate / sample) use ᾱ; training itself uses α."""
    cfg = unit_config(**{"generator.ema": 0.75})
    exp = run_lib.Experiment(cfg, DataInfo(16, 16, 4), 1)
    state = exp.init_state(0, np.full((16,) * 3, 0.1, np.float32))
    assert_states_equal(state["gen_ema_params"], state["gen_params"])
    batch = {"voxels": np.zeros((4, 16, 16, 16), np.float32), "labels": np.zeros(4, np.int32)}
    new, _ = jax.jit(exp.variant.train_step)(state, batch)
    expected = jax.tree.map(
        lambda e, p: 0.75 * e + 0.25 * p, state["gen_ema_params"], new["gen_params"]
    )
    for got, want in zip(jax.tree.leaves(new["gen_ema_params"]), jax.tree.leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    fc = new["gen_ema_params"]["fc"]["kernel"], new["gen_params"]["fc"]["kernel"]
    assert not np.array_equal(*fc)
    # the same step without the average trains α identically
    plain = run_lib.Experiment(unit_config(), DataInfo(16, 16, 4), 1)
    plain_new, _ = jax.jit(plain.variant.train_step)(
        {k: v for k, v in state.items() if k != "gen_ema_params"}, batch
    )
    assert_states_equal(plain_new["gen_params"], new["gen_params"])
    z = exp.variant.latents(jax.random.PRNGKey(1), 3)
    swapped = dict(new, gen_params=new["gen_ema_params"])
    del swapped["gen_ema_params"]
    np.testing.assert_array_equal(exp.variant.generate(new, z), exp.variant.generate(swapped, z))
    with pytest.raises(ConfigError, match="generator.ema must be"):
        run_lib.Experiment(unit_config(**{"generator.ema": 1.0}), DataInfo(16, 16, 4), 1)


def test_smoke_trains_resumes_bit_exactly_and_samples(trained_run, assert_states_equal, tmp_path):
    ema = {"generator.ema": 0.5, "generator.bridge": 0.3}  # with α's average, bridged targets
    full, part = trained_run("cooperative", **ema), tmp_path / "part"
    for name in ("samples", "generated"):
        assert os.path.exists(full / "samples" / f"iter_000004_{name}.png")
    train.train_and_evaluate(coop_config(**{"train.num_iters": 2}, **ema), str(part))
    train.train_and_evaluate(coop_config(**ema), str(part))
    (step_a, a), (step_b, b) = final_state(full), final_state(part)
    assert step_a == step_b == 4
    assert_states_equal(a, b)
    # Generator, its average, batch statistics and both optimizers are in the checkpoint,
    # and they moved.
    exp = run_lib.Experiment(coop_config(**ema), DataInfo(16, 14, 3), 1)
    init = exp.init_state(coop_config().seed, np.zeros((16,) * 3, np.float32))
    for key in ("gen_params", "gen_ema_params", "gen_batch_stats", "gen_opt_state", "params"):
        moved = [
            not np.array_equal(np.asarray(x), np.asarray(y))
            for x, y in zip(jax.tree.leaves(a[key]), jax.tree.leaves(init[key]), strict=True)
        ]
        assert any(moved), key
