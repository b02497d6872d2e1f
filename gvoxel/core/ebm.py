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

from gvoxel.core import draws, energy, langevin, negatives, nets, projections


class LearningSettings(NamedTuple):
    energy_penalty: float = 0.0  # α of α·(f_obs² + f_syn²) added to the θ-loss (IGEBM)
    ema: float = 0.0  # decay of an exponential moving average of θ kept beside θ (0 = none)
    mirror_axis: int = -1  # observed shapes mirrored at random along this grid axis (-1: off)
    rotate_axis: int = -1  # observed shapes turned by random quarter turns about this axis
    shift: int = 0  # observed shapes rolled by 0..shift voxels along each axis, at random
    negatives: float = 0.0  # λ: the share of f_syn's weight in eq. (7) given to negatives
    negative_rate: float = 0.05  # voxels flipped in a negative, per voxel of the shape
    noise: float = 0.0  # σ: θ learns from observed shapes + N(0, σ²) per voxel (smooths f)
    # what the negatives are: "corrupted" observed shapes, or the synthesized examples
    # "decoded" at 0.5 (the binary shapes a user sees, breaks and strays included)
    negative_kind: str = "corrupted"


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
    reinit: float = 0.0  # persistent chains: the share restarted from noise every iteration
    draw_steps: int = 0  # Langevin steps of a fresh draw from noise (0 = num_steps)
    anneal_to: float = -1.0  # ≥ 0: every chain's temperature goes linearly to this; -1 off
    shift_average: bool = False  # chains move on f̄, f averaged over Y's 2³ one-voxel rolls
    binary_well: float = 0.0  # β > 0: chains move under f − β Σ Y²(1 − Y)² (occupancies)
    # k > 0: chains start from N(0, init_std²) plus a Gaussian of the training shapes' top-k
    # principal components (the state's "init_basis"), shape-like and varied
    init_components: int = 0


