"""The descriptor f(Y; θ): feature maps, presets, heads and activations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel.core import nets
from gvoxel.errors import ConfigError


def test_descriptor_exposes_feature_maps_and_presets():
    net = nets.Descriptor(layers=nets.NET_PRESETS["synthesis"])
    shapes = jax.eval_shape(
        lambda: net.init_with_output(
            jax.random.PRNGKey(0), jnp.zeros((2, 32, 32, 32)), features=True
        )[0]
    )
    f, maps = shapes
    assert f.shape == (2,)
    assert [m.shape for m in maps] == [(2, 11, 11, 11, 200), (2, 6, 6, 6, 100)]
    coop = nets.Descriptor(layers=nets.NET_PRESETS["cooperative"])
    f, maps = jax.eval_shape(
        lambda: coop.init_with_output(
            jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 32)), features=True
        )[0]
    )
    assert [m.shape[1:] for m in maps] == [(16, 16, 16, 64), (8, 8, 8, 128), (4, 4, 4, 256)]


def test_sum_head_is_a_sum_of_local_terms_with_one_weight_per_channel():
    net = nets.Descriptor(layers=((3, 3, 2),), init_std=0.1, head="sum")
    y = jax.random.uniform(jax.random.PRNGKey(1), (2, 8, 8, 8))
    (f, maps), variables = net.init_with_output(jax.random.PRNGKey(0), y, features=True)
    p = variables["params"]
    assert p["fc_kernel"].shape == (3, 1)  # not (4·4·4·3, 1): no position-specific weights
    expected = jnp.sum(maps[-1], axis=(1, 2, 3)) @ p["fc_kernel"][:, 0] + p["fc_bias"][0]
    np.testing.assert_allclose(f, expected, rtol=1e-5)
    # a shape moved by the net's stride, away from the borders, has the same f
    z = jnp.zeros((1, 16, 16, 16)).at[0, 4:8, 5:9, 4:7].set(1.0)
    f0 = net.apply(variables, z)
    f1 = net.apply(variables, jnp.roll(z, 2, axis=1))
    np.testing.assert_allclose(f0, f1, rtol=1e-5)
    bad = nets.Descriptor(layers=((3, 3, 2),), head="mean")
    with pytest.raises(ConfigError, match="model.head"):
        bad.init(jax.random.PRNGKey(0), y)


def test_local_term_is_a_summed_stride_one_conv_blind_to_one_voxel_moves():
    y = jnp.zeros((2, 16, 16, 16)).at[0, 4:9, 5:8, 6:7].set(1.0).at[1, 10, 3, 3].set(1.0)
    net = nets.Descriptor(layers=((4, 4, 2),), init_std=0.1, local=(3, 3))
    variables = net.init(jax.random.PRNGKey(0), y)
    p = variables["params"]
    trunk = nets.Descriptor(layers=((4, 4, 2),), init_std=0.1)
    trunk_params = {k: v for k, v in p.items() if not k.startswith("local_")}
    term = net.apply(variables, y) - trunk.apply({"params": trunk_params}, y)
    pre = jax.lax.conv_general_dilated(
        y[..., None], p["local_kernel"], (1, 1, 1), "SAME",
        dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
    ) + p["local_bias"]
    expected = jnp.sum(jax.nn.relu(pre), axis=(1, 2, 3)) @ p["local_head"][:, 0]
    np.testing.assert_allclose(term, expected, rtol=1e-4, atol=1e-3)
    # unlike the strided trunk, the local term does not see a one-voxel move
    local = lambda v: net.apply({"params": p}, v) - trunk.apply({"params": trunk_params}, v)  # noqa: E731
    np.testing.assert_allclose(local(y), local(jnp.roll(y, 1, axis=2)), rtol=1e-4, atol=1e-3)


def test_smooth_activations_give_a_lipschitz_energy_gradient():
    y = jax.random.normal(jax.random.PRNGKey(1), (2, 8, 8, 8))
    d = jax.random.normal(jax.random.PRNGKey(2), y.shape)

    def grad_change(activation, eps):
        net = nets.Descriptor(
            layers=((4, 3, 2), (3, 2, 1)), init_std=0.3, activation=activation, conv_impl="xla"
        )
        p = net.init(jax.random.PRNGKey(0), y)["params"]
        g = jax.jit(jax.grad(lambda v: net.apply({"params": p}, v).sum()))
        return float(jnp.linalg.norm(g(y + eps * d) - g(y)))

    for act in ("swish", "softplus"):
        # the change shrinks in proportion to the step: no kinks
        ratio = grad_change(act, 1e-2) / grad_change(act, 1e-3)
        assert 8 < ratio < 12, (act, ratio)
    with pytest.raises(ConfigError, match="model.activation"):
        nets.Descriptor(layers=((3, 3, 2),), activation="tanhh").init(jax.random.PRNGKey(0), y)


def test_pooled_layers_parse_and_average_blocks():
    assert nets.resolve_layers("16@3/1p2,32@3/2") == ((16, 3, 1, 2), (32, 3, 2))
    assert nets.resolve_layers([(8, 3, 1, 1)]) == ((8, 3, 1),)  # pool 1 is no pool
    with pytest.raises(ConfigError, match="filters@kernel/stride"):
        nets.resolve_layers("16@3/1px")
    h = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 4, 3))
    want = h.reshape(2, 2, 2, 2, 2, 2, 2, 3).mean(axis=(2, 4, 6))
    np.testing.assert_allclose(nets.avg_pool(h, 2), want, rtol=1e-6)
    with pytest.raises(ConfigError, match="divisible"):
        nets.avg_pool(h, 3)
    net = nets.Descriptor(layers=nets.resolve_layers("4@3/1p2,4@3/1p2"), init_std=0.0)
    y = jnp.zeros((2, 8, 8, 8))
    f, maps = net.apply(net.init(jax.random.PRNGKey(1), y), y, features=True)
    assert f.shape == (2,) and [m.shape[1] for m in maps] == [4, 2]


def test_input_blur_removes_period_two_patterns_and_nothing_smooth():
    idx = np.indices((8, 8, 8))
    inner = (slice(None), slice(1, -1), slice(1, -1), slice(1, -1), slice(None))
    for pattern in ((-1.0) ** idx[0], (-1.0) ** idx.sum(0)):  # slabs; checkerboard
        out = nets.blur(jnp.asarray(pattern)[None, ..., None])
        np.testing.assert_allclose(out[inner], 0.0, atol=1e-6)
    ones = nets.blur(jnp.ones((1, 8, 8, 8, 1)))
    np.testing.assert_allclose(ones[inner], 1.0, rtol=1e-6)
    # the option is the plain net applied to the blurred Y
    layers = nets.resolve_layers("tiny")
    y = jax.random.uniform(jax.random.PRNGKey(2), (2, 16, 16, 16))
    plain = nets.Descriptor(layers=layers, init_std=0.0)
    blurred = nets.Descriptor(layers=layers, init_std=0.0, input_blur=1)
    params = jax.jit(plain.init)(jax.random.PRNGKey(3), y)
    np.testing.assert_allclose(
        jax.jit(blurred.apply)(params, y),
        jax.jit(plain.apply)(params, nets.blur(y[..., None])[..., 0]),
        rtol=1e-5,
    )


def test_levels_share_the_trunk_and_modulate_it_per_level():
    """f(Y, t): every level starts as the same function (gains and biases 0, one head per
    level drawn alike in distribution); a level's own gain changes its f only."""
    net = nets.Descriptor(layers=((4, 4, 2), (4, 3, 2)), init_std=0.0, levels=3, head="sum")
    y = jax.random.normal(jax.random.PRNGKey(1), (3, 8, 8, 8))
    level = jnp.array([0, 1, 2])
    params = net.init(jax.random.PRNGKey(0), y, level=level)["params"]
    assert params["fc_kernel"].shape == (4, 3) and params["conv0_level_gain"].shape == (3, 4)
    same = dict(params, fc_kernel=jnp.tile(params["fc_kernel"][:, :1], (1, 3)))
    f = net.apply({"params": same}, y[:1].repeat(3, 0), level=level)
    np.testing.assert_allclose(f, f[0], rtol=1e-6)
    gain = same["conv0_level_gain"].at[2].set(0.5)
    g = net.apply({"params": dict(same, conv0_level_gain=gain)}, y[:1].repeat(3, 0), level=level)
    np.testing.assert_allclose(g[:2], f[:2], rtol=1e-6)
    assert abs(float(g[2] - f[2])) > 1e-3
    with pytest.raises(ConfigError, match="level"):
        net.apply({"params": params}, y)


