"""Conditional Generative VoxelNet: recovery (Algorithm 4) and super-resolution (Algorithm 5).

Both learn p(Y | C(Y) = c) by analysis by synthesis: from each training shape Y derive the
condition c (a visibility mask, or the low-resolution CY), start a chain at a state that
already satisfies it, run K Langevin steps whose change ΔY is projected so that the known
part never moves, then one mode-shifting step on θ (eq. 7) with Y as the observed and the
chain's end as the synthesized example. The two differ only in the condition, its
projection and the chain's start; the Langevin chain and the descriptor are Synthesis's.

Chains live in the training loop's space (data mean removed); conditions are made in
occupancy space (mean added back), so any data.mean setting is consistent.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import optax

from gvoxel import conditional_metrics, corruption, energy, projections
from gvoxel.data import resample
from gvoxel.errors import ConfigError
from gvoxel.variants import base
from gvoxel.variants.synthesis import Synthesis

NUM_SHOWN = 8  # examples drawn per output montage


def extend_config(c):
    if c.variant == "recovery":
        c.recovery = ml_collections.ConfigDict()
        c.recovery.corruption = "random"  # one of gvoxel.corruption.KINDS
        c.recovery.rho = 0.7  # fraction of voxels hidden
        c.recovery.test_noise = False  # Langevin noise when recovering with the CLI
    else:
        c.superres = ml_collections.ConfigDict()
        c.superres.factor = 4  # C: block average by factor³ blocks
        # chain start: "block" C⁻CY (Algorithm 5) or "trilinear" up-sampling corrected by
        # C⁻(CY − C·trilinear) so that it, too, block-averages exactly to CY
        c.superres.start = "block"
        c.superres.test_noise = False
    c.data.mean = "none"  # chains and conditions in plain occupancy units
    # Noise-free chains in training too (the authors' rec_exp.py / sr_exp.py): results are
    # read off noise-free chains (test_noise), and with noise the training chains are
    # mostly noise (δ·√K ≈ 0.4 per voxel against a 6% occupancy), so θ learns to remove
    # noise, not to fill in shapes, and noise-free chains at test time barely move.
    c.sampler.noise_off_iter = 0


def _observed(batch):
    # The loop's batch is either the array or {"voxels": ..., "labels": ...}.
    return batch["voxels"] if isinstance(batch, dict) else batch


@dataclasses.dataclass(frozen=True)
class Conditional:
    """Shared machinery; subclasses define condition / start / projection / error."""

    model: Synthesis  # descriptor, sampler settings, optimizer, Langevin chain
    batch_size: int
    test_noise: bool
    sharded_keys = ("chains", "inputs", "observed")

    @classmethod
    def from_config(cls, config, info: base.DataInfo):
        return cls(
            model=Synthesis.from_config(config, info),
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
        shape = self.model.shape(self.batch_size)
        params = self.model.descriptor.init(k_params, jnp.zeros(self.model.shape(1)))["params"]
        zeros = jnp.zeros(shape, jnp.float32)
        return {
            "step": jnp.zeros((), jnp.int32),
            "params": params,
            "opt_state": self.model.tx.init(params),
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
        observed = _observed(batch)
        mean = state["data_mean"]
        rng, k_cond, k_lang = jax.random.split(state["rng"], 3)
        params = state["params"]
        original = observed + mean
        cond = self.condition(k_cond, original)
        s = self.model.sampler
        noise = (s.noise_off_iter < 0) | (state["step"] < s.noise_off_iter)
        y0, chain, info = self.complete(params, k_lang, cond, original, mean, s.num_steps, noise)
        syn = chain.position

        (loss, (f_obs, f_syn)), grads = jax.value_and_grad(
            energy.mode_shifting_loss, argnums=1, has_aux=True
        )(self.model.descriptor_fn, params, observed, syn)
        updates, opt_state = self.model.tx.update(grads, state["opt_state"], params)
        params = optax.apply_updates(params, updates)

        result = self.model.postprocess(state, syn)
        metrics = {
            "loss": loss,
            "f_obs": jnp.mean(f_obs),
            "f_syn": jnp.mean(f_syn),
            "energy_syn": jnp.mean(energy.from_f(syn, f_syn, s.reference_std)),
            "grad_norm": optax.global_norm(grads),
            "error": jnp.mean(self.error(cond, result, original)),
            "acceptance": jnp.mean(info.acceptance_rate),
        }
        new_state = dict(
            state,
            step=state["step"] + 1,
            params=params,
            opt_state=opt_state,
            chains=syn,
            inputs=y0,
            observed=observed,
            rng=rng,
        )
        return new_state, metrics

    def outputs(self, state):
        post = lambda y: self.model.postprocess(state, y[:NUM_SHOWN])  # noqa: E731
        return {
            "original": post(state["observed"]),
            "input": post(state["inputs"]),
            "result": post(state["chains"]),
        }


@dataclasses.dataclass(frozen=True)
class Recovery(Conditional):
    """Algorithm 4: the visible voxels (mask M) are the condition; (1 − M)·ΔY."""

    kind: str = "random"
    rho: float = 0.7

    @staticmethod
    def condition_settings(config, info):
        r = config.recovery
        corruption.check(r.corruption, r.rho)
        return {"kind": str(r.corruption), "rho": float(r.rho), "test_noise": bool(r.test_noise)}

    def condition(self, rng, y):
        return corruption.visible_mask(rng, y.shape[0], y.shape[-1], self.kind, self.rho)

    def start(self, visible, y):
        """Visible voxels as given; missing ones filled with the mean of the visible ones."""
        visible = jnp.broadcast_to(jnp.asarray(visible, bool), y.shape)
        v = visible.reshape(y.shape[0], -1)
        seen = jnp.sum(jnp.where(v, y.reshape(y.shape[0], -1), 0.0), -1)
        fill = seen / jnp.maximum(jnp.sum(v, -1), 1)
        return jnp.where(visible, y, fill[:, None, None, None])

    def projection(self, visible):
        return projections.mask(visible)

    def error(self, visible, result, original):
        return conditional_metrics.recovery_error(result, original, visible)

    def binarize(self, visible, result):
        return projections.binary_mask(result, visible)(result)


@dataclasses.dataclass(frozen=True)
class SuperResolution(Conditional):
    """Algorithm 5: the block averages CY are the condition; (I − C⁻C)ΔY, start C⁻CY."""

    factor: int = 4
    start_from: str = "block"

    @staticmethod
    def condition_settings(config, info):
        f = config.superres.factor
        start = config.superres.get("start", "block")
        if start not in ("block", "trilinear"):
            raise ConfigError(f"superres.start must be 'block' or 'trilinear', got {start!r}")
        if not isinstance(f, int) or isinstance(f, bool) or f < 2:
            raise ConfigError(f"superres.factor must be an int >= 2, got {f!r}")
        if info.resolution % f:
            raise ConfigError(
                f"superres.factor {f} does not divide the data resolution {info.resolution}"
            )
        return {
            "factor": f,
            "start_from": start,
            "test_noise": bool(config.superres.test_noise),
        }

    def condition(self, rng, y):
        del rng
        return resample.downscale(y, self.factor)

    def start(self, low, y=None):
        del y
        if self.start_from == "block":
            return resample.upscale(low, self.factor)
        high = low.shape[:-3] + tuple(n * self.factor for n in low.shape[-3:])
        smooth = jax.image.resize(low, high, "trilinear")
        return projections.condition_downscale(low, self.factor)(smooth)

    def projection(self, low):
        del low
        return projections.downscale_null_space(self.factor)

    def error(self, low, result, original):
        del low
        return conditional_metrics.voxel_error(result, original)

    def binarize(self, low, result):
        return projections.binary_downscale(low, self.factor)(result)
