"""Diffusion recovery likelihood (Gao, Song, Poole, Wu, Kingma, ICLR 2021): the noise levels,
the diffused training pairs and the conditional energy each level is sampled from.

Shapes live in x = 2·occupancy − 1. Level t + 1 is level t scaled and noised,

    x_{t+1} = a_{t+1} x_t + σ_{t+1} ε,      t = 0 … T − 1,

and the top level x_T is pure N(0, I). The model at level t is f(y, t; θ) on y = a_{t+1} x_t,
and given x̃ = x_{t+1} it samples the recovery likelihood

    p(y | x̃) ∝ exp( f(y, t)/δ_t² − ‖y − x̃‖²/(2σ_{t+1}²) )

(the Gaussian term is off at the top level, whose x̃ carries no signal), by Langevin steps of
size δ_t from y = x̃. With f divided by δ_t², each step moves y by ½∂f/∂y whatever the level:
f learns the denoising moves. Pure functions, numpy constants.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gvoxel.core import draws, energy


class Schedule(NamedTuple):
    """Per-level constants, each (T,), indexed by the level t being recovered."""

    sigma: np.ndarray  # σ_{t+1}: the noise that made x_{t+1} from x_t (1 at the top)
    scale: np.ndarray  # a_{t+1}: y = scale·x_t (1 at the top)
    a_cum: np.ndarray  # x_t = a_cum·x_0 + sigma_cum·ε
    sigma_cum: np.ndarray
    step: np.ndarray  # δ_t, Langevin step size at level t
    recovery: np.ndarray  # 1, but 0 at the top level (no Gaussian term)
    weight: np.ndarray  # the θ-loss weight σ_1/σ_{t+1}


def schedule(levels: int, b: float) -> Schedule:
    """The paper's T-level schedule: a linear β from 10⁻⁴ to 0.02 over 1,000 fine steps,
    levels at every 1000/(2(T − 1))-th of them, then pure noise; δ_t² = b²σ_{t+1}²·σ̄_t/σ̄_0."""
    if levels < 2:
        raise ValueError(f"diffusion needs at least 2 noise levels, got {levels}")
    betas = np.linspace(1e-4, 0.02, 1000)
    sqrt_alpha = np.sqrt(1.0 - betas)
    idx = np.arange(levels) * (1000 // ((levels - 1) * 2))
    # a of each level: the product of the fine steps since the previous level
    starts = np.concatenate([[0], idx[:-1] + 1])
    a = np.array([np.prod(sqrt_alpha[s : e + 1]) for s, e in zip(starts, idx, strict=True)])
    a_cum = np.cumprod(a)  # level t = 0 is already slightly noised, as in the paper
    sigma_cum = np.sqrt(1.0 - a_cum**2)
    scale = np.append(a[1:], 1.0)  # a_{t+1}; the top level's start is pure noise
    sigma = np.append(np.sqrt(1.0 - a[1:] ** 2), 1.0)
    step = b * sigma * np.sqrt(sigma_cum / sigma_cum[0])
    recovery = np.append(np.ones(levels - 1), 0.0)
    weight = sigma[0] / sigma
    f32 = lambda v: np.asarray(v, np.float32)  # noqa: E731
    return Schedule(*map(f32, (sigma, scale, a_cum, sigma_cum, step, recovery, weight)))


def at_level(values, level, ndim: int = 1):
    """A schedule constant at each example's level (N,), shaped to broadcast over arrays of
    rank `ndim` (4 for a batch of grids)."""
    return jnp.take(jnp.asarray(values), level).reshape((-1,) + (1,) * (ndim - 1))


def diffuse_pair(rng, sched: Schedule, x0, level):
    """(x_t, x_{t+1}) for each example's level t (N,): x_t from the marginal, x_{t+1} one
    step further (pure noise when t is the top level)."""
    k_t, k_next = jax.random.split(rng)
    per = lambda v: at_level(v, level, x0.ndim)  # noqa: E731
    x_t = per(sched.a_cum) * x0 + per(sched.sigma_cum) * draws.normal(k_t, x0.shape)
    top = per(sched.recovery) == 0
    noise = draws.normal(k_next, x0.shape)
    x_next = jnp.where(top, noise, per(sched.scale) * x_t + per(sched.sigma) * noise)
    return x_t, x_next


def energy_and_grad(descriptor_fn, params, sched: Schedule, level, x_tilde):
    """E(y) = −f(y, t)/δ_t² + ‖y − x̃‖²/(2σ_{t+1}²) per example (N,) and ∂E/∂y, for use with
    `langevin.sample` at step size δ_t (`step_size`) and temperature 1."""
    step2, sigma2 = at_level(sched.step, level) ** 2, at_level(sched.sigma, level) ** 2
    rec = at_level(sched.recovery, level)

    def recovery_energy(y):
        pull = rec * energy.sum_sq(y - x_tilde) / (2.0 * sigma2)
        return pull - descriptor_fn(params, y, level) / step2

    return energy.with_grad(recovery_energy)


def to_signed(occupancy):
    return 2.0 * occupancy - 1.0


def to_occupancy(x):
    return jnp.clip(0.5 * (x + 1.0), 0.0, 1.0)
