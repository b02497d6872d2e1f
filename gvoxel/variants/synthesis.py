"""Algorithm 1: unconditional Generative VoxelNet, learned by analysis by synthesis.

Each iteration: K Langevin steps move the chains toward the model's modes (mode seeking),
then one Adam step on θ moves the model's modes toward the data (mode shifting, eq. 7).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from gvoxel.core import ebm, energy
from gvoxel.variants import base


@dataclasses.dataclass(frozen=True)
class Synthesis:
    model: ebm.EnergyModel
    num_chains: int
    sharded_keys = ("chains",)

    @classmethod
    def from_config(cls, config, info: base.DataInfo) -> Synthesis:
        return cls(base.energy_model(config, info), int(config.sampler.num_chains))

    @property
    def descriptor(self):
        return self.model.descriptor

    # -- pure functions -------------------------------------------------------------------

    def init(self, rng, data_mean):
        k_params, k_chains, rng = jax.random.split(rng, 3)
        k = self.model.sampler.init_components
        # filled with the training shapes' principal basis by Experiment.init_state
        basis = {"init_basis": jnp.zeros((k,) + self.model.shape(1)[1:])} if k else {}
        return {
            **basis,
            "step": jnp.zeros((), jnp.int32),
            **self.model.init(k_params),
            "chains": self.model.initial_chains(k_chains, self.num_chains),
            "rng": rng,
            "data_mean": jnp.asarray(data_mean, jnp.float32),
        }

    def train_step(self, state, batch):
        """batch: {"voxels": observed, mean-removed (B, R, R, R), "labels": (B,)}."""
        m = self.model
        rng, k_init, k_lang = jax.random.split(state["rng"], 3)
        y0 = m.chain_starts(k_init, state["chains"], state.get("init_basis"))
        noise = m.noise_on(state["step"])
        chain, info = m.langevin(state["params"], k_lang, y0, m.sampler.num_steps, noise)
        syn = chain.position
        k_aug = jax.random.fold_in(k_init, 2)
        observed = m.augment(k_aug, batch["voxels"])
        negative = m.negative_examples(
            jax.random.fold_in(k_init, 3), observed, state["data_mean"], syn
        )
        learner, _, metrics = m.mode_shifting(
            m.learner(state), observed, syn, negative=negative, rng=jax.random.fold_in(k_aug, 5)
        )
        metrics.update(
            sample_norm=jnp.sqrt(jnp.mean(energy.sum_sq(syn))),
            acceptance=jnp.mean(info.acceptance_rate),
        )
        return dict(state, **learner, step=state["step"] + 1, chains=syn, rng=rng), metrics

    def synthesize(self, state, rng, num, num_steps, noise=True):
        """Fresh samples from noise (for `gvoxel sample`), drawn as the written training
        samples are: Langevin, then `sampler.polish_steps` noise-free steps; post-processed."""
        m = self.model
        k_init, k_lang = jax.random.split(rng)
        params = m.sampling_params(state)
        y0 = m.initial_chains(k_init, num, state.get("init_basis"))
        chain, _ = m.langevin(params, k_lang, y0, num_steps, noise)
        return ebm.postprocess(m.polish(params, chain.position), state["data_mean"])

    def continue_chains(self, state, rng, y, num_steps, noise=True):
        """Runs the given (mean-removed) chains further; returns post-processed grids."""
        chain, _ = self.model.langevin(state["params"], rng, y, num_steps, noise)
        return ebm.postprocess(chain.position, state["data_mean"])

    def outputs(self, state):
        """The current chains, polished (`sampler.polish_steps`) and post-processed."""
        y = self.model.polish(state["params"], state["chains"])
        return {"samples": ebm.postprocess(y, state["data_mean"])}