def test_spectral_normalize_caps_the_largest_singular_value():
    """Exact against an SVD, also for a nearly degenerate top pair (where a few power
    iterations would not have converged), for tall and wide matrices; below the cap, w."""
    rng = np.random.default_rng(0)
    for shape in ((4, 4, 4, 3, 8), (512, 1), (2, 16)):
        w = rng.normal(size=shape).astype(np.float32)
        top = np.linalg.svd(w.reshape(-1, shape[-1]), compute_uv=False)[0]
        for bound in (0.5, 0.9 * top):
            m = np.asarray(nets.spectral_normalize(jnp.asarray(w), bound)).reshape(-1, shape[-1])
            np.testing.assert_allclose(np.linalg.svd(m, compute_uv=False)[0], bound, rtol=1e-4)
        np.testing.assert_array_equal(nets.spectral_normalize(jnp.asarray(w), 1.01 * top), w)
    u, _, vt = np.linalg.svd(rng.normal(size=(64, 16)), full_matrices=False)
    close = (u * np.r_[1.0, 0.999, np.linspace(0.5, 0.1, 14)]) @ vt
    m = np.asarray(nets.spectral_normalize(jnp.asarray(close, jnp.float32), 0.5))
    np.testing.assert_allclose(np.linalg.svd(m, compute_uv=False)[0], 0.5, rtol=1e-4)


