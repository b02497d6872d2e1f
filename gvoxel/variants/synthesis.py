"""Algorithm 1: unconditional Generative VoxelNet, learned by analysis by synthesis.

Each iteration: K Langevin steps move the chains toward the model's modes (mode seeking),
then one Adam step on θ moves the model's modes toward the data (mode shifting, eq. 7).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from gvoxel import draws, energy, langevin, nets
from gvoxel.variants import base


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


@dataclasses.dataclass(frozen=True)
class Synthesis:
    descriptor: nets.Descriptor
    sampler: SamplerSettings
    tx: optax.GradientTransformation
    num_chains: int
    info: base.DataInfo
    sharded_keys = ("chains",)

    @classmethod
    def from_config(cls, config, info: base.DataInfo) -> Synthesis:
        s = config.sampler
        return cls(
            descriptor=base.descriptor(config.model),
            sampler=SamplerSettings(
                int(s.steps),
                float(s.step_size),
                float(s.temperature),
                int(s.noise_off_iter),
                bool(s.mala),
                bool(s.persistent),
                float(s.init_std),
                float(s.reference_std),
                int(s.polish_steps),
            ),
            tx=base.optimizer(config.optim, info.steps_per_epoch),
            num_chains=int(s.num_chains),
            info=info,
        )

    # -- pure functions -------------------------------------------------------------------

    def descriptor_fn(self, params, y):
        return self.descriptor.apply({"params": params}, y)

    def shape(self, n):
        r = self.info.resolution
        return (n, r, r, r)

    def init(self, rng, data_mean):
        k_params, k_chains, rng = jax.random.split(rng, 3)
        params = self.descriptor.init(k_params, jnp.zeros(self.shape(1)))["params"]
        return {
            "step": jnp.zeros((), jnp.int32),
            "params": params,
            "opt_state": self.tx.init(params),
            "chains": self.initial_chains(k_chains, self.num_chains),
            "rng": rng,
            "data_mean": jnp.asarray(data_mean, jnp.float32),
        }

    def initial_chains(self, rng, n):
        return self.sampler.init_std * draws.normal(rng, self.shape(n))

    def langevin(self, params, rng, y, num_steps, noise=True, projection=None):
        """Mode seeking: `num_steps` Langevin steps from y under the current θ. Every caller
        uses the chains' positions only, so the last position's gradient is not computed
        (K evaluations, not K + 1) and, for plain Langevin, the chain's energy is None."""
        s = self.sampler
        eg = functools.partial(
            energy.energy_and_grad, self.descriptor_fn, params, s=s.reference_std
        )
        state = langevin.init(y, eg)
        state, info = langevin.sample(
            rng,
            state,
            eg,
            num_steps,
            s.step_size,
            s.temperature,
            noise,
            projection=projection,
            mala=s.mala,
            final_grad=False,
        )
        return state, info

    def train_step(self, state, batch):
        """batch: {"voxels": observed, mean-removed (B, R, R, R), "labels": (B,)}."""
        observed = batch["voxels"]
        rng, k_init, k_lang = jax.random.split(state["rng"], 3)
        params = state["params"]
        y0 = state["chains"]
        if not self.sampler.persistent:
            y0 = self.initial_chains(k_init, self.num_chains)
        noise = (self.sampler.noise_off_iter < 0) | (state["step"] < self.sampler.noise_off_iter)
        chain, info = self.langevin(params, k_lang, y0, self.sampler.num_steps, noise)
        syn = chain.position

        (loss, (f_obs, f_syn)), grads = jax.value_and_grad(
            energy.mode_shifting_loss, argnums=1, has_aux=True
        )(self.descriptor_fn, params, observed, syn)
        updates, opt_state = self.tx.update(grads, state["opt_state"], params)
        params = optax.apply_updates(params, updates)

        sq = lambda y: jnp.sum(jnp.square(y).reshape(y.shape[0], -1), -1)  # noqa: E731
        e_obs = energy.from_f(observed, f_obs, self.sampler.reference_std)
        e_syn = energy.from_f(syn, f_syn, self.sampler.reference_std)
        metrics = {
            "loss": loss,
            "f_obs": jnp.mean(f_obs),
            "f_syn": jnp.mean(f_syn),
            "energy_obs": jnp.mean(e_obs),
            "energy_syn": jnp.mean(e_syn),
            "energy_gap": jnp.mean(e_syn) - jnp.mean(e_obs),
            "grad_norm": optax.global_norm(grads),
            "sample_norm": jnp.sqrt(jnp.mean(sq(syn))),
            "acceptance": jnp.mean(info.acceptance_rate),
        }
        new_state = dict(
            state, step=state["step"] + 1, params=params, opt_state=opt_state, chains=syn, rng=rng
        )
        return new_state, metrics

    def synthesize(self, state, rng, num, num_steps, noise=True):
        """Fresh samples from noise (for `gvoxel.sample`); returns post-processed grids."""
        k_init, k_lang = jax.random.split(rng)
        y0 = self.initial_chains(k_init, num)
        chain, _ = self.langevin(state["params"], k_lang, y0, num_steps, noise)
        return self.postprocess(state, chain.position)

    def continue_chains(self, state, rng, y, num_steps, noise=True):
        """Runs the given (mean-removed) chains further; returns post-processed grids."""
        chain, _ = self.langevin(state["params"], rng, y, num_steps, noise)
        return self.postprocess(state, chain.position)

    def outputs(self, state):
        """What the loop writes as samples: the current chains, post-processed.

        With `polish_steps` > 0 they are first moved by that many noise-free Langevin steps
        (the zero-temperature limit, which the paper's chains reach once noise is switched
        off); the persistent chains themselves are left as they are.
        """
        y = state["chains"]
        if self.sampler.polish_steps > 0:
            y = _polish(self, state["params"], y)
        return {"samples": self.postprocess(state, y)}

    @staticmethod
    def postprocess(state, y):
        """Add the data mean back; values are soft occupancies (threshold 0.5 for shapes)."""
        return jnp.clip(y + state["data_mean"], 0.0, 1.0)


@functools.partial(jax.jit, static_argnums=0)
def _polish(model: Synthesis, params, y):
    chain, _ = model.langevin(params, jax.random.PRNGKey(0), y, model.sampler.polish_steps, False)
    return chain.position
