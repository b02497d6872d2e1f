"""conv3d implementations against lax.conv_general_dilated: values, input- and kernel-gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from gvoxel.core.conv import (
    DENSE_DFT_MACS,
    IMPLS,
    MAX_DFT_ENTRIES,
    _dense_dft_conv,
    _dense_dft_macs,
    _fft,
    _geometry,
    choose_impl,
    conv3d,
    fft_tiles,
    same_pads,
)
from gvoxel.errors import ConfigError

# (spatial shape, Cin, Cout, k, stride): every layer shape the nets use (channels reduced to
# keep the file fast), plus odd sizes, k < s, k = 1, stride 1, non-cubic inputs.
SHAPES = [
    ((32, 32, 32), 1, 6, 16, 3),  # paper 1 / recovery2 / mid presets
    ((11, 11, 11), 12, 5, 6, 2),  # paper 2 / mid 2
    ((32, 32, 32), 1, 4, 9, 2),  # coop 1
    ((16, 16, 16), 8, 6, 7, 2),  # coop 2
    ((8, 8, 8), 8, 6, 4, 2),  # coop 3
    ((32, 32, 32), 1, 4, 8, 2),  # small 1
    ((16, 16, 16), 4, 6, 4, 2),  # small 2
    ((64, 64, 64), 1, 3, 16, 3),  # 64^3 nets, multigrid 64
    ((22, 22, 22), 6, 4, 6, 2),  # 64^3 nets layer 2
    ((16, 16, 16), 1, 5, 8, 2),  # multigrid 16
    ((4, 4, 4), 1, 5, 4, 1),  # multigrid 4, stride 1
    ((13, 9, 10), 3, 4, 5, 2),  # odd, non-cubic, asymmetric SAME
    ((7, 8, 9), 2, 3, 3, 1),  # stride 1
    ((10, 11, 12), 2, 3, 2, 4),  # k < s
    ((9, 9, 9), 2, 3, 1, 3),  # k = 1
    ((5, 5, 5), 2, 3, 7, 2),  # kernel larger than the input
    ((12, 12, 12), 2, 2, 5, 5),  # k == s
]
IDS = [f"{s[0]}-{ci}-{co}-k{k}-s{st}" for s, ci, co, k, st in SHAPES]
# XLA's own gradients of the 64^3 reference are slow on CPU: run that one with -m slow
PARAMS = [
    pytest.param(c, id=i, marks=pytest.mark.slow) if c[0][0] == 64 else pytest.param(c, id=i)
    for c, i in zip(SHAPES, IDS)
]


def _ref(x, w, s):
    return lax.conv_general_dilated(
        x, w, (s,) * 3, "SAME", dimension_numbers=("NDHWC", "DHWIO", "NDHWC")
    )


def _rel(a, b):
    return float(jnp.linalg.norm(a - b) / (jnp.linalg.norm(b) + 1e-30))


def _data(shape, cin, cout, k, batch=1, seed=0):
    kx, kw = jax.random.split(jax.random.PRNGKey(seed))
    x = jax.random.normal(kx, (batch, *shape, cin))
    w = jax.random.normal(kw, (k, k, k, cin, cout))
    return x, w


@jax.jit(static_argnums=(2, 3))
def _all_impls(x, w, s, impls):
    """Values and VJPs of the reference and every impl, in one compile (keeps the file fast)."""
    out = []
    for conv in [_ref] + [lambda x, w, s, i=i: conv3d(x, w, s, i) for i in impls]:
        y, vjp = jax.vjp(lambda x, w, conv=conv: conv(x, w, s), x, w)
        g = jnp.cos(jnp.arange(y.size, dtype=y.dtype)).reshape(y.shape)  # fixed, non-constant
        out.append((y, *vjp(g)))
    return out


def _value_and_grads(conv, x, w):
    """conv(x, w) and its input and kernel gradients against a fixed cotangent, jitted (one
    compile rather than one per operation)."""

    def run(x, w):
        y, vjp = jax.vjp(conv, x, w)
        g = jnp.cos(jnp.arange(y.size, dtype=y.dtype)).reshape(y.shape)  # fixed, non-constant
        return (y, *vjp(g))

    return jax.jit(run)(x, w)


@pytest.mark.parametrize("case", PARAMS)
def test_matches_reference(case):
    shape, cin, cout, k, s = case
    x, w = _data(shape, cin, cout, k)
    impls = IMPLS[1:] + ("auto",)
    if _dense_dft_macs(shape, [_geometry(n, k, s, circular=True) for n in shape], s) > (
        MAX_DFT_ENTRIES
    ):  # "dft" refuses grids this big (test below)
        impls = tuple(i for i in impls if i != "dft")
    (y_ref, gx_ref, gw_ref), *ours = _all_impls(x, w, s, impls)
    assert y_ref.shape == (x.shape[0], *(-(-n // s) for n in shape), cout)
    for impl, (y, gx, gw) in zip(impls, ours):
        assert y.shape == y_ref.shape, impl
        assert _rel(y, y_ref) < 1e-5, impl
        assert _rel(gx, gx_ref) < 1e-5, impl
        assert _rel(gw, gw_ref) < 1e-5, impl


@pytest.mark.parametrize("impl", IMPLS)
def test_langevin_scan_and_weight_grad(impl):
    """Grad to the input inside a scan (the sampler), then grad w.r.t. the kernel at samples."""
    x, w = _data((11, 11, 11), 3, 4, 6)

    def energy(w, y, conv):
        return jnp.sum(jax.nn.relu(conv(y, w)) ** 2)

    def sample(w, y, conv):
        gy = jax.grad(lambda y: energy(w, y, conv))

        def step(y, _):
            return y + 1e-3 * gy(y), None

        return lax.scan(step, y, None, length=3)[0]

    def loss(w, conv):
        y = jax.lax.stop_gradient(sample(w, x, conv))
        return energy(w, y, conv)

    ours = lambda y, w: conv3d(y, w, 2, impl)  # noqa: E731
    ref = lambda y, w: _ref(y, w, 2)  # noqa: E731
    assert _rel(jax.jit(sample, static_argnums=2)(w, x, ours), sample(w, x, ref)) < 1e-5
    gw = jax.jit(jax.grad(loss), static_argnums=1)(w, ours)
    assert _rel(gw, jax.grad(loss)(w, ref)) < 1e-4


@pytest.mark.parametrize("impl", IMPLS)
def test_vmap(impl):
    x, w = _data((9, 9, 9), 2, 3, 4, batch=3)
    y = jax.vmap(lambda xi: conv3d(xi[None], w, 2, impl)[0])(x)
    assert _rel(y, _ref(x, w, 2)) < 1e-5


def test_same_pads_matches_tensorflow_rule():
    assert same_pads(32, 16, 3) == (7, 7)
    assert same_pads(11, 6, 2) == (2, 3)
    assert same_pads(32, 9, 2) == (3, 4)
    assert same_pads(10, 2, 4) == (0, 0)


def test_choose_impl():
    for _, cin, cout, k, s in SHAPES:
        assert choose_impl(32, cin, cout, k, s, "cpu") in IMPLS
        assert choose_impl(32, cin, cout, k, s, "gpu") == "xla"
        assert choose_impl(32, cin, cout, k, s, "tpu") == "xla"
    assert choose_impl(32, 1, 200, 16, 3, "cpu") == "fft"  # paper net layer 1
    assert choose_impl(11, 200, 100, 6, 2, "cpu") == "dft"  # layer 2: a 7^3 grid


def test_dft_refuses_big_grids():
    x, w = _data((64, 64, 64), 1, 1, 16)
    with pytest.raises(ConfigError, match="DFT matrix"):
        jax.eval_shape(lambda x, w: conv3d(x, w, 3, "dft"), x, w)


def test_unknown_impl():
    x, w = _data((4, 4, 4), 1, 1, 2)
    with pytest.raises(ConfigError, match="model.conv_impl"):
        conv3d(x, w, 1, "nope")


def test_dtype_follows_input():
    x, w = _data((8, 8, 8), 2, 3, 4)
    for impl in IMPLS:
        assert conv3d(x, w.astype(jnp.float16), 2, impl).dtype == jnp.float32
    assert np.isfinite(np.asarray(conv3d(x, w, 2, "fft"))).all()


@pytest.mark.parametrize("batch", [1, 14], ids=["stacked", "block"])
def test_both_spectral_matmul_forms(batch):
    """The FFT path's channel matmul takes the "block" form when s^3 Cin <= 2N (here 27 <= 28)
    and the "stacked" form otherwise; both give the reference values and gradients."""
    x, w = _data((12, 12, 12), 1, 3, 6, batch=batch)
    (y_ref, gx_ref, gw_ref), (y, gx, gw) = _all_impls(x, w, 3, ("fft",))
    assert _rel(y, y_ref) < 1e-5
    assert _rel(gx, gx_ref) < 1e-5
    assert _rel(gw, gw_ref) < 1e-5


@pytest.mark.parametrize(
    "case",
    [
        ((11, 11, 11), 12, 5, 6, 2),  # paper net layer 2
        ((8, 8, 8), 8, 6, 4, 2),  # coop layer 3
        ((13, 9, 10), 3, 4, 5, 2),  # odd, non-cubic, asymmetric SAME
        ((5, 5, 5), 2, 3, 7, 2),  # kernel larger than the input
    ],
    ids=["paper2", "coop3", "odd", "big-kernel"],
)
def test_dense_dft_and_fft_transforms(case):
    """The polyphase grid's DFT taken by FFTs or by one dense DFT matrix (small M): both give
    the reference values and both gradients."""
    shape, cin, cout, k, s = case
    x, w = _data(shape, cin, cout, k, batch=3)
    geo = [_geometry(n, k, s, circular=True) for n in shape]
    y_ref, *grads_ref = _value_and_grads(lambda x, w: _ref(x, w, s), x, w)
    for conv in (lambda x, w: _dense_dft_conv(x, w, s, geo), lambda x, w: _fft(x, w, s, tiles=1)):
        y, *grads = _value_and_grads(conv, x, w)
        assert y.shape == y_ref.shape
        assert _rel(y, y_ref) < 1e-5
        for grad, grad_ref in zip(grads, grads_ref, strict=True):  # input, kernel
            assert _rel(grad, grad_ref) < 1e-5


def test_dense_dft_rule():
    """Dense DFT matrices for the small grids (paper net layer 2, coop layer 3), FFTs for the
    big ones (every 1-channel first layer, the 16^3 -> 8^3 layers)."""

    def macs(n, k, s):
        return _dense_dft_macs((n,) * 3, [_geometry(n, k, s, circular=True)] * 3, s)

    assert macs(11, 6, 2) <= DENSE_DFT_MACS
    assert macs(8, 4, 2) <= DENSE_DFT_MACS
    for n, k, s in [(32, 16, 3), (32, 9, 2), (16, 7, 2), (16, 4, 2), (22, 6, 2)]:
        assert macs(n, k, s) > DENSE_DFT_MACS, (n, k, s)


@pytest.mark.parametrize(
    "case,tiles",
    [
        (((13, 9, 10), 3, 4, 5, 2), 2),  # odd, non-cubic: tiles of unequal sides per axis
        (((16, 16, 16), 4, 3, 7, 2), 2),  # coop 64^3 layer 2 shape, channels reduced
        (((16, 16, 16), 4, 3, 7, 2), 3),  # tiles that overhang the outputs
        (((12, 12, 12), 1, 3, 6, 3), 2),  # 1-channel input: windows grown to an FFT size
    ],
    ids=["odd", "coop64b", "overhang", "smooth"],
)
def test_overlap_save_tiles(case, tiles):
    """The tiled (overlap-save) FFT path gives the reference values and both gradients."""
    shape, cin, cout, k, s = case
    x, w = _data(shape, cin, cout, k, batch=2)
    y_ref, *grads_ref = _value_and_grads(lambda x, w: _ref(x, w, s), x, w)
    y, *grads = _value_and_grads(lambda x, w: _fft(x, w, s, tiles=tiles), x, w)
    assert y.shape == y_ref.shape
    assert _rel(y, y_ref) < 1e-5
    for grad, grad_ref in zip(grads, grads_ref, strict=True):  # input, kernel
        assert _rel(grad, grad_ref) < 1e-5


def test_fft_tiles_rule():
    """Tiles only where the kernel spectra outweigh the chains (64^3, few chains)."""

    def tiles(n, cin, cout, k, s, batch):
        out, kq = _geometry(n, k, s)[:2]
        return fft_tiles(out, kq, batch, s**3 * cin, cout, cin == 1)

    assert tiles(32, 64, 128, 7, 2, 5) == 2  # coop net at 64^3, layer 2, batch 5
    assert tiles(16, 128, 256, 4, 2, 5) == 2  # layer 3
    assert tiles(11, 200, 100, 6, 2, 25) == 1  # paper net at 32^3, layer 2, batch 25
    assert tiles(32, 1, 200, 16, 3, 25) == 1  # a 1-channel first layer


def test_many_row_spectral_matmul():
    """With >= 64 rows the frequency matmul runs as a loop of plain matmuls; same values."""
    x, w = _data((8, 8, 8), 2, 3, 4, batch=33)  # stacked form: 2N = 66 rows
    (y_ref, gx_ref, gw_ref), (y, gx, gw) = _all_impls(x, w, 2, ("fft",))
    assert _rel(y, y_ref) < 1e-5
    assert _rel(gx, gx_ref) < 1e-5
    assert _rel(gw, gw_ref) < 1e-5


@pytest.mark.skipif(jax.device_count() < 4, reason="needs 4 (simulated) devices")
@pytest.mark.parametrize("impl", ["fft", "dft"])
def test_fft_conv_splits_its_rows_over_the_mesh(impl):
    """Under the context mesh each device convolves only its own chains (XLA's partitioner
    all-gathered every FFT's operand and moved spectra between devices for the frequency
    matmuls), and values and gradients equal one device's."""
    from jax.sharding import NamedSharding, PartitionSpec

    from gvoxel.core import conv
    from gvoxel.experiment import sharding

    kx, kw = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(kx, (8, 12, 12, 12, 2))
    w = 0.1 * jax.random.normal(kw, (4, 4, 4, 2, 3))

    def loss(x, w):
        return jnp.sum(jnp.tanh(conv.conv3d(x, w, 2, impl=impl)))

    grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    want = grad(x, w)
    mesh = sharding.make_mesh(4)
    xs = jax.device_put(x, NamedSharding(mesh, PartitionSpec(sharding.DATA)))
    with jax.set_mesh(mesh):
        got = grad(xs, w)
        hlo = grad.lower(xs, w).compile().as_text()
    assert (" fft(" in hlo) == (impl == "fft")
    for moved in ("all-gather", "all-to-all", "collective-permute"):  # only the kernel's psum
        assert moved not in hlo, moved
    assert len(got[1][0].sharding.device_set) == 4
    jax.tree.map(  # the same tree, every leaf close
        lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=5e-5),
        want,
        got,
    )
