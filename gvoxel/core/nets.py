"""Descriptor (energy) network f(Y; θ): a bottom-up 3D ConvNet to one scalar per example."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gvoxel.core import conv, draws
from gvoxel.errors import ConfigError

# (filters, kernel, stride[, pool]) per conv layer; a fully connected layer to one scalar
# follows. pool > 1 average-pools the layer's output by that factor.
NET_PRESETS: dict[str, tuple[tuple[int, int, int], ...]] = {
    # §6.1 synthesis net.
    "synthesis": ((200, 16, 3), (100, 6, 2)),
    # §6.2 recovery, 2-layer and 3-layer nets.
    "recovery2": ((100, 16, 3),),
    "recovery3": ((200, 16, 3), (100, 6, 2)),
    # §6.4 cooperative-learning descriptor.
    "cooperative": ((64, 9, 2), (128, 7, 2), (256, 4, 2)),
    # Small nets for the CPU presets and tests.
    "small": ((64, 16, 3), (64, 6, 2)),
    "tiny": ((8, 4, 2), (8, 3, 2)),
}


def resolve_layers(layers) -> tuple[tuple[int, int, int], ...]:
    """A preset name, a spec "filters@kernel/stride[pPOOL],..." (e.g. "64@6/3,64@4/2", the
    paper's notation; "16@3/1p2" is a stride-1 conv then 2× average pooling) or an explicit
    ((filters, kernel, stride[, pool]), ...) list, validated."""
    if isinstance(layers, str):
        if "@" in layers:
            return _parse_spec(layers)
        if layers not in NET_PRESETS:
            raise ConfigError(
                f"unknown net {layers!r}; use a preset {sorted(NET_PRESETS)} or a spec like "
                "'64@6/3,64@4/2' (filters@kernel/stride)"
            )
        return NET_PRESETS[layers]
    try:
        out = tuple(_layer(*layer) for layer in layers)
    except (TypeError, ValueError) as e:
        raise ConfigError(
            f"net layers must be (filters, kernel, stride[, pool]) tuples, got {layers!r}"
        ) from e
    if not out or any(v < 1 for layer in out for v in layer):
        raise ConfigError(f"net layers must be non-empty positive triples, got {layers!r}")
    return out


def _layer(filters, kernel, stride, pool=1):
    layer = (int(filters), int(kernel), int(stride))
    return layer if int(pool) == 1 else layer + (int(pool),)


def _parse_spec(spec: str):
    out = []
    for part in spec.split(","):
        try:
            filters, rest = part.strip().split("@")
            kernel, stride = rest.split("/")
            stride, _, pool = stride.partition("p")
            out.append((int(filters), int(kernel), int(stride), int(pool or 1)))
        except ValueError as e:
            raise ConfigError(
                f"bad net layer {part!r} in {spec!r}; expected filters@kernel/stride[pPOOL]"
            ) from e
    return resolve_layers(out)


def resolve_local(spec) -> tuple[int, int]:
    """The local term's spec "filters@kernel" (e.g. "8@3") as (filters, kernel); "" is off."""
    if not spec:
        return (0, 0)
    try:
        filters, kernel = (int(v) for v in str(spec).split("@"))
    except ValueError:
        filters = kernel = 0
    if filters < 1 or kernel < 1:
        raise ConfigError(f"model.local must be 'filters@kernel' like '8@3' or '', got {spec!r}")
    return (filters, kernel)


# The paper's ReLU makes f piecewise linear in Y: where Langevin steps cross its kinks the
# Y-gradient flips sign (consecutive gradients of trained nets point nearly opposite:
# docs/experiments.md). Smooth activations give the sampler a smooth energy.
ACTIVATIONS = {
    "relu": nn.relu,
    "leaky_relu": lambda h: nn.leaky_relu(h, 0.2),
    "swish": nn.swish,
    "softplus": nn.softplus,
}


class Descriptor(nn.Module):
    """f(Y; θ): SAME conv3d + activation (ReLU in the paper) layers, then fc to a scalar.

    Input Y is (N, R, R, R); output (N,). With `features=True` it returns (f, [h1, h2, ...])
    where h_l is layer l's post-activation feature map (N, r, r, r, C_l).
    """

    layers: Sequence[tuple[int, int, int]] = NET_PRESETS["synthesis"]
    # N(0, init_std²) weights as in the authors' code (0.001); 0 = LeCun normal (1/fan-in),
    # which keeps f's scale O(1) so Adam's first steps do not blow it up.
    init_std: float = 0.001
    conv_impl: str = "auto"
    dtype: jnp.dtype = jnp.float32  # compute dtype; parameters stay float32
    # "fc": a fully connected layer over the last feature map (the paper; position-specific
    # weights). "sum": one weight per channel, summed over positions, so f is a sum of
    # local terms: every position of every shape trains the same weights.
    head: str = "fc"
    activation: str = "relu"  # a key of ACTIVATIONS
    # Passes of a fixed [1, 2, 1]/4 blur along each axis over Y before the first layer. A
    # strided layer cannot tell some period-2 patterns from others, so nothing in f holds
    # them back and Langevin noise piles up there (slabs); the blur removes them from f, and
    # its transpose from ∂f/∂Y, where the Gaussian reference then damps them.
    input_blur: int = 0
    # > 0: f(Y, t) for noise levels t < `levels` (diffusion recovery likelihood): one
    # convolutional trunk with a per-level gain and bias on every layer, and a per-level head.
    levels: int = 0
    # > 0: every weight matrix (conv kernels as (k³·C_in, C_out), the head) whose largest
    # singular value exceeds this is scaled down to it (spectral normalisation, Miyato et
    # al. 2018, as a bound): f's rate of change in Y is bounded, so f cannot run off with θ.
    spectral_norm: float = 0.0
    # (filters, kernel) > 0: a second, local term added to f, Σ_x w·act(conv_k(Y)(x) + b)
    # over every voxel x (a stride-1 k³ conv, summed over positions: a FRAME-style count of
    # local patterns). The strided trunk sees Y on a coarse lattice; this term sees each
    # voxel's neighbourhood, e.g. a stray voxel or a leg that ends in mid-air.
    local: tuple[int, int] = (0, 0)
    # f judges Y decoded at 0.5, the binary shape a user sees, and ∂f/∂Y is f's gradient
    # there (straight-through). Y must be occupancies (data.mean="none").
    binary_input: bool = False

    @nn.compact
    def __call__(self, y: jax.Array, features: bool = False, level=None):
        init = draws.flat_init(
            nn.initializers.normal(self.init_std)
            if self.init_std > 0
            else nn.initializers.lecun_normal()
        )
        act = ACTIVATIONS.get(self.activation)
        if act is None:
            raise ConfigError(
                f"model.activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        h = y[..., None].astype(self.dtype)
        if self.binary_input:
            h = h + jax.lax.stop_gradient((h > 0.5).astype(h.dtype) - h)
        local = self._local(h, init, act) if self.local[0] > 0 else 0.0
        for _ in range(self.input_blur):
            h = blur(h)
        maps = []
        for i, (filters, k, stride, *pool) in enumerate(self.layers):
            kernel = self.param(f"conv{i}_kernel", init, (k, k, k, h.shape[-1], filters))
            bias = self.param(f"conv{i}_bias", nn.initializers.zeros, (filters,))
            kernel = self._normalize(kernel)
            h = conv.conv3d(h, kernel.astype(self.dtype), stride, impl=self.conv_impl)
            h = h + bias.astype(self.dtype)
            if self.levels:
                h = self._modulate(h, i, level)
            h = act(h)
            if pool:
                h = avg_pool(h, pool[0])
            maps.append(h)
        if self.head == "sum":
            h = jnp.sum(h.reshape(h.shape[0], -1, h.shape[-1]), axis=1)
        elif self.head == "fc":
            h = h.reshape(h.shape[0], -1)
        else:
            raise ConfigError(f"model.head must be 'fc' or 'sum', got {self.head!r}")
        if self.levels:
            # (D, levels): lecun_normal's fan-in is D, as for the single head
            fc = self._normalize(self.param("fc_kernel", init, (h.shape[-1], self.levels)))
            fc_bias = self.param("fc_bias", nn.initializers.zeros, (self.levels,))
            w = jnp.take(fc, level, axis=1).T.astype(self.dtype)  # (N, D)
            f = jnp.sum(h * w, axis=-1).astype(jnp.float32) + fc_bias[level] + local
            return (f, maps) if features else f
        fc = self._normalize(self.param("fc_kernel", init, (h.shape[-1], 1)))
        fc_bias = self.param("fc_bias", nn.initializers.zeros, (1,))
        f = (h @ fc.astype(self.dtype))[:, 0].astype(jnp.float32) + fc_bias[0] + local
        return (f, maps) if features else f

    def _local(self, h, init, act):
        filters, k = self.local
        kernel = self._normalize(self.param("local_kernel", init, (k, k, k, 1, filters)))
        bias = self.param("local_bias", nn.initializers.zeros, (filters,))
        # A stride-1 conv with one input channel ran ~6× faster by FFT than by XLA's direct
        # conv on the CPU (docs/performance.md), and the trunk's CPU layers are spectral too.
        impl = self.conv_impl
        if impl == "auto":
            cpu = jax.default_backend() == "cpu" and self.dtype == jnp.float32
            impl = "fft" if cpu else "xla"
        m = act(conv.conv3d(h, kernel.astype(self.dtype), 1, impl=impl) + bias.astype(self.dtype))
        w = self._normalize(self.param("local_head", init, (filters, 1)))
        return jnp.sum(m.reshape(m.shape[0], -1, filters), axis=1) @ w.astype(self.dtype)[:, 0]

    def _normalize(self, w):
        if self.spectral_norm < 0:
            raise ConfigError(f"model.spectral_norm must be >= 0, got {self.spectral_norm}")
        return spectral_normalize(w, self.spectral_norm) if self.spectral_norm else w

    def _modulate(self, h, i, level):
        """Layer i's pre-activations scaled by (1 + g_t) and shifted by b_t per channel, at
        each example's level t (N,); g and b start at 0, so all levels start alike."""
        if level is None:
            raise ConfigError("a descriptor with noise levels needs each example's level")
        c = h.shape[-1]
        gain = self.param(f"conv{i}_level_gain", nn.initializers.zeros, (self.levels, c))
        shift = self.param(f"conv{i}_level_bias", nn.initializers.zeros, (self.levels, c))
        per = lambda p: jnp.take(p, level, axis=0)[:, None, None, None, :].astype(self.dtype)  # noqa: E731
        return h * (1.0 + per(gain)) + per(shift)


def spectral_normalize(w: jax.Array, bound: float = 1.0, squarings: int = 12) -> jax.Array:
    """w · min(1, bound / σ_max(w)), w read as a (fan-in, fan-out) matrix.

    σ_max comes from the small Gram matrix G (fan-out² or fan-in²): repeated squaring gives
    G^(2^squarings), whose columns all point along G's top eigenvector, so the estimate is
    exact to float precision with no state to carry (no power-iteration vector in θ). As in
    Miyato et al., the eigenvector is held constant in the gradient, σ = uᵀWᵀWu is not.
    """
    m = w.reshape(-1, w.shape[-1]).astype(jnp.float32)
    g = m.T @ m if m.shape[1] <= m.shape[0] else m @ m.T
    p = g
    for _ in range(squarings):
        p = p @ p
        p = p / jnp.maximum(jnp.max(jnp.abs(p)), 1e-30)
    u = jax.lax.stop_gradient(jnp.sum(p, axis=1) + p[:, 0])  # ones and e_0: never both ⟂ u
    u = u / jnp.linalg.norm(u)
    sigma = jnp.sqrt(jnp.maximum(u @ g @ u, 1e-30))
    return (w * jnp.minimum(1.0, bound / sigma)).astype(w.dtype)


def avg_pool(h: jax.Array, p: int) -> jax.Array:
    """Mean over non-overlapping p³ blocks. A strided conv's Y-gradient is a transposed
    conv that repeats with the stride (period-s slabs in Langevin samples); a stride-1 conv
    then a pool spreads the gradient evenly over each block."""
    n, d, hh, w, c = h.shape
    if d % p or hh % p or w % p:
        raise ConfigError(f"a {p}× pool needs sides divisible by {p}, got {(d, hh, w)}")
    return h.reshape(n, d // p, p, hh // p, p, w // p, p, c).mean(axis=(2, 4, 6))


def blur(h: jax.Array) -> jax.Array:
    """[1, 2, 1]/4 along each spatial axis of (N, D, H, W, C), zero beyond the edges: the
    period-2 pattern (1, -1, 1, ...) along any axis maps to 0 away from the edges."""
    for axis in (1, 2, 3):
        pad = [(0, 0)] * h.ndim
        pad[axis] = (1, 1)
        p = jnp.pad(h, pad)
        n = h.shape[axis]
        take = lambda i, p=p, axis=axis, n=n: jax.lax.slice_in_dim(p, i, i + n, axis=axis)  # noqa: E731
        h = 0.25 * take(0) + 0.5 * take(1) + 0.25 * take(2)
    return h
