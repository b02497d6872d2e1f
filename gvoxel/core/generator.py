"""Top-down 3D generator g(Z; α) of cooperative learning (§6.4).

Z ~ N(0, I_d) → fully connected → transposed 3D convs (4³ kernels, up-sampling {1, 2, 2, 2},
channels 256, 128, 64, 1 in the paper), batch norm + ReLU between, tanh at the output, so
g(Z) lies in [−1, 1] like the rescaled data.

The transposed conv is computed as the adjoint (vjp) of `gvoxel.core.conv.conv3d`, which is
what a transposed conv is by definition: on CPU, XLA's own `conv_transpose` (a conv over the
zero-dilated input) wastes the s³ zero taps and was orders of magnitude slower than the
adjoint of conv3d's FFT path (docs/performance.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gvoxel.core import conv, draws
from gvoxel.errors import ConfigError


def base_size(resolution: int, upsample: Sequence[int]) -> int:
    """Side of the fc output grid so that the up-sampling ends at `resolution`."""
    factor = math.prod(upsample)
    if resolution % factor:
        raise ConfigError(
            f"generator.upsample {tuple(upsample)} multiplies to {factor}, which does not "
            f"divide the data resolution {resolution}"
        )
    return resolution // factor


def conv_transpose3d(x: jax.Array, kernel: jax.Array, stride: int, impl: str = "auto"):
    """Transposed SAME conv, (N, n, n, n, Cin) → (N, s·n, s·n, s·n, Cout), as the adjoint of
    `conv.conv3d(·, kernel, stride)`; kernel is (k, k, k, Cout, Cin)."""
    n = x.shape[1] * stride
    y = jnp.zeros((x.shape[0], n, n, n, kernel.shape[3]), x.dtype)
    _, adjoint = jax.vjp(lambda y_: conv.conv3d(y_, kernel, stride, impl=impl), y)
    return adjoint(x)[0]


class Generator(nn.Module):
    """g(Z): (N, latent_dim) → (N, R, R, R) in [−1, 1] (`logits`: the output before tanh).

    `channels` are the hidden widths (the fc output has channels[0]); a last 1-channel
    transposed conv follows, so len(upsample) == len(channels) + 1.
    """

    resolution: int = 32
    channels: Sequence[int] = (256, 128, 64)
    upsample: Sequence[int] = (1, 2, 2, 2)
    kernel: int = 4
    bn_momentum: float = 0.9
    init_std: float = 0.02
    conv_impl: str = "auto"

    @nn.compact
    def __call__(self, z: jax.Array, train: bool = True, logits: bool = False) -> jax.Array:
        b = base_size(self.resolution, self.upsample)
        init = draws.flat_init(nn.initializers.normal(self.init_std))
        norm = lambda name: nn.BatchNorm(  # noqa: E731
            use_running_average=not train, momentum=self.bn_momentum, name=name
        )
        h = nn.Dense(b**3 * self.channels[0], kernel_init=init, name="fc")(z)
        h = nn.relu(norm("fc_bn")(h.reshape(z.shape[0], b, b, b, self.channels[0])))
        widths = tuple(self.channels) + (1,)
        for i, (c, s) in enumerate(zip(widths, self.upsample)):
            k = self.kernel
            kernel = self.param(f"deconv{i}_kernel", init, (k, k, k, c, h.shape[-1]))
            bias = self.param(f"deconv{i}_bias", nn.initializers.zeros, (c,))
            h = conv_transpose3d(h, kernel, s, self.conv_impl) + bias
            if i < len(widths) - 1:
                h = nn.relu(norm(f"deconv{i}_bn")(h))
        return h[..., 0] if logits else jnp.tanh(h[..., 0])


def check(resolution: int, channels, upsample, kernel: int) -> None:
    """Validates a generator's shape settings against the data; raises ConfigError."""
    if not channels or any(int(c) < 1 for c in channels):
        raise ConfigError(f"generator.channels must be positive widths, got {channels!r}")
    if len(upsample) != len(channels) + 1 or any(int(s) < 1 for s in upsample):
        raise ConfigError(
            f"generator.upsample needs {len(channels) + 1} positive factors (one per "
            f"transposed conv incl. the last 1-channel one), got {upsample!r}"
        )
    if kernel < 1:
        raise ConfigError(f"generator.kernel must be positive, got {kernel}")
    base_size(resolution, upsample)
