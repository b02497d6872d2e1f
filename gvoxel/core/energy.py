"""The energy E(Y) = ‖Y‖²/(2s²) − f(Y; θ) and the gradients learning and sampling need.

Everything here is a pure function of (params, Y); `descriptor_fn(params, y) -> f` is any
callable, e.g. `Descriptor(...).apply` on {"params": ...}.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from gvoxel.core.views import SHIFTS

REFERENCE_STD = 0.5  # s: the Gaussian reference distribution N(0, s²I)

DescriptorFn = Callable[[object, jax.Array], jax.Array]


def energy(descriptor_fn: DescriptorFn, params, y: jax.Array, s: float = REFERENCE_STD):
    """Per-example energy E(Y) (N,)."""
    return from_f(y, descriptor_fn(params, y), s)


def with_binary_well(descriptor_fn: DescriptorFn, beta: float) -> DescriptorFn:
    """f(Y) − β Σ Y²(1 − Y)²: the reference distribution times a double well with minima at
    0 and 1 (Y occupancies), so chains settle on near-binary shapes like the data's. It
    holds no θ: mode shifting's f is unchanged."""

    def f_well(params, y):
        well = jnp.sum(jnp.square(y * (1.0 - y)), axis=tuple(range(1, y.ndim)))
        return descriptor_fn(params, y) - beta * well

    return f_well


def shift_averaged(descriptor_fn: DescriptorFn) -> DescriptorFn:
    """f̄(Y) = mean of f over the 2³ rolls of Y by 0 or 1 voxel along each axis.

    A net whose first layer has stride 2 sees a shape differently one voxel over (the
    stride's phase); f̄ is the same for every phase of that stride, at 8× the cost."""

    def f_bar(params, y):
        rolled = jnp.concatenate([jnp.roll(y, o, axis=(-3, -2, -1)) for o in SHIFTS])
        return jnp.mean(descriptor_fn(params, rolled).reshape(len(SHIFTS), -1), axis=0)

    return f_bar


def sum_sq(y: jax.Array) -> jax.Array:
    """‖Y‖² per example."""
    return jnp.sum(jnp.square(y).reshape(y.shape[0], -1), axis=-1)


def from_f(y: jax.Array, f: jax.Array, s: float = REFERENCE_STD):
    """E(Y) per example from f(Y) already computed (e.g. by the θ-loss)."""
    return sum_sq(y) / (2.0 * s**2) - f


def with_grad(energy_fn):
    """`y -> (E per example, ∂E/∂y)` for any per-example energy `energy_fn(y) -> (N,)`, the
    form Langevin takes. Chains are independent, so the gradient of the sum is per-chain."""

    def total(y):
        e = energy_fn(y)
        return jnp.sum(e), e

    def eg(y):
        (_, e), g = jax.value_and_grad(total, has_aux=True)(y)
        return e, g

    return eg


def energy_and_grad(descriptor_fn: DescriptorFn, params, y: jax.Array, s: float = REFERENCE_STD):
    """E(Y) per example and ∂E/∂Y."""
    return with_grad(lambda y_: energy(descriptor_fn, params, y_, s))(y)


def energy_grad(descriptor_fn: DescriptorFn, params, y: jax.Array, s: float = REFERENCE_STD):
    """∂E/∂Y = Y/s² − ∂f/∂Y."""
    return jax.grad(lambda y_: jnp.sum(energy(descriptor_fn, params, y_, s)))(y)


def mode_shifting_loss(descriptor_fn: DescriptorFn, params, observed, synthesized, weight=None):
    """θ-loss of eq. (7)/(9): mean f(synthesized) − mean f(observed), each example's
    difference times `weight` (N,) when given (diffusion recovery likelihood's per-level
    weights).

    Its θ-gradient is minus the log-likelihood gradient; the synthesized examples are
    constants (stop_gradient), so no θ-gradient flows through the Langevin chain.
    """
    synthesized = jax.lax.stop_gradient(synthesized)
    f_obs = descriptor_fn(params, observed)
    f_syn = descriptor_fn(params, synthesized)
    if weight is None:
        loss = jnp.mean(f_syn) - jnp.mean(f_obs)
    else:
        loss = jnp.mean(weight * (f_syn - f_obs))
    return loss, (f_obs, f_syn)
