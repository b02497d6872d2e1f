"""3D convolution used by every descriptor net (channels-last, TensorFlow SAME padding).

`conv3d` is the one entry point: the nets never call `lax.conv_general_dilated` directly,
so the implementation (and its input-gradient) can be swapped per layer shape here without
touching the nets, the sampler or the training loop.

Why not just XLA: on CPU, XLA differentiates a strided conv w.r.t. its input as a conv over the
zero-dilated output-gradient (s^3 x wasted MACs, and often a slow layout), which makes the
Langevin sampler (forward + grad-to-input, K times per iteration) several times slower than
PyTorch's direct convolution (docs/performance.md). The alternatives below are exact
reformulations built from differentiable ops, so every gradient (input and kernel) comes from
JAX's autodiff and is the exact adjoint:

* "s2d": polyphase / space-to-depth. With j = s*q + r (r the phase), a stride-s conv equals a
  stride-1 VALID conv of the s^3 phases of the padded input (s^3*Cin channels) with the
  zero-padded sub-kernels (ceil(k/s)^3 taps). Its transpose is a stride-1 conv: no dilation.
* "fft": the same polyphase stride-1 conv done with real FFTs of size M, the smallest circle on
  which no wrap reaches a kept output (SAME's zeros make it shorter than out + ceil(k/s) - 1:
  7 instead of 8 for the paper net's layer 2, ~40% fewer frequencies); per frequency a
  (N x s^3*Cin) @ (s^3*Cin x Cout) complex matmul, written as one real batched matmul with
  frequency as the batch dim.
  Several times fewer FLOPs than direct for big kernels (16^3/3: ~20x). Where the kernel
  spectra outweigh the chains (64^3, few chains) the grid is cut into overlapping tiles
  (overlap-save, `fft_tiles`): smaller spectra, more rows per frequency. That matmul has a
  custom VJP only to read a pre-transposed copy of the kernel spectra in the input-gradient
  (XLA's CPU matmul is slower with a transposed operand); the gradients are the exact
  adjoints all the same (first order only: no forward-mode or second derivatives).
  Under a context mesh each device convolves only its own rows (`_per_device`).
* "dft": the "fft" path with each 3-D DFT done as one matmul by a constant DFT matrix, for
  small grids (M^3 of a few hundred): more FLOPs than FFTs, but one multithreaded GEMM in the
  layout the frequency matmul wants instead of single-threaded FFTs plus transposes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import PartitionSpec

from gvoxel.errors import ConfigError

# the device-mesh axis that splits chains and batches (gvoxel.experiment.sharding)
DATA = "data"

IMPLS = ("xla", "s2d", "fft", "dft")


def same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow SAME padding (before, after) for one axis; can be asymmetric."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def fft_gain(n: int, k: int, stride: int, cin: int = 1) -> float:
    """Dense direct MACs / polyphase-FFT contraction MACs (real), per Cin*Cout channel pair.

    Direct: out^3 k^3. FFT: s^3 phases x M^2 (M//2+1) frequencies x 4 real MACs per complex MAC
    (M as `_fft` picks it for `cin` input channels). The FFTs themselves scale with Cin + Cout
    only and are ignored.
    """
    out, _, m, _, _ = _geometry(n, k, stride, smooth=cin == 1, circular=True)
    return (out * k) ** 3 / (4 * stride**3 * m * m * (m // 2 + 1))


def choose_impl(n: int, cin: int, cout: int, k: int, stride: int, backend: str) -> str:
    """Pick the implementation for one layer shape (rule from benchmarks/conv_layers.py runs;
    the numbers are in docs/performance.md).

    * Not CPU: "xla" (cuDNN etc. differentiate strided convs fine; FFT gains nothing there).
    * CPU, stride 1, or k <= stride (no overlapping taps): "xla" (no dilation problem). A
      stride-1 layer with k > 1 can run faster on "fft" (`model.conv_impl=fft`; see
      docs/performance.md); the rule is not changed for it, as it would change the numerics
      of shipped nets with such layers.
    * CPU, strided, k > stride: a spectral path. "fft" beat "xla" on the big-kernel layers,
      by more where `fft_gain` is larger; small layers were as fast either way alone, but a
      net mixing "xla" and "fft" layers in one Langevin scan ran many times slower than
      all-"fft". Since one layer's choice cannot see the others, every strided CPU layer
      with k > stride takes "fft" or "dft" (these two mix well).
    * Among the spectral ones, "dft" (each 3-D DFT one dense matmul) where its DFT matrix is
      small (`DENSE_DFT_MACS`: the paper net's layer 2, the coop net's layer 3), else "fft".
    * "s2d" (polyphase stride-1 XLA conv) was never the fastest on CPU; kept as an option.
    Channels do not enter the rule: FFT and direct costs both scale with Cin*Cout.
    """
    del cin, cout
    if backend != "cpu" or stride == 1 or k <= stride:
        return "xla"
    geo = _geometry(n, k, stride, circular=True)
    return "dft" if _dense_dft_macs((n,) * 3, [geo] * 3, stride) <= DENSE_DFT_MACS else "fft"


def fft_size(m: int) -> int:
    """The smallest 2^a 3^b 5^c 7^d >= m. Any size >= the circular M gives the same outputs,
    and XLA's CPU FFT is several times slower on primes (13, 19 occur in the nets' shapes);
    7 is not (a factor 7 beat rounding up to 15 or 16: docs/performance.md)."""
    while True:
        r = m
        for p in (2, 3, 5, 7):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


def _xla(x, kernel, stride):
    return lax.conv_general_dilated(
        x,
        kernel,
        window_strides=(stride,) * 3,
        padding="SAME",
        dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
    )


def _geometry(n: int, k: int, s: int, smooth: bool = False, tiles: int = 1, circular=False):
    """Per axis: (out, kq, M, before, after) of the polyphase split of the SAME-padded input.

    `circular`: M for a circular (FFT) conv, which can be shorter than the VALID one.
    With `tiles` T > 1 the phases are padded to T*t + kq - 1 entries (t from `_tile`, at least
    ceil(out / T)), so T overlapping windows of t + kq - 1 cover every output (overlap-save).

    `smooth` rounds M up to a 2^a 3^b 5^c 7^d FFT size: worth it only where the FFTs dominate (a
    1-channel input); where the channel matmul dominates, the larger spectrum costs more
    (docs/performance.md)."""
    out = -(-n // s)
    before, _ = same_pads(n, k, s)
    kq = -(-k // s)
    m = out + kq - 1  # a VALID stride-1 conv of M entries has exactly `out` outputs
    if circular and tiles == 1:
        # SAME's padding is zeros: each phase's data lies in [lo, hi], so a circular conv of
        # size M keeps every output exact once M > hi (nothing wraps onto the start) and
        # M > out + kq - 2 - lo (the last outputs' taps wrap only into the leading zeros).
        lo, hi = _data_range(n, s, before)
        m = max(hi + 1, out + kq - 1 - lo)
    if tiles > 1:
        m = tiles * _tile(out, kq, tiles, smooth) + kq - 1
    elif smooth:
        m = fft_size(m)  # outputs beyond `out` are cut off after the inverse FFT
    # pad to exactly s*M so that every phase has M entries; the extra zeros (beyond SAME's
    # `after`) only reach the kept outputs through the zero taps appended to the kernel
    after = s * m - n - before
    return out, kq, m, before, after


def _phases(x, s, geo):
    """(N, D, H, W, C) -> (N, M1, M2, M3, s, s, s, C): the s^3 polyphase components."""
    nb, c = x.shape[0], x.shape[-1]
    x = jnp.pad(x, [(0, 0)] + [(g[3], g[4]) for g in geo] + [(0, 0)])
    (_, _, m1, _, _), (_, _, m2, _, _), (_, _, m3, _, _) = geo
    x = x.reshape(nb, m1, s, m2, s, m3, s, c)
    return x, (m1, m2, m3)


def _sub_kernels(kernel, s, kq):
    """(k, k, k, Cin, Cout) -> (kq, kq, kq, s^3 Cin, Cout), zero taps appended; channels
    ordered (r1, r2, r3, c) like the phases'."""
    k, _, _, cin, cout = kernel.shape
    p = s * kq - k
    w = jnp.pad(kernel, [(0, p)] * 3 + [(0, 0), (0, 0)])
    w = w.reshape(kq, s, kq, s, kq, s, cin, cout).transpose(0, 2, 4, 1, 3, 5, 6, 7)
    return w.reshape(kq, kq, kq, s**3 * cin, cout)


