"""3D convolution used by every descriptor net (channels-last, TensorFlow SAME padding).

`conv3d` is the one entry point: the nets never call `lax.conv_general_dilated` directly,
so the implementation (and its input-gradient) can be swapped per layer shape here without
touching the nets, the sampler or the training loop.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

IMPLS = ("xla",)


def conv3d(x: jax.Array, kernel: jax.Array, stride: int, impl: str = "auto") -> jax.Array:
    """SAME-padded strided 3D convolution.

    Args:
        x: (N, D, H, W, Cin).
        kernel: (k, k, k, Cin, Cout).
        stride: the same stride on every spatial axis.
        impl: "auto" or one of IMPLS.
    Returns:
        (N, ceil(D/s), ceil(H/s), ceil(W/s), Cout).
    """
    if impl not in ("auto",) + IMPLS:
        raise ValueError(f"unknown conv impl {impl!r}; expected 'auto' or one of {IMPLS}")
    return lax.conv_general_dilated(
        x,
        kernel.astype(x.dtype),
        window_strides=(stride,) * 3,
        padding="SAME",
        dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
    )