def test_spectral_norm_makes_f_blind_to_the_weights_scale_and_bounds_its_gradient():
    layers = ((4, 4, 2), (6, 3, 2))
    y = jax.random.normal(jax.random.PRNGKey(0), (2, 16, 16, 16))
    net = nets.Descriptor(layers=layers, init_std=0.0, spectral_norm=1.0)
    plain = nets.Descriptor(layers=layers, init_std=0.0)
    params = jax.jit(net.init)(jax.random.PRNGKey(1), y)["params"]
    big, bigger = (
        {k: v * a if "kernel" in k else v for k, v in params.items()} for a in (1e2, 1e3)
    )
    f, f_plain = (jax.jit(lambda p, m=m: m.apply({"params": p}, y)) for m in (net, plain))
    # every layer over the cap: f no longer depends on the weights' scale
    np.testing.assert_allclose(f(bigger), f(big), rtol=1e-4)
    assert not np.allclose(f_plain(bigger), f_plain(big))
    # Lipschitz bound: a conv's norm as an operator is at most √(patches holding a voxel),
    # ⌈k/s⌉³, times its matrix norm (1 here); ReLU is 1-Lipschitz, the head's norm is 1
    bound = np.sqrt(2**3) * np.sqrt(2**3)
    grad = jax.jit(jax.vmap(jax.grad(lambda x: net.apply({"params": big}, x[None])[0])))(y)
    assert float(jnp.max(jnp.linalg.norm(grad.reshape(2, -1), axis=1))) <= bound
    with pytest.raises(ConfigError, match="spectral_norm"):
        nets.Descriptor(layers=layers, spectral_norm=-1.0).init(jax.random.PRNGKey(1), y)


def test_binary_input_judges_the_decoded_shape_with_its_gradient_passed_straight_through():
    net = nets.Descriptor(layers=((4, 3, 2),), init_std=0.0, binary_input=True)
    plain = nets.Descriptor(layers=((4, 3, 2),), init_std=0.0)
    y = jax.random.uniform(jax.random.PRNGKey(0), (2, 8, 8, 8), minval=-0.2, maxval=1.2)
    decoded = (y > 0.5).astype(jnp.float32)
    params = net.init(jax.random.PRNGKey(1), y)
    np.testing.assert_allclose(net.apply(params, y), plain.apply(params, decoded), rtol=1e-6)
    grad = jax.grad(lambda x: jnp.sum(net.apply(params, x)))(y)
    want = jax.grad(lambda x: jnp.sum(plain.apply(params, x)))(decoded)
    np.testing.assert_allclose(grad, want, rtol=1e-6, atol=1e-8)
    # moving a voxel without crossing 0.5 changes nothing f sees
    nudged = y + 0.01 * jnp.sign(y - 0.5) * (jnp.abs(y - 0.5) > 0.02)
    np.testing.assert_array_equal(net.apply(params, nudged), net.apply(params, y))

