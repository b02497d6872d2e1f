"""The EBM's training options, each by its defining property."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gvoxel.core import ebm, energy, langevin
from gvoxel.core.nets import Descriptor
from gvoxel.errors import ConfigError
from gvoxel.experiment import config as config_lib
from gvoxel.variants import base


def model(**learning):
    sampler = ebm.SamplerSettings(3, 0.1, 1.0, -1, False, True, 1.0, 0.5, 0, 0.0, 0)
    net = Descriptor(layers=((4, 3, 2),), init_std=0.0)
    return ebm.EnergyModel(net, sampler, optax.adam(0.01), 8, ebm.LearningSettings(**learning))


def data(seed=0, n=4):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return jax.random.uniform(k1, (n, 8, 8, 8)), jax.random.normal(k2, (n, 8, 8, 8))


def test_ema_follows_its_formula_and_is_what_fresh_draws_use():
    m = model(ema=0.9)
    learner = jax.jit(m.init)(jax.random.PRNGKey(0))
    np.testing.assert_array_equal(
        learner["ema_params"]["fc_kernel"], learner["params"]["fc_kernel"]
    )
    obs, syn = data()
    new, _, _ = jax.jit(m.mode_shifting)(learner, obs, syn)
    for e0, p1, e1 in zip(
        *(jax.tree.leaves(t) for t in (learner["ema_params"], new["params"], new["ema_params"]))
    ):
        np.testing.assert_allclose(e1, 0.9 * e0 + 0.1 * p1, rtol=1e-6)
    assert ebm.EnergyModel.sampling_params(new) is new["ema_params"]
    assert "ema_params" not in model().init(jax.random.PRNGKey(0))


def test_energy_penalty_adds_its_gradient():
    obs, syn = data()
    plain, penalised = model(), model(energy_penalty=0.5)
    params = plain.init(jax.random.PRNGKey(1))["params"]
    g0 = jax.grad(lambda p: plain.loss(p, obs, syn)[0])(params)
    g1 = jax.grad(lambda p: penalised.loss(p, obs, syn)[0])(params)

    def square(p):
        f = lambda y: plain.descriptor_fn(p, y)  # noqa: E731
        return 0.5 * (jnp.mean(f(obs) ** 2) + jnp.mean(f(syn) ** 2))

    g2 = jax.grad(square)(params)
    for a, b, c in zip(*(jax.tree.leaves(g) for g in (g0, g1, g2))):
        np.testing.assert_allclose(b, a + c, rtol=1e-4, atol=1e-7)
    # and still no θ-gradient flows through the synthesized examples
    gy = jax.grad(lambda y: penalised.loss(params, obs, y)[0] - energy.mode_shifting_loss(
        penalised.descriptor_fn, params, obs, y)[0])(syn)  # fmt: skip
    np.testing.assert_array_equal(gy, np.zeros_like(gy))


def test_mirror_augmentation_is_an_exact_symmetry_per_shape():
    m = model(mirror_axis=0)
    obs, _ = data(n=32)
    out = np.asarray(m.augment(jax.random.PRNGKey(3), obs))
    flipped = np.flip(np.asarray(obs), axis=1)
    same = [np.array_equal(o, x) for o, x in zip(out, np.asarray(obs))]
    mirrored = [np.array_equal(o, f) for o, f in zip(out, flipped)]
    assert all(s or f for s, f in zip(same, mirrored))
    assert 4 < sum(mirrored) < 28  # about half
    assert m.augment(jax.random.PRNGKey(3), obs) is not obs
    assert model().augment(jax.random.PRNGKey(3), obs) is obs


def test_quarter_turn_augmentation_is_an_exact_symmetry_per_shape():
    m = model(rotate_axis=2)
    obs, _ = data(n=40)
    out = np.asarray(m.augment(jax.random.PRNGKey(4), obs))
    turns = []
    for o, x in zip(out, np.asarray(obs)):
        hits = [k for k in range(4) if np.array_equal(o, np.rot90(x, k, axes=(0, 1)))]
        assert len(hits) == 1  # exactly one quarter turn about the third grid axis
        turns.append(hits[0])
    assert set(turns) == {0, 1, 2, 3}
    # with a mirror too, each shape is one of the 8 images of the dihedral group
    both = np.asarray(model(mirror_axis=0, rotate_axis=2).augment(jax.random.PRNGKey(5), obs))
    for o, x in zip(both, np.asarray(obs)):
        images = [np.rot90(y, k, axes=(0, 1)) for y in (x, np.flip(x, 0)) for k in range(4)]
        assert any(np.array_equal(o, y) for y in images)


def test_shift_augmentation_rolls_each_shape_by_one_of_its_offsets():
    obs, _ = data(n=40)
    out = np.asarray(model(shift=1).augment(jax.random.PRNGKey(6), obs))
    offsets = []
    for o, x in zip(out, np.asarray(obs)):
        hits = [s for s in np.ndindex(2, 2, 2) if np.array_equal(o, np.roll(x, s, (0, 1, 2)))]
        assert len(hits) == 1
        offsets.append(hits[0])
    assert len(set(offsets)) >= 6  # of the 8, at random


def test_data_noise_is_independent_gaussian_noise_of_its_std_on_thetas_input_only():
    obs, syn = data(n=16)
    noisy = model(noise=0.2)
    out = np.asarray(noisy.noised(jax.random.PRNGKey(7), obs))
    added = (out - np.asarray(obs)).ravel()
    assert abs(added.mean()) < 0.01 and abs(added.std() - 0.2) < 0.01
    assert abs(np.corrcoef(added[:-1], added[1:])[0, 1]) < 0.05  # voxel by voxel
    # the symmetries leave the shapes data: conditions and coarser grids derive from them
    np.testing.assert_array_equal(noisy.augment(jax.random.PRNGKey(7), obs), obs)
    # θ's step learns from the noised shapes: as a noise-free model's step on them
    learner = noisy.init(jax.random.PRNGKey(0))
    key = jax.random.PRNGKey(3)
    got, _, m1 = jax.jit(noisy.mode_shifting)(learner, obs, syn, rng=key)
    want, _, m2 = jax.jit(model().mode_shifting)(learner, noisy.noised(key, obs), syn)
    np.testing.assert_allclose(m1["f_obs"], m2["f_obs"], rtol=1e-6)
    for a, b in zip(jax.tree.leaves(got["params"]), jax.tree.leaves(want["params"])):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(ValueError, match="rng"):  # noise on, no key: never silently clean
        noisy.mode_shifting(learner, obs, syn)


def test_annealing_runs_every_chain_on_the_schedule():
    m = model()
    annealed = dataclasses.replace(m, sampler=m.sampler._replace(anneal_to=0.0))
    params = m.init(jax.random.PRNGKey(0))["params"]
    y = jax.random.normal(jax.random.PRNGKey(1), (4, 8, 8, 8))
    key = jax.random.PRNGKey(2)
    got, _ = annealed.langevin(params, key, y, 5)
    eg = functools.partial(energy.energy_and_grad, m.descriptor_fn, params, s=0.5)
    want, _ = langevin.sample(
        key, langevin.init(y, eg), eg, 5, 0.1, langevin.annealed(1.0, 0.0, 5), final_grad=False
    )
    np.testing.assert_array_equal(got.position, want.position)
    plain, _ = m.langevin(params, key, y, 5)
    assert not np.array_equal(plain.position, got.position)


def test_reinit_restarts_its_share_of_persistent_chains():
    m = model()
    chains = jnp.full((400, 8, 8, 8), 7.0)
    np.testing.assert_array_equal(m.chain_starts(jax.random.PRNGKey(0), chains), chains)
    buffered = ebm.EnergyModel(
        m.descriptor, m.sampler._replace(reinit=0.25), m.tx, m.resolution, m.learning
    )
    starts = np.asarray(buffered.chain_starts(jax.random.PRNGKey(0), chains))
    kept = np.all(starts == 7.0, axis=(1, 2, 3))
    assert 0.18 < 1 - kept.mean() < 0.32
    fresh = starts[~kept]
    assert abs(fresh.mean()) < 0.05 and abs(fresh.std() - 1.0) < 0.05  # N(0, init_std²)
    restart = ebm.EnergyModel(
        m.descriptor, m.sampler._replace(persistent=False), m.tx, m.resolution, m.learning
    )
    assert not np.any(np.asarray(restart.chain_starts(jax.random.PRNGKey(0), chains)) == 7.0)


def test_cosine_decay_reaches_zero_at_the_last_iteration():
    c = config_lib.base_config()
    c.optim.decay = "cosine"
    tx = base.optimizer(c.optim, 1, num_iters=10)
    params = {"w": jnp.ones(())}
    state = tx.init(params)
    sizes = []
    for _ in range(11):
        upd, state = tx.update({"w": jnp.ones(())}, state, params)
        sizes.append(abs(float(upd["w"])))
    assert sizes[0] == pytest.approx(c.optim.lr, rel=1e-3) and sizes[10] == 0.0
    c.optim.decay = "linear"
    with pytest.raises(ConfigError, match="optim.decay"):
        base.optimizer(c.optim, 1, num_iters=10)


def test_bad_option_values_are_config_errors():
    c = config_lib.base_config()
    c.optim.ema = 1.0
    with pytest.raises(ConfigError, match="optim.ema"):
        base.learning_settings(c)
    c = config_lib.base_config()
    c.data.rotate_axis = 3
    with pytest.raises(ConfigError, match="data.rotate_axis"):
        base.learning_settings(c)
    c = config_lib.base_config()
    c.data.shift = -1
    with pytest.raises(ConfigError, match="data.shift"):
        base.learning_settings(c)
    c = config_lib.base_config()
    c.data.noise = -0.1
    with pytest.raises(ConfigError, match="data.noise"):
        base.learning_settings(c)
    c = config_lib.base_config()
    c.sampler.reinit = 1.5
    with pytest.raises(ConfigError, match="sampler.reinit"):
        base.sampler_settings(c.sampler)


def test_chains_started_from_a_basis_have_its_covariance():
    m = model()
    m = dataclasses.replace(m, sampler=m.sampler._replace(init_std=0.0))
    rng = np.random.default_rng(1)
    basis = jnp.asarray(rng.normal(size=(2, 8, 8, 8)), jnp.float32)
    y = np.asarray(m.initial_chains(jax.random.PRNGKey(0), 4000, basis)).reshape(4000, -1)
    flat = np.asarray(basis).reshape(2, -1)
    coef, *_ = np.linalg.lstsq(flat.T, y.T, rcond=None)  # y = z @ basis exactly
    np.testing.assert_allclose(coef.T @ flat, y, atol=1e-3)
    np.testing.assert_allclose(np.cov(coef), np.eye(2), atol=0.08)  # z ~ N(0, I)
    plain = m.initial_chains(jax.random.PRNGKey(0), 3)
    noisy = dataclasses.replace(m, sampler=m.sampler._replace(init_std=1.0))
    # the noise part draws exactly what a start without a basis draws
    np.testing.assert_array_equal(
        noisy.initial_chains(jax.random.PRNGKey(0), 3, 0 * basis),
        noisy.initial_chains(jax.random.PRNGKey(0), 3),
    )
    assert not np.any(plain)


def test_bad_init_components_are_config_errors():
    from gvoxel import variants

    info = base.DataInfo(8, 16, 4)
    for bad in (-1, 17):
        c = config_lib.base_config("synthesis")
        c.sampler.init_components = bad
        with pytest.raises(ConfigError, match="sampler.init_components"):
            variants.get(c, info)
    c = config_lib.base_config("recovery")
    c.sampler.init_components = 4
    with pytest.raises(ConfigError, match="synthesis"):
        variants.get(c, info)
