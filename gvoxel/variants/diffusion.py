"""Diffusion recovery likelihood (Gao, Song, Poole, Wu, Kingma, ICLR 2021; beyond the paper):
one descriptor f(y, t; θ) over T noise levels, each learned by analysis by synthesis on the
conditional p(x_t | x_{t+1}) (core.diffusion).

One iteration: each observed shape gets a random level t and a diffused pair (x_t, x_{t+1});
K Langevin steps from x̃ = x_{t+1} sample the recovery likelihood at level t (mode seeking);
then one eq. (7) step on θ with a_{t+1}x_t as the observed and the chain's end as the
synthesized example, weighted by level (mode shifting). The chains start near data at every
level but the top, so they are short and never persist. Fresh samples from noise descend the
levels: x_T ~ N(0, I), then K steps at each level t = T − 1 … 0.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections

from gvoxel.core import diffusion, ebm, energy, langevin
from gvoxel.errors import ConfigError
from gvoxel.variants import base


def extend_config(c: ml_collections.ConfigDict) -> None:
    d = ml_collections.ConfigDict()
    d.levels = 6  # T noise levels (the paper's T6)
    c.diffusion = d
    c.data.mean = "none"  # shapes in 2·occupancy − 1, not mean-removed
    c.sampler.persistent = False  # every chain starts from a diffused observed shape
    c.sampler.noise_off_iter = -1
    c.sampler.steps = 30  # K per level
    # b: δ_t = b·σ_{t+1}·√(σ̄_t/σ̄_0); the paper's b² = 2·10⁻⁴
    c.sampler.step_size = 2e-4**0.5


@dataclasses.dataclass(frozen=True)
class RecoveryLikelihood:
    model: ebm.EnergyModel
    schedule: diffusion.Schedule
    num_shown: int
    sharded_keys = ("chains",)

    @classmethod
    def from_config(cls, config, info: base.DataInfo) -> RecoveryLikelihood:
        levels = int(config.diffusion.levels)
        if levels < 2:
            raise ConfigError(f"diffusion.levels must be at least 2, got {levels}")
        if config.sampler.mala or float(config.sampler.temperature) != 1.0:
            raise ConfigError("diffusion samples at temperature 1 without MALA")
        if config.data.mean != "none":
            raise ConfigError("diffusion works on occupancies: set data.mean='none'")
        model = base.energy_model(config, info, levels=levels)
        sched = diffusion.schedule(levels, float(config.sampler.step_size))
        return cls(model, sched, int(config.train.batch_size))

    # No `descriptor` attribute: f(y, t) needs a level, so it gives no §6.5 features.

    @property
    def levels(self) -> int:
        return len(self.schedule.sigma)

    # -- pure functions -------------------------------------------------------------------

    def init(self, rng, data_mean):
        k_params, rng = jax.random.split(rng)
        return {
            "step": jnp.zeros((), jnp.int32),
            **self.model.init(k_params),
            # the last iteration's recoveries (x_t, one level per example), for the montage
            "chains": jnp.zeros(self.model.shape(self.num_shown)),
            "chain_levels": jnp.zeros((self.num_shown,), jnp.int32),
            "rng": rng,
            "data_mean": jnp.asarray(data_mean, jnp.float32),
        }

    def recover(self, params, rng, x_tilde, level, num_steps, noise=True):
        """x_t from x̃ = x_{t+1} at each example's level t: K Langevin steps on the recovery
        likelihood from y = x̃, then x_t = y / a_{t+1}. Returns (x_t, y)."""
        fn = self.model.descriptor_fn
        eg = diffusion.energy_and_grad(fn, params, self.schedule, level, x_tilde)
        step = diffusion.at_level(self.schedule.step, level, x_tilde.ndim)
        chain, _ = langevin.sample(
            rng, langevin.init(x_tilde, eg), eg, num_steps, step, 1.0, noise, final_grad=False
        )
        y = chain.position
        return y / diffusion.at_level(self.schedule.scale, level, y.ndim), y

    def train_step(self, state, batch):
        """batch: {"voxels": observed occupancies (B, R, R, R), "labels": (B,)}."""
        m = self.model
        rng, k_level, k_pair, k_lang, k_aug = jax.random.split(state["rng"], 5)
        observed = m.augment(k_aug, batch["voxels"] + state["data_mean"])
        x0 = diffusion.to_signed(observed)
        level = jax.random.randint(k_level, (x0.shape[0],), 0, self.levels)
        x_t, x_next = diffusion.diffuse_pair(k_pair, self.schedule, x0, level)
        x_syn, y_syn = self.recover(
            state["params"], k_lang, x_next, level, m.sampler.num_steps, m.noise_on(state["step"])
        )
        y_obs = diffusion.at_level(self.schedule.scale, level, x_t.ndim) * x_t
        weight = diffusion.at_level(self.schedule.weight, level)
        learner, _, metrics = m.mode_shifting(
            m.learner(state), y_obs, y_syn, level=level, weight=weight,
            rng=jax.random.fold_in(k_aug, 5),
        )  # fmt: skip
        metrics.update(
            sample_norm=jnp.sqrt(jnp.mean(energy.sum_sq(x_syn))),
            recovery_error=jnp.mean(jnp.abs(x_syn - x_t)),
        )
        n = self.num_shown
        return dict(
            state,
            **learner,
            step=state["step"] + 1,
            chains=x_syn[:n],
            chain_levels=level[:n],
            rng=rng,
        ), metrics

    def synthesize(self, state, rng, num, num_steps, noise=True):
        """Fresh shapes from noise: x_T ~ N(0, I), then `num_steps` Langevin steps at every
        level from the top down; soft occupancies."""
        params = self.model.sampling_params(state)
        k_top, k_levels = jax.random.split(rng)
        x = jax.random.normal(k_top, self.model.shape(num))

        def body(x, t_key):
            t, key = t_key
            x, _ = self.recover(params, key, x, jnp.full((num,), t), num_steps, noise)
            return x, None

        ts = jnp.arange(self.levels - 1, -1, -1)
        x, _ = jax.lax.scan(body, x, (ts, jax.random.split(k_levels, self.levels)))
        return diffusion.to_occupancy(x)

    def continue_chains(self, state, rng, y, num_steps, noise=True):
        """One more recovery at the lowest level from the given chains (signed, as stored):
        its conditional is centred on them, so this cleans them up; occupancies."""
        level = jnp.zeros((y.shape[0],), jnp.int32)
        x, _ = self.recover(self.model.sampling_params(state), rng, y, level, num_steps, noise)
        return diffusion.to_occupancy(x)

    def outputs(self, state):
        """The last iteration's recoveries x_t (each at its own level t)."""
        return {"samples": diffusion.to_occupancy(state["chains"])}
