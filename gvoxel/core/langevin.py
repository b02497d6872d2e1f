"""Langevin dynamics (mode seeking) as a pure (init, step) pair, blackjax style.

One step, with ∂E/∂Y = Y/s² − ∂f/∂Y:

    Y ← Y + P[ −(δ²/2) ∂E/∂Y + δ·√T·ε ],   ε ~ N(0, I)

δ is the step size (the paper's Δτ = δ²), T the temperature and P a projection of the change
(identity for unconditional sampling). This is the paper's update with δ² rescaled by T, so
the stationary law is ∝ exp(−E/T) and T → 0 (or `noise=False`) is the paper's
zero-temperature limit: gradient descent on the energy. With `mala=True` each proposal is
Metropolis-adjusted and the acceptance rate is reported. `sample` also takes one temperature
per step (an annealing schedule, e.g. `annealed`).

The caller jits; `sample` runs the chain with one `lax.scan`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from gvoxel.core import draws, projections

EnergyFn = Callable[[jax.Array], tuple[jax.Array, jax.Array]]  # Y -> (E per chain, ∂E/∂Y)


class LangevinState(NamedTuple):
    position: jax.Array  # Y, (N, ...)
    energy: jax.Array | None  # E(Y), (N,); None after sample(..., final_grad=False)
    grad: jax.Array | None  # ∂E/∂Y, like position; None likewise


class LangevinInfo(NamedTuple):
    acceptance_rate: jax.Array  # (N,) MALA's min(1, α); 1 for plain Langevin
    is_accepted: jax.Array  # (N,) bool
    energy: jax.Array | None  # (N,) energy after the last step; None without final_grad


def init(position: jax.Array, energy_and_grad: EnergyFn) -> LangevinState:
    e, g = energy_and_grad(position)
    return LangevinState(position, e, g)


def _sum_per_chain(x):
    return jnp.sum(x.reshape(x.shape[0], -1), axis=-1)


def _noise_scale(y, step_size, temperature, noise):
    return step_size * jnp.sqrt(temperature) * jnp.asarray(noise, y.dtype)


def _move(rng, state: LangevinState, projection, step_size, temperature, noise):
    """The proposal Y + P[−(δ²/2) ∂E/∂Y + δ·√T·ε] from the state's gradient."""
    project = projection or projections.identity()
    y = state.position
    eps = draws.normal(rng, y.shape, y.dtype)
    drift = -0.5 * step_size**2 * state.grad
    return y + project(drift + _noise_scale(y, step_size, temperature, noise) * eps)


def build_kernel(
    projection: projections.Projection | None = None, mala: bool = False
) -> Callable[..., tuple[LangevinState, LangevinInfo]]:
    """Returns `step(rng, state, energy_and_grad, step_size, temperature=1., noise=True)`.

    `step_size`, `temperature` and `noise` may be traced values (switching noise off at an
    iteration does not retrace).
    """
    project = projection or projections.identity()

    def step(
        rng, state: LangevinState, energy_and_grad: EnergyFn, step_size, temperature=1.0, noise=True
    ):
        y, e, g = state
        y_new = _move(rng, state, project, step_size, temperature, noise)
        e_new, g_new = energy_and_grad(y_new)
        ones = jnp.ones_like(e)
        if not mala:
            return LangevinState(y_new, e_new, g_new), LangevinInfo(ones, ones > 0, e_new)
        noise_scale = _noise_scale(y, step_size, temperature, noise)

        # log q(a | b) up to a constant: the proposal is Gaussian in the projected subspace.
        var = jnp.maximum(noise_scale**2, 1e-30)

        def log_q(a, b, grad_b):
            d = a - b - project(-0.5 * step_size**2 * grad_b)
            return -_sum_per_chain(d**2) / (2.0 * var)

        t = jnp.maximum(temperature, 1e-30)
        log_alpha = (e - e_new) / t + log_q(y, y_new, g_new) - log_q(y_new, y, g)
        log_alpha = jnp.where(jnp.isnan(log_alpha), -jnp.inf, log_alpha)
        # Without noise the step is deterministic descent: nothing to adjust.
        log_alpha = jnp.where(noise_scale > 0, log_alpha, 0.0)
        u = jax.random.uniform(jax.random.fold_in(rng, 1), e.shape)
        accept = jnp.log(u) < log_alpha
        keep = accept.reshape((-1,) + (1,) * (y.ndim - 1))
        new = LangevinState(
            jnp.where(keep, y_new, y), jnp.where(accept, e_new, e), jnp.where(keep, g_new, g)
        )
        rate = jnp.exp(jnp.minimum(log_alpha, 0.0))
        return new, LangevinInfo(rate, accept, new.energy)

    return step


def annealed(temperature, final_temperature, num_steps: int) -> jax.Array:
    """Per-step temperatures from `temperature` linearly to `final_temperature` over
    `num_steps` steps (simulated annealing of the chain towards a mode)."""
    if num_steps <= 1:
        return jnp.full((max(num_steps, 0),), final_temperature, jnp.float32)
    return jnp.linspace(temperature, final_temperature, num_steps, dtype=jnp.float32)


def sample(
    rng,
    state: LangevinState,
    energy_and_grad: EnergyFn,
    num_steps: int,
    step_size,
    temperature=1.0,
    noise=True,
    projection: projections.Projection | None = None,
    mala: bool = False,
    final_grad: bool = True,
) -> tuple[LangevinState, LangevinInfo]:
    """Runs `num_steps` Langevin steps in one `lax.scan`; info is averaged over the steps.
    `temperature` is one value or one per step (shape (num_steps,)).

    `final_grad=False` (plain Langevin only; MALA needs it) skips the energy and gradient
    at the last position, which only a continued chain would use: K gradient evaluations
    after `init` instead of K + 1. The returned state and info then have energy (and grad) None."""
    step = build_kernel(projection, mala)

    def body(s, xs):
        key, t = xs
        s, info = step(key, s, energy_and_grad, step_size, t, noise)
        return s, info

    if num_steps == 0:  # nothing moves (a scan of length 0 has no last info to report)
        ones = jnp.ones(state.position.shape[:1], state.position.dtype)
        return state, LangevinInfo(ones, ones > 0, state.energy)
    keys = jax.random.split(rng, num_steps)
    temps = jnp.broadcast_to(jnp.asarray(temperature, state.position.dtype), (num_steps,))
    if final_grad or mala:
        state, infos = jax.lax.scan(body, state, (keys, temps))
        return state, LangevinInfo(
            jnp.mean(infos.acceptance_rate, 0),
            jnp.mean(infos.is_accepted.astype(jnp.float32), 0),
            infos.energy[-1],
        )

    # K - 1 full steps, then the last move alone. (A lax.cond skipping the last evaluation
    # inside the scan kept XLA from hoisting the kernel spectra out of the loop: slower.)
    if num_steps > 1:  # a scan of length 0 would still trace an evaluation
        state, _ = jax.lax.scan(body, state, (keys[:-1], temps[:-1]))
    y = _move(keys[-1], state, projection, step_size, temps[-1], noise)
    ones = jnp.ones(y.shape[:1], y.dtype)
    # plain Langevin accepts every step; no energy was computed at the last position
    return LangevinState(y, None, None), LangevinInfo(ones, ones > 0, None)
