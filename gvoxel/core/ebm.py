"""The energy-based model every algorithm composes: the descriptor f(Y; θ), its Langevin
sampler (mode seeking) and its optimizer with the update of eq. (7) (mode shifting).

Pure functions of (params, Y); no config and no files. Synthesis, recovery,
super-resolution, cooperative learning and multi-grid all sample and learn through this one
class and differ only in where their chains start, what they project and what they log.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from gvoxel.core import draws, energy, langevin, nets, projections


class SamplerSettings(NamedTuple):
    num_steps: int
    step_size: float
    temperature: float
    noise_off_iter: int  # noise switched off from this iteration on (paper: 100); -1 never
    mala: bool
    persistent: bool
    init_std: float
    reference_std: float
    polish_steps: int  # noise-free steps applied to the written samples (not to the chains)


def sum_sq(y):
    """‖Y‖² per example."""
    return jnp.sum(jnp.square(y).reshape(y.shape[0], -1), axis=-1)


@dataclasses.dataclass(frozen=True)
class EnergyModel:
    descriptor: nets.Descriptor
    sampler: SamplerSettings
    tx: optax.GradientTransformation
    resolution: int

    # -- the descriptor -------------------------------------------------------------------

    def descriptor_fn(self, params, y):
        return self.descriptor.apply({"params": params}, y)

    def shape(self, n):
        r = self.resolution
        return (n, r, r, r)

    def init(self, rng):
        """{"params": θ, "opt_state": its Adam state}."""
        params = self.descriptor.init(rng, jnp.zeros(self.shape(1)))["params"]
        return {"params": params, "opt_state": self.tx.init(params)}

    # -- mode seeking ---------------------------------------------------------------------

    def initial_chains(self, rng, n):
        return self.sampler.init_std * draws.normal(rng, self.shape(n))

    def noise_on(self, step):
        """Langevin noise at training iteration `step` (a traced bool): on until
        `noise_off_iter`, for ever when it is negative."""
        s = self.sampler
        return (s.noise_off_iter < 0) | (step < s.noise_off_iter)

    def langevin(
        self, params, rng, y, num_steps, noise=True, projection: projections.Projection = None
    ):
        """`num_steps` Langevin steps from y under θ, the change ΔY projected by `projection`.
        Every caller uses the chains' positions only, so the last position's gradient is not
        computed (K evaluations, not K + 1) and, for plain Langevin, the chain's energy is
        None."""
        s = self.sampler
        eg = functools.partial(
            energy.energy_and_grad, self.descriptor_fn, params, s=s.reference_std
        )
        return langevin.sample(
            rng,
            langevin.init(y, eg),
            eg,
            num_steps,
            s.step_size,
            s.temperature,
            noise,
            projection=projection,
            mala=s.mala,
            final_grad=False,
        )

    def polish(self, params, y):
        """`sampler.polish_steps` noise-free steps (the zero-temperature limit the paper's
        chains reach once noise is off): what is written, never the chains themselves."""
        if self.sampler.polish_steps <= 0:
            return y
        return _polish(self, params, y)

    # -- mode shifting --------------------------------------------------------------------

    def mode_shifting(self, params, opt_state, observed, synthesized):
        """One optimizer step on θ by eq. (7): the gradient of mean f(synthesized) − mean
        f(observed), with the synthesized examples held constant (no θ-gradient through the
        chains). Returns (params, opt_state, grads, metrics)."""
        (loss, (f_obs, f_syn)), grads = jax.value_and_grad(
            energy.mode_shifting_loss, argnums=1, has_aux=True
        )(self.descriptor_fn, params, observed, synthesized)
        updates, opt_state = self.tx.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        s = self.sampler.reference_std
        e_obs = jnp.mean(energy.from_f(observed, f_obs, s))
        e_syn = jnp.mean(energy.from_f(synthesized, f_syn, s))
        metrics = {
            "loss": loss,
            "f_obs": jnp.mean(f_obs),
            "f_syn": jnp.mean(f_syn),
            "energy_obs": e_obs,
            "energy_syn": e_syn,
            "energy_gap": e_syn - e_obs,
            "grad_norm": optax.global_norm(grads),
        }
        return new_params, opt_state, grads, metrics


@functools.partial(jax.jit, static_argnums=0)
def _polish(model: EnergyModel, params, y):
    chain, _ = model.langevin(params, jax.random.PRNGKey(0), y, model.sampler.polish_steps, False)
    return chain.position


def postprocess(y, data_mean):
    """Mean-removed chains back to soft occupancies in [0, 1] (threshold 0.5 for shapes)."""
    return jnp.clip(y + data_mean, 0.0, 1.0)