def _s2d(x, kernel, stride):
    s = stride
    k = kernel.shape[0]
    geo = [_geometry(n, k, s) for n in x.shape[1:4]]
    kq = geo[0][1]
    xp, (m1, m2, m3) = _phases(x, s, geo)
    nb, cin = x.shape[0], x.shape[-1]
    # channels ordered (r1, r2, r3, c) on both sides
    xp = xp.transpose(0, 1, 3, 5, 2, 4, 6, 7).reshape(nb, m1, m2, m3, s**3 * cin)
    return lax.conv_general_dilated(
        xp,
        _sub_kernels(kernel, s, kq),
        (1, 1, 1),
        "VALID",
        dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
    )


def _dft_real(kq: int, m: int, half: bool, complex_in: bool) -> np.ndarray:
    """Real form of the DFT matrix exp(-2 pi i q f / m), q < kq taps, f < m (m//2+1 if half).

    Real input: (kq, 2, F) mapping taps to (re, im). Complex input: (2, kq, 2, F), mapping
    (re, im) of the taps to (re, im) of the spectrum.
    """
    f = np.arange(m // 2 + 1 if half else m)
    ang = -2.0 * np.pi * np.outer(np.arange(kq), f) / m
    c, t = np.cos(ang), np.sin(ang)  # E = c + i t
    if not complex_in:
        return np.stack([c, t], axis=1).astype(np.float32)
    return np.stack([np.stack([c, t], 1), np.stack([-t, c], 1)], 0).astype(np.float32)


def _kernel_spectra(w, ms):
    """rfftn of (kq, kq, kq, K, C) sub-kernels zero-padded to ms, as real (F, K, 2, C) = re, im.

    A DFT by three tiny real matmuls instead of an FFT: the kernel has only kq^3 nonzero taps,
    and XLA's CPU FFT (or complex dot) of 10^5 small zero-padded cubes is several times slower.
    """
    kq = w.shape[0]
    r3 = _dft_real(kq, ms[2], True, False)
    r2 = _dft_real(kq, ms[1], False, True)
    r1 = _dft_real(kq, ms[0], False, True)
    w = jnp.einsum("xyzkc,zaw->xyawkc", w, r3)  # smallest expansion first
    w = jnp.einsum("xyawkc,aybv->xbvwkc", w, r2)
    w = jnp.einsum("xbvwkc,bxdu->uvwkdc", w, r1)
    return w.reshape(-1, *w.shape[3:])


def _hoistable(t, kernel):
    """`t` times a kernel-dependent 1. XLA does not hoist a lone loop-invariant transpose or
    concatenate out of the Langevin while loop (it re-ran every step); a multiply is hoisted."""
    return t * (1.0 + 0.0 * lax.stop_gradient(kernel[(0,) * kernel.ndim]))


def _sub_kernel_spectra(kernel, s, kq, ms):
    """Spectra of the zero-padded sub-kernels on the M grid: (F, s^3 Cin, 2, Cout) = re, im."""
    return _kernel_spectra(_sub_kernels(kernel, s, kq), ms)


def _spectral_matmul(a, b, kernel):
    """a @ b per frequency; b (from the kernel) and its transpose are hoisted out of the scan."""
    bt = _hoistable(b.transpose(0, 2, 1), kernel)
    return _batched_matmul(a, _hoistable(b, kernel), bt)


def _bmm(a, b):
    """(F, P, Q) @ (F, Q, R). Above 50 rows XLA's CPU batched dot ran much slower than a loop
    of plain matmuls, and with fewer rows slightly faster (docs/performance.md)."""
    if a.shape[1] > 50:
        return lax.map(lambda ab: ab[0] @ ab[1], (a, b))
    return lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,))))


