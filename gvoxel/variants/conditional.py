"""Conditional Generative VoxelNet, what recovery (Algorithm 4) and super-resolution
(Algorithm 5) share.

Both learn p(Y | C(Y) = c) by analysis by synthesis: from each training shape Y derive the
condition c (a visibility mask, or the low-resolution CY), start a chain at a state that
already satisfies it, run K Langevin steps whose change ΔY is projected so that the known
part never moves, then one mode-shifting step on θ (eq. 7) with Y as the observed and the
chain's end as the synthesized example. The two differ only in the condition, its
projection and the chain's start (recovery.py, superres.py).

Chains live in the training loop's space (data mean removed); conditions are made in
occupancy space (mean added back), so any data.mean setting is consistent.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from gvoxel.core import ebm, projections
from gvoxel.errors import ConfigError
from gvoxel.variants import base

NUM_SHOWN = 8  # examples drawn per output montage


def extend_config(c):
    c.data.mean = "none"  # chains and conditions in plain occupancy units
    # Noise-free chains in training too (the authors' rec_exp.py / sr_exp.py): results are
    # read off noise-free chains (test_noise), and with noise the training chains are
    # mostly noise (δ·√K ≈ 0.4 per voxel against a 6% occupancy), so θ learns to remove
    # noise, not to fill in shapes, and noise-free chains at test time barely move.
    c.sampler.noise_off_iter = 0
    # Completions (recover, superres) averaged over the input shifted by one cell of the
    # condition's grid along each axis (2³ views; a stride-2 net's energy depends on the
    # stride's phase) and, with view_mirror ≥ 0, mirrored along that axis (core/views.py).
    c.sampler.view_shifts = False
    c.sampler.view_mirror = -1
    # Completion chains move on f̄, f averaged over the state's 2³ one-voxel rolls (the
    # phases of a stride-2 first layer), at 8× the cost per step; training chains use f.
    c.sampler.energy_shifts = False


def _observed(batch):
    # The loop's batch is either the array or {"voxels": ..., "labels": ...}.
    return batch["voxels"] if isinstance(batch, dict) else batch


@dataclasses.dataclass(frozen=True)
class Conditional:
    """Shared machinery; subclasses define condition / start / projection / error."""

    model: ebm.EnergyModel
    batch_size: int
    test_noise: bool
    sharded_keys = ("chains", "inputs", "observed")

    @classmethod
    def from_config(cls, config, info: base.DataInfo):
        axis = config.sampler.get("view_mirror", -1)
        if axis not in (-1, 0, 1, 2):  # checked when the run is built, not at its first use
            raise ConfigError(f"sampler.view_mirror must be one of -1, 0, 1, 2, got {axis}")
        return cls(
            model=base.energy_model(config, info),
            batch_size=int(config.train.batch_size),
            **cls.condition_settings(config, info),
        )

    # -- condition interface (occupancy units) --------------------------------------------

    def condition(self, rng, y):
        raise NotImplementedError

    def start(self, cond, y):
        """A state satisfying `cond`; `y` supplies known values where the condition needs them."""
        raise NotImplementedError

    def projection(self, cond) -> projections.Projection:
        raise NotImplementedError

    def error(self, cond, result, original):
        raise NotImplementedError

    def binarize(self, cond, result):
        """The nearest binary shape to `result` that still satisfies `cond` (occupancy)."""
        raise NotImplementedError

    # -- pure functions -------------------------------------------------------------------

    def init(self, rng, data_mean):
        k_params, rng = jax.random.split(rng)
        zeros = jnp.zeros(self.model.shape(self.batch_size), jnp.float32)
        return {
            "step": jnp.zeros((), jnp.int32),
            **self.model.init(k_params),
            "chains": zeros,  # last iteration's synthesized (completed) shapes
            "inputs": zeros,  # their starting states (the condition made visible)
            "observed": zeros,  # the training shapes they were derived from
            "rng": rng,
            "data_mean": jnp.asarray(data_mean, jnp.float32),
        }

    def complete(self, params, rng, cond, y, data_mean, num_steps, noise):
        """Langevin from start(cond, y) with the known part fixed; returns (y0, chain, info)
        in the loop's (mean-removed) units."""
        y0 = self.start(cond, y) - data_mean
        chain, info = self.model.langevin(
            params, rng, y0, num_steps, noise, projection=self.projection(cond)
        )
        return y0, chain, info

    def train_step(self, state, batch):
        mean = state["data_mean"]
        rng, k_cond, k_lang = jax.random.split(state["rng"], 3)
        observed = self.model.augment(jax.random.fold_in(k_cond, 7), _observed(batch))
        original = observed + mean
        cond = self.condition(k_cond, original)
        m = self.model
        noise = m.noise_on(state["step"])
        y0, chain, info = self.complete(
            state["params"], k_lang, cond, original, mean, m.sampler.num_steps, noise
        )
        syn = chain.position
        learner, _, metrics = m.mode_shifting(
            m.learner(state), observed, syn, rng=jax.random.fold_in(k_cond, 8)
        )
        result = ebm.postprocess(syn, mean)
        metrics.update(
            error=jnp.mean(self.error(cond, result, original)),
            acceptance=jnp.mean(info.acceptance_rate),
        )
        new = dict(learner, rng=rng, step=state["step"] + 1)
        return dict(state, **new, chains=syn, inputs=y0, observed=observed), metrics

    def outputs(self, state):
        post = lambda y: ebm.postprocess(y[:NUM_SHOWN], state["data_mean"])  # noqa: E731
        return {
            "original": post(state["observed"]),
            "input": post(state["inputs"]),
            "result": post(state["chains"]),
        }