@dataclasses.dataclass(frozen=True)
class EnergyModel:
    descriptor: nets.Descriptor
    sampler: SamplerSettings
    tx: optax.GradientTransformation
    resolution: int
    learning: LearningSettings = LearningSettings()

    # -- the descriptor -------------------------------------------------------------------

    def descriptor_fn(self, params, y, level=None):
        """f(Y; θ), or f(Y, t; θ) at each example's noise level t (N,) for a descriptor
        with levels."""
        if level is None:
            return self.descriptor.apply({"params": params}, y)
        return self.descriptor.apply({"params": params}, y, level=level)

    def shape(self, n):
        r = self.resolution
        return (n, r, r, r)

    def init(self, rng):
        """{"params": θ, "opt_state": its Adam state} and, with `learning.ema`, "ema_params"."""
        level = jnp.zeros((1,), jnp.int32) if self.descriptor.levels else None
        params = self.descriptor.init(rng, jnp.zeros(self.shape(1)), level=level)["params"]
        state = {"params": params, "opt_state": self.tx.init(params)}
        if self.learning.ema:
            state["ema_params"] = params
        return state

    # -- mode seeking ---------------------------------------------------------------------

    def initial_chains(self, rng, n, basis=None):
        """N(0, init_std²) per voxel; with `basis` (k, R, R, R), the training shapes'
        principal directions scaled by their standard deviations (`batches.principal_basis`), plus
        Σ_k z_k·basis_k, z ~ N(0, I): a draw of the data's top-k Gaussian."""
        y = self.sampler.init_std * draws.normal(rng, self.shape(n))
        if basis is None:
            return y
        z = draws.normal(jax.random.fold_in(rng, 1), (n, basis.shape[0]), y.dtype)
        return y + jnp.tensordot(z, basis, axes=1)

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
        f = energy.shift_averaged(self.descriptor_fn) if s.shift_average else self.descriptor_fn
        if s.binary_well > 0:
            f = energy.with_binary_well(f, s.binary_well)
        eg = functools.partial(energy.energy_and_grad, f, params, s=s.reference_std)
        temperature = s.temperature
        if s.anneal_to >= 0:
            temperature = langevin.annealed(s.temperature, s.anneal_to, num_steps)
        return langevin.sample(
            rng,
            langevin.init(y, eg),
            eg,
            num_steps,
            s.step_size,
            temperature,
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

    def augment(self, rng, observed):
        """The observed shapes under a random symmetry of the data: each shape mirrored with
        probability 1/2 (`learning.mirror_axis`), then turned by 0–3 quarter turns about
        `learning.rotate_axis`, each equally likely, then rolled by 0..`learning.shift`
        voxels along each axis, each equally likely; unchanged when all are off. Still
        shapes of the data: conditions, coarser grids and errors may derive from them."""
        mirror, rotate = self.learning.mirror_axis, self.learning.rotate_axis
        n, shift = observed.shape[0], self.learning.shift
        if mirror >= 0:
            flip = jax.random.bernoulli(rng, 0.5, (n,) + (1,) * (observed.ndim - 1))
            observed = jnp.where(flip, jnp.flip(observed, axis=1 + mirror), observed)
        if rotate >= 0:
            plane = tuple(1 + a for a in range(3) if a != rotate)
            turns = jax.random.randint(jax.random.fold_in(rng, 1), (n,), 0, 4)
            turned = jnp.stack([jnp.rot90(observed, k, axes=plane) for k in range(4)])
            observed = turned[turns, jnp.arange(n)]
        for axis in range(3) if shift > 0 else ():
            by = jax.random.randint(jax.random.fold_in(rng, 2 + axis), (n,), 0, shift + 1)
            rolled = jnp.stack([jnp.roll(observed, k, axis=1 + axis) for k in range(shift + 1)])
            observed = rolled[by, jnp.arange(n)]
        return observed

    def noised(self, rng, observed):
        """θ's observed examples given N(0, σ²) noise per voxel (`learning.noise` = σ;
        Nijkamp et al. 2019); unchanged when σ is 0. Only `mode_shifting` applies it, so a
        condition, a coarser grid or a logged error never sees the noise."""
        sigma = self.learning.noise
        if not sigma:
            return observed
        if rng is None:
            raise ValueError("learning.noise is on: mode_shifting needs an rng")
        return observed + sigma * jax.random.normal(rng, observed.shape, observed.dtype)

    def negative_examples(self, rng, observed, data_mean, synthesized=None):
        """Negatives for `mode_shifting`, mean-removed; None when `learning.negatives` is 0.
        "corrupted": the observed shapes, each with stray voxels and holes
        (`negatives.speckle`) and one plane emptied (`negatives.cut`). "decoded": the
        synthesized examples thresholded at 0.5 (`negatives.decoded`), so f learns from the
        binary shapes' defects rather than from their soft values."""
        if not self.learning.negatives:
            return None
        if self.learning.negative_kind == "decoded":
            if synthesized is None:
                raise ValueError("learning.negative_kind='decoded' needs the synthesized examples")
            return negatives.decoded(synthesized + data_mean) - data_mean
        k_speckle, k_cut = jax.random.split(rng)
        corrupted = negatives.speckle(k_speckle, observed + data_mean, self.learning.negative_rate)
        return negatives.cut(k_cut, corrupted) - data_mean

    def loss(self, params, observed, synthesized, level=None, weight=None, negative=None):
        """The θ-loss: eq. (7)'s mean f(synthesized) − mean f(observed), plus
        α·mean(f_obs² + f_syn²) with `learning.energy_penalty` = α (keeps f bounded).
        `level`, `weight` (N,): each example's noise level and weight (recovery likelihood).
        `negative`: examples that take λ = `learning.negatives` of the synthesized examples'
        weight, (1 − λ)·mean f(synthesized) + λ·mean f(negative) − mean f(observed)."""
        loss, (f_obs, f_syn) = energy.mode_shifting_loss(
            functools.partial(self.descriptor_fn, level=level),
            params, observed, synthesized, weight,
        )  # fmt: skip
        alpha = self.learning.energy_penalty
        if alpha:
            loss = loss + alpha * (jnp.mean(jnp.square(f_obs)) + jnp.mean(jnp.square(f_syn)))
        f_neg = None
        if negative is not None:
            f_neg = self.descriptor_fn(params, jax.lax.stop_gradient(negative), level)
            loss = loss + self.learning.negatives * (jnp.mean(f_neg) - jnp.mean(f_syn))
        return loss, (f_obs, f_syn, f_neg)

    def mode_shifting(
        self,
        learner: dict,
        observed,
        synthesized,
        level=None,
        weight=None,
        negative=None,
        rng=None,
    ):
        """One optimizer step on θ by eq. (7): the gradient of mean f(synthesized) − mean
        f(observed), with the synthesized examples held constant (no θ-gradient through the
        chains). `learner` is what `init` made ({"params", "opt_state"[, "ema_params"]});
        `level`, `weight` and `negative` as for `loss`; `rng` draws `noised`'s noise (needed
        when `learning.noise` is on). Returns (learner, grads, metrics)."""
        params = learner["params"]
        observed = self.noised(rng, observed)
        (loss, (f_obs, f_syn, f_neg)), grads = jax.value_and_grad(self.loss, has_aux=True)(
            params, observed, synthesized, level, weight, negative
        )
        updates, opt_state = self.tx.update(grads, learner["opt_state"], params)
        new = dict(learner, params=optax.apply_updates(params, updates), opt_state=opt_state)
        if "ema_params" in learner:
            new["ema_params"] = moving_average(
                learner["ema_params"], new["params"], self.learning.ema
            )
        metrics = {
            "loss": loss,
            "f_obs": jnp.mean(f_obs),
            "f_syn": jnp.mean(f_syn),
            "grad_norm": optax.global_norm(grads),
        }
        if f_neg is not None:
            metrics["f_neg"] = jnp.mean(f_neg)
        if level is None:  # E = ‖Y‖²/(2s²) − f holds for the unconditional model only
            s = self.sampler.reference_std
            e_obs = jnp.mean(energy.from_f(observed, f_obs, s))
            e_syn = jnp.mean(energy.from_f(synthesized, f_syn, s))
            metrics.update(energy_obs=e_obs, energy_syn=e_syn, energy_gap=e_syn - e_obs)
        return new, grads, metrics

    @staticmethod
    def learner(state) -> dict:
        """The part of a variant's state that `mode_shifting` updates."""
        return {k: state[k] for k in LEARNER_KEYS if k in state}

    @staticmethod
    def sampling_params(state):
        """θ for fresh draws: the moving average when one is kept, else θ."""
        return state.get("ema_params", state["params"])

    def chain_starts(self, rng, chains, basis=None):
        """Where this iteration's chains start: the previous chains (persistent), each
        restarted from `initial_chains` with probability `sampler.reinit` (a replay buffer),
        or all from `initial_chains` (`persistent` False)."""
        if not self.sampler.persistent:
            return self.initial_chains(rng, chains.shape[0], basis)
        if self.sampler.reinit <= 0:
            return chains
        fresh = self.initial_chains(rng, chains.shape[0], basis)
        pick = jax.random.bernoulli(
            jax.random.fold_in(rng, 1), self.sampler.reinit, (chains.shape[0], 1, 1, 1)
        )
        return jnp.where(pick, fresh, chains)


LEARNER_KEYS = ("params", "opt_state", "ema_params")


def moving_average(average, params, decay: float):
    """One step of an exponential moving average of a parameter tree: d·e + (1 − d)·p.
    θ's average and the cooperative generator's share it (bit-identical to what saved runs
    hold; optax.incremental_update orders the arithmetic differently)."""
    return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, average, params)


@functools.partial(jax.jit, static_argnums=0)
def _polish(model: EnergyModel, params, y):
    chain, _ = model.langevin(params, jax.random.PRNGKey(0), y, model.sampler.polish_steps, False)
    return chain.position


def postprocess(y, data_mean):
    """Mean-removed chains back to soft occupancies in [0, 1] (threshold 0.5 for shapes)."""
    return jnp.clip(y + data_mean, 0.0, 1.0)