def _varying(x) -> frozenset:
    """Mesh axes x varies over inside a shard_map (its type's manual axes; `vma` before).
    No silent default: without it the kernel gradient would miss its cross-device sum."""
    aval = jax.typeof(x)
    kind = getattr(aval, "manual_axis_type", None)
    return frozenset(kind.varying) if kind is not None else frozenset(aval.vma)


@jax.custom_vjp
def _batched_matmul(a, b, bt):
    """(F, P, Q) @ (F, Q, R) per frequency. `bt` is `b` transposed, (F, R, Q), materialised
    once: the input-gradient g @ b^T is slower on CPU with a transposed operand."""
    del bt
    return _bmm(a, b)


def _batched_matmul_fwd(a, b, bt):
    return _batched_matmul(a, b, bt), (a, bt)


def _batched_matmul_bwd(res, g):
    a, bt = res
    da = _bmm(g, bt)  # (F, P, Q)
    db = lax.dot_general(a, g, (((1,), (1,)), ((0,), (0,))))  # (F, Q, R)
    split = tuple(_varying(g) - _varying(bt))
    if split:  # rows split over devices (`_per_device`), kernel shared: sum its gradient
        db = lax.psum(db, split)
    return da, db, jnp.zeros_like(bt)


_batched_matmul.defvjp(_batched_matmul_fwd, _batched_matmul_bwd)


