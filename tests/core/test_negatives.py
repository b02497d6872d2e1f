"""Negative examples: real shapes with stray voxels and holes, and their place in eq. (7)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gvoxel import variants
from gvoxel.core import ebm, negatives
from gvoxel.core.nets import Descriptor
from gvoxel.errors import ConfigError
from gvoxel.experiment import config as config_lib
from gvoxel.variants import base
from tests import helpers


def shapes(n=4, r=16):
    """Boxes of different sizes: binary, away from the grid's border."""
    x = np.zeros((n, r, r, r), np.float32)
    for i in range(n):
        x[i, 4 : 8 + i, 5:11, 4 : 6 + i] = 1.0
    return jnp.asarray(x)


def test_speckle_flips_about_rate_of_the_shape_and_only_near_it():
    x = shapes()
    near = np.asarray(negatives.dilate(x > 0.5, 2))
    n, flips = float(np.sum(x)), []
    for seed in range(8):
        out = np.asarray(negatives.speckle(jax.random.PRNGKey(seed), x, 0.2))
        assert set(np.unique(out)) <= {0.0, 1.0}
        turned_on, turned_off = out > np.asarray(x), out < np.asarray(x)
        assert not (turned_on & ~near).any()  # strays only within two voxels of the shape
        assert not (turned_off & (np.asarray(x) < 0.5)).any()
        flips.append((turned_off.sum() / n, turned_on.sum() / n))
    off, on = np.mean(flips, axis=0)
    assert 0.07 < off < 0.13 and 0.07 < on < 0.13  # each about rate/2 of the shape's voxels
    again = negatives.speckle(jax.random.PRNGKey(7), x, 0.2)
    np.testing.assert_array_equal(out, again)  # a function of the key


def test_cut_empties_one_grid_plane_through_each_shape():
    x = np.asarray(shapes())
    for seed in range(4):
        out = np.asarray(negatives.cut(jax.random.PRNGKey(seed), jnp.asarray(x)))
        for before, after in zip(x, out):
            removed = before > after
            assert removed.any() and not (after > before).any()
            # all removed voxels lie in one plane normal to one axis, and that plane is empty
            planes = [np.unique(np.nonzero(removed)[a]) for a in range(3)]
            axis = next(a for a in range(3) if len(planes[a]) == 1)
            at = planes[axis][0]
            assert not np.take(after, at, axis=axis).any()
            np.testing.assert_array_equal(np.delete(after, at, axis), np.delete(before, at, axis))


def test_dilate_is_the_chebyshev_ball():
    x = np.zeros((1, 9, 9, 9), bool)
    x[0, 4, 4, 4] = True
    ball = np.asarray(negatives.dilate(jnp.asarray(x), 2))
    expected = np.zeros_like(x)
    expected[0, 2:7, 2:7, 2:7] = True
    np.testing.assert_array_equal(ball, expected)


def model(weight):
    sampler = ebm.SamplerSettings(3, 0.1, 1.0, -1, False, True, 1.0, 0.5, 0, 0.0, 0)
    net = Descriptor(layers=((4, 3, 2),), init_std=0.0)
    learning = ebm.LearningSettings(negatives=weight)
    return ebm.EnergyModel(net, sampler, optax.adam(0.01), 8, learning)


def test_negatives_take_their_share_of_the_synthesized_weight():
    k = jax.random.split(jax.random.PRNGKey(1), 3)
    obs, syn, neg = (jax.random.normal(key, (4, 8, 8, 8)) for key in k)
    m = model(0.3)
    params = m.init(jax.random.PRNGKey(2))["params"]
    grad = jax.grad(lambda p: m.loss(p, obs, syn, negative=neg)[0])(params)

    def expected(p):
        f = lambda y: jnp.mean(m.descriptor_fn(p, y))  # noqa: E731
        return 0.7 * f(syn) + 0.3 * f(neg) - f(obs)

    for a, b in zip(jax.tree.leaves(grad), jax.tree.leaves(jax.grad(expected)(params))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    _, _, metrics = m.mode_shifting(m.init(jax.random.PRNGKey(2)), obs, syn, negative=neg)
    assert "f_neg" in metrics


def test_negative_examples_are_speckled_observed_shapes_in_the_descriptor_domain():
    x = shapes(r=8)
    mean = jnp.mean(x, axis=0)
    rng = jax.random.PRNGKey(3)
    assert model(0.0).negative_examples(rng, x - mean, mean) is None
    neg = model(0.5).negative_examples(rng, x - mean, mean)
    k_speckle, k_cut = jax.random.split(rng)
    expected = negatives.cut(k_cut, negatives.speckle(k_speckle, x, 0.05))
    np.testing.assert_allclose(neg + mean, expected, atol=1e-6)


def test_decoded_negatives_are_the_synthesized_examples_thresholded_at_one_half():
    x = jnp.asarray([0.0, 0.2, 0.5, 0.50001, 0.9, 1.3, -0.4]).reshape(1, 7, 1, 1)
    np.testing.assert_array_equal(negatives.decoded(x).ravel(), [0, 0, 0, 1, 1, 1, 0])
    syn = jax.random.uniform(jax.random.PRNGKey(4), (3, 8, 8, 8))
    mean = jnp.full((8, 8, 8), 0.1).at[0].set(0.4)  # per voxel, as data.mean="voxel"
    m = ebm.EnergyModel(
        model(0.5).descriptor, model(0.5).sampler, optax.adam(0.01), 8,
        ebm.LearningSettings(negatives=0.5, negative_kind="decoded"),
    )  # fmt: skip
    neg = m.negative_examples(jax.random.PRNGKey(3), syn - mean, mean, syn - mean)
    # the decoding happens on occupancies (mean added back), not on the descriptor's domain
    np.testing.assert_array_equal(neg + mean, (syn > 0.5).astype(jnp.float32))
    with pytest.raises(ValueError, match="synthesized"):
        m.negative_examples(jax.random.PRNGKey(3), syn - mean, mean)


def test_decoded_is_a_negative_kind_and_a_typo_is_a_config_error():
    c = config_lib.load(
        "configs/cooperative.py:smoke", **{"optim.negatives": 0.5, "optim.negative_kind": "decoded"}
    )
    assert base.learning_settings(c).negative_kind == "decoded"
    c.optim.negative_kind = "decode"
    with pytest.raises(ConfigError, match="optim.negative_kind"):
        base.learning_settings(c)


@pytest.mark.parametrize("key,value", [("negatives", 1.0), ("negatives", -0.1),
                                       ("negative_rate", 0.0)])  # fmt: skip
def test_bad_negative_settings_are_config_errors(key, value):
    c = config_lib.load("configs/synthesis.py:smoke", **{f"optim.{key}": value})
    with pytest.raises(ConfigError, match=f"optim.{key}"):
        base.learning_settings(c)


def test_negatives_on_a_variant_that_does_not_use_them_is_a_config_error():
    c = config_lib.load("configs/recovery.py:smoke", **{"optim.negatives": 0.2})
    with pytest.raises(ConfigError, match="optim.negatives is used by"):
        variants.get(c, helpers.data_info(c))
    c = config_lib.load("configs/cooperative.py:smoke", **{"optim.negatives": 0.2})
    assert variants.get(c, helpers.data_info(c)).model.learning.negatives == 0.2