def _spectrum_cost(rows: int, m: int, kc: int, cout: int) -> float:
    """Seconds-like cost of one forward + input-gradient of the frequency-domain contraction
    for `rows` cubes of side m: FLOPs at ~100 GFLOP/s plus bytes at ~4 GB/s, a development
    CPU's per-core matmul rate and memory stream (docs/performance.md). Kernel spectra are read
    twice (forward, transposed copy); activation spectra pass ~6 times (FFTs, transposes,
    matmul operands, both directions)."""
    f = m * m * (m // 2 + 1)
    flops = 2 * 8.0 * rows * f * kc * cout
    kernel_bytes = 2 * 8.0 * f * kc * cout
    act_bytes = 6 * 8.0 * rows * f * (kc + cout)
    return flops / 1e11 + (kernel_bytes + act_bytes) / 4e9


def fft_tiles(
    out: int, kq: int, nb: int, kc: int, cout: int, smooth: bool, side: int | None = None
) -> int:
    """Tiles per axis T for the FFT path (1 = one FFT over the whole grid).

    One FFT of side M (~ out + kq - 1) needs kernel spectra of M^2 (M/2+1) x kc x cout, read for
    only N rows per frequency: at 64^3 with a few chains that read dominates (coop net layer
    2, batch 5: 1.9 GB per pass). Overlap-save tiles of side t + kq - 1 shrink the spectra by
    ~T^3 and give T^3 times the rows, at the price of FFTs over the overlaps; the cheapest T by
    `_spectrum_cost` wins. `side`: the one FFT's M when known (`_geometry(..., circular=True)`)."""
    best, best_cost = 1, None
    for tiles in range(1, 5):
        if tiles > 1 and -(-out // tiles) < kq:  # overlaps would exceed the tiles themselves
            break
        if tiles == 1:
            m = side or _geometry(out, kq, 1, smooth=smooth)[2]
        else:
            m = _tile(out, kq, tiles, smooth) + kq - 1
        cost = _spectrum_cost(nb * tiles**3, m, kc, cout)
        if best_cost is None or cost < 0.8 * best_cost:  # tile only for a clear saving
            best, best_cost = tiles, cost
    return best


def _tile(out: int, kq: int, tiles: int, smooth: bool) -> int:
    """Outputs per tile: at least ceil(out / tiles), grown so the window side t + kq - 1 is
    an FFT-friendly 2^a 3^b 5^c 7^d when `smooth`."""
    t = -(-out // tiles)
    return fft_size(t + kq - 1) - kq + 1 if smooth else t


def _windows(x, axis: int, t: int, length: int, tiles: int):
    """Overlapping windows x[i*t : i*t + length] along `axis`, stacked before it."""
    parts = [lax.slice_in_dim(x, i * t, i * t + length, axis=axis) for i in range(tiles)]
    return jnp.stack(parts, axis=axis)


def _per_device(fn, x, kernel):
    """`fn(x, kernel)` with x's rows split over the context mesh's `data` axis (`jax.set_mesh`),
    each device convolving its own rows with the shared kernel. Left to XLA's SPMD partitioner,
    every FFT's operand was all-gathered (each device transformed every chain) and the
    frequency matmuls were split by frequency with all-to-alls of the spectra between."""
    mesh = jax.sharding.get_abstract_mesh()
    if (
        mesh.empty
        or DATA not in mesh.axis_names
        or DATA in mesh.manual_axes  # already inside a per-device map
        or x.shape[0] % mesh.shape[DATA]
    ):
        return fn(x, kernel)
    rows, shared = PartitionSpec(DATA), PartitionSpec()
    return jax.shard_map(fn, in_specs=(rows, shared), out_specs=rows, axis_names={DATA})(x, kernel)


# Largest (2F) x L^3 real DFT matrix taken as a plain matmul instead of FFTs: in the Langevin
# scan dense DFTs won at 19K and 85K entries and lost at 590K and more (docs/performance.md).
DENSE_DFT_MACS = 200_000
MAX_DFT_ENTRIES = 20_000_000  # forcing "dft" on a big grid errs rather than build GBs of matrix


def _data_range(n: int, s: int, before: int) -> tuple[int, int]:
    """[lo, hi]: the phase indices q that hold data (s*q + r inside the unpadded input)."""
    return before // s, (before + n - 1) // s


def _freqs(ms):
    """Frequencies (F, 3) in the order of `_kernel_spectra`: f1, f2 full, f3 half (rfft)."""
    axes = [np.arange(ms[0]), np.arange(ms[1]), np.arange(ms[2] // 2 + 1)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)


def _points(ranges):
    return np.stack(np.meshgrid(*[np.arange(a, b) for a, b in ranges], indexing="ij"), -1)


def _dense_dft_macs(ns, geo, s: int) -> int:
    """Entries of the dense forward DFT matrix, (2F) x L^3 (= its real MACs per column)."""
    nf = len(_freqs([g[2] for g in geo]))
    points = np.prod([hi - lo + 1 for lo, hi in (_data_range(n, s, g[3]) for n, g in zip(ns, geo))])
    return 2 * nf * int(points)


def _dense_dft_conv(x, kernel, s, geo):
    """The FFT path's polyphase circular conv with each 3-D DFT as one matmul by a constant
    (2F, L^3) matrix over the phases' data points (and (out^3, 2F) back), for small M: one
    multithreaded GEMM per direction in the layouts the frequency matmul wants, no FFTs (one
    thread inside a scan) and no transposes of the spectra."""
    nb, cin, cout = x.shape[0], x.shape[-1], kernel.shape[-1]
    kq, kc = geo[0][1], s**3 * cin
    ms = tuple(g[2] for g in geo)
    outs = tuple(g[0] for g in geo)
    spans = [_data_range(n, s, g[3]) for n, g in zip(x.shape[1:4], geo)]
    f = _freqs(ms)  # (F, 3)
    inv_m = 1.0 / np.asarray(ms, np.float64)
    q = _points([(lo, hi + 1) for lo, hi in spans]).reshape(-1, 3)  # (L^3, 3)
    ang = -2.0 * np.pi * (f * inv_m) @ q.T  # (F, L^3)
    e = np.stack([np.cos(ang), np.sin(ang)], 1).reshape(2 * len(f), -1)  # rows (f, re/im)
    # the real inverse from the half spectrum: weight 2 for the f3 with a conjugate partner
    half = (f[:, 2] == 0) | ((ms[2] % 2 == 0) & (f[:, 2] == ms[2] // 2))
    c = np.where(half, 1.0, 2.0) / np.prod(ms)
    o = _points([(0, n) for n in outs]).reshape(-1, 3)
    ang = 2.0 * np.pi * o @ (f * inv_m).T  # (out^3, F)
    g = np.stack([np.cos(ang) * c, -np.sin(ang) * c], -1).reshape(len(o), -1)

    xp = jnp.pad(x, [(0, 0)] + [(gg[3], gg[4]) for gg in geo] + [(0, 0)])
    xp = xp.reshape(nb, ms[0], s, ms[1], s, ms[2], s, cin)
    for axis, (lo, hi) in zip((1, 3, 5), spans):
        xp = lax.slice_in_dim(xp, lo, hi + 1, axis=axis)
    xp = xp.transpose(1, 3, 5, 0, 2, 4, 6, 7).reshape(len(q), nb * kc)  # (L^3, N * K)
    nf = len(f)
    a = (jnp.asarray(e, x.dtype) @ xp).reshape(nf, 2 * nb, kc)  # stacked [Xr; Xi] per f
    b = _sub_kernel_spectra(kernel, s, kq, ms).reshape(nf, kc, 2 * cout)
    p = _spectral_matmul(a, b, kernel).reshape(nf, 2, nb, 2, cout)
    yr = p[:, 0, :, 0] + p[:, 1, :, 1]  # Y = X conj(W), as in `_fft`
    yi = p[:, 1, :, 0] - p[:, 0, :, 1]
    yf = jnp.stack([yr, yi], 1).reshape(2 * nf, nb * cout)
    y = (jnp.asarray(g, x.dtype) @ yf).reshape(*outs, nb, cout)
    return y.transpose(3, 0, 1, 2, 4)


def _fft(x, kernel, stride, tiles=None, rows=None):
    """`rows`: the global row count when x is one device's share (`_per_device`); tiles and the
    matmul form are chosen for it, so every device count computes the same sums."""
    s = stride
    k = kernel.shape[0]
    nb, cin = x.shape[0], x.shape[-1]
    cout = kernel.shape[-1]
    kc = s**3 * cin
    smooth = cin == 1
    if tiles is None:
        out, kq, m, _, _ = _geometry(max(x.shape[1:4]), k, s, smooth, circular=True)
        tiles = fft_tiles(out, kq, rows or nb, kc, cout, smooth, side=m)
    geo = [_geometry(n, k, s, smooth, tiles, circular=True) for n in x.shape[1:4]]
    kq = geo[0][1]
    outs = tuple(g[0] for g in geo)
    xp, ms = _phases(x, s, geo)
    # lax.fft transforms the trailing axes: go channels-first, (N, K, M1, M2, M3)
    xp = xp.transpose(0, 2, 4, 6, 7, 1, 3, 5).reshape(nb, kc, *ms)
    nb_full = nb
    if tiles > 1:
        # overlap-save: T^3 windows of side t + kq - 1 become rows of their own
        ts = tuple(_tile(o, kq, tiles, smooth) for o in outs)
        for i, t in enumerate(ts):
            xp = _windows(xp, 2 + 2 * i, t, t + kq - 1, tiles)
        xp = xp.transpose(0, 2, 4, 6, 1, 3, 5, 7)  # (N, T, T, T, K, L1, L2, L3)
        xp = xp.reshape(nb * tiles**3, kc, *xp.shape[-3:])
        full_outs, outs = outs, ts
        ms = tuple(t + kq - 1 for t in ts)
        nb = nb * tiles**3
    xf = jnp.fft.rfftn(xp, axes=(-3, -2, -1))  # (N, K, M1, M2, M3//2+1)
    fshape = xf.shape[2:]
    nf = fshape[0] * fshape[1] * fshape[2]
    xf = xf.reshape(nb, kc, nf).transpose(2, 0, 1)  # (F, N, K)

    w = _sub_kernel_spectra(kernel, s, kq, ms)  # (F, K, 2, Cout) = re, im
    # Correlation Y = X conj(W) as one real batched matmul, in whichever of two forms moves
    # fewer bytes: "block" [Xr | Xi] @ [[Wr, -Wi], [Wi, Wr]] = [Yr | Yi] doubles the weights
    # but gives Y directly; "stacked" [Xr; Xi] @ [Wr | Wi] then combines four blocks.
    if kc <= 2 * (rows or nb_full) * tiles**3:
        a = jnp.concatenate([xf.real, xf.imag], axis=2)  # (F, N, 2K)
        wr, wi = w[:, :, 0], w[:, :, 1]
        b = jnp.concatenate(
            [jnp.concatenate([wr, -wi], -1), jnp.concatenate([wi, wr], -1)], axis=1
        )  # (F, 2K, 2Cout)
        p = _spectral_matmul(a, b, kernel)  # (F, N, 2Cout)
        p = p.reshape(nf, nb, 2, cout).transpose(2, 1, 3, 0)  # (2, N, Cout, F): re, im
        yr, yi = p[0], p[1]
    else:
        a = jnp.concatenate([xf.real, xf.imag], axis=1)  # (F, 2N, K)
        p = _spectral_matmul(a, w.reshape(nf, kc, 2 * cout), kernel).reshape(nf, 2, nb, 2, cout)
        p = p.transpose(1, 3, 2, 4, 0)  # (2, 2, N, Cout, F): X re/im, W re/im
        yr = p[0, 0] + p[1, 1]
        yi = p[1, 0] - p[0, 1]
    # split along leading axes after one transpose: slicing the matmul's trailing axis cost a
    # pad-and-add pass in the gradient
    yf = lax.complex(yr, yi).reshape(nb, cout, *fshape)
    y = jnp.fft.irfftn(yf, s=ms, axes=(-3, -2, -1))  # (N, Cout, M1, M2, M3)
    y = y[:, :, : outs[0], : outs[1], : outs[2]]
    if tiles > 1:
        y = y.reshape(nb_full, tiles, tiles, tiles, cout, *outs)
        y = y.transpose(0, 1, 5, 2, 6, 3, 7, 4)  # (N, T, t1, T, t2, T, t3, Cout)
        y = y.reshape(nb_full, *(tiles * t for t in outs), cout)
        return y[:, : full_outs[0], : full_outs[1], : full_outs[2]]
    return y.transpose(0, 2, 3, 4, 1)


def conv3d(x: jax.Array, kernel: jax.Array, stride: int, impl: str = "auto") -> jax.Array:
    """SAME-padded strided 3D convolution.

    Args:
        x: (N, D, H, W, Cin).
        kernel: (k, k, k, Cin, Cout).
        stride: the same stride on every spatial axis.
        impl: "auto" (see `choose_impl`) or one of IMPLS.
    Returns:
        (N, ceil(D/s), ceil(H/s), ceil(W/s), Cout).
    """
    if impl not in ("auto",) + IMPLS:
        raise ConfigError(f"model.conv_impl must be 'auto' or one of {IMPLS}, got {impl!r}")
    kernel = kernel.astype(x.dtype)
    if impl == "auto":
        k, _, _, cin, cout = kernel.shape
        impl = choose_impl(x.shape[1], cin, cout, k, stride, jax.default_backend())
        if x.dtype != jnp.float32 and impl in ("fft", "dft"):
            impl = "xla"  # FFTs need float32; reduced precision is for accelerators anyway
    if impl == "xla":
        return _xla(x, kernel, stride)
    if impl == "s2d":
        return _s2d(x, kernel, stride)
    if impl == "dft":
        k = kernel.shape[0]
        geo = [_geometry(n, k, stride, circular=True) for n in x.shape[1:4]]
        if (size := _dense_dft_macs(x.shape[1:4], geo, stride)) > MAX_DFT_ENTRIES:
            raise ConfigError(
                f"model.conv_impl='dft' would need a {size:,}-entry DFT matrix for a "
                f"{x.shape[1:4]} input and {k}^3/{stride} kernel; use 'fft' or 'auto'"
            )
        return _per_device(lambda v, w: _dense_dft_conv(v, w, stride, geo), x, kernel)
    rows = x.shape[0]
    return _per_device(lambda v, w: _fft(v, w, stride, rows=rows), x, kernel)
