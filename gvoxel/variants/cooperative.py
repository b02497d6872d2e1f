"""Algorithm 3: cooperative learning of the descriptor and a 3D generator by MCMC teaching.

Each iteration, in one jitted step: draw Z, generate Ŷ = g(Z) (+ noise), revise Ŷ by K
Langevin steps of the descriptor to Ỹ (mode seeking), update θ by eq. (7) with Ỹ as the
synthesized examples (mode shifting), and update α by regressing Ỹ on Z, eq. (17) (the
generator learns from the revision). The generator becomes a one-pass sampler and the
initialiser of the descriptor's chains.

Two domains, one affine map apart. The generator works in [−1, 1] (its tanh; the paper's data
scaling): Y = 2·V − 1 for occupancies V. The descriptor keeps the core model's domain, the
occupancies with the loop's `data.mean` removed, D = V − mean, where its Gaussian reference
N(0, s²I) sits near the data. (With the descriptor on [−1, 1] data the reference pulls every
voxel of every chain towards 0, far from all data, and on short runs g collapsed to empty
grids.) A Langevin step of δ on D is one of 2δ on Y, so the paper's δ = 0.3 is δ = 0.15 here.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import optax

from gvoxel.core import draws, ebm, energy, langevin, pieces
from gvoxel.core import generator as gen
from gvoxel.errors import ConfigError
from gvoxel.variants import base


def extend_config(c: ml_collections.ConfigDict) -> None:
    g = ml_collections.ConfigDict()
    g.latent_dim = 100
    g.channels = (256, 128, 64)  # hidden widths; a last 1-channel transposed conv follows
    g.upsample = (1, 2, 2, 2)  # one factor per transposed conv
    g.kernel = 4
    g.bn_momentum = 0.9  # running batch-norm statistics, used when sampling
    g.init_std = 0.02
    g.output_noise = 0.0  # std of the noise added to g(Z) before the Langevin revision
    g.sigma = 0.3  # σ of Y = g(Z) + ε in eq. (17)
    g.ema = 0.0  # decay of a moving average of α that g's draws use (0 = none)
    # "gaussian": eq. (17), ‖Ỹ − g(Z)‖²/(2σ²) through g's tanh; "bernoulli": the same
    # residual applied to g's pre-tanh output (the binary cross-entropy's gradient over σ²),
    # so a voxel saturated at −1 still feels a revision that turns it on
    g.likelihood = "gaussian"
    g.optimizer = "adam"  # or "sgd": eq. (17) as written, a step that scales with the revision
    g.steps = 1  # regression steps on each iteration's (Z, Ỹ) pairs; the paper takes one
    g.warmup = 0  # iterations that train the descriptor only (g frozen at its init)
    # Langevin steps inferring Z̃ from Ỹ before the regression (CoopNets' optional step;
    # 0 = Algorithm 3 as written: regress Ỹ on the Z that generated it)
    g.infer_steps = 0
    g.infer_step_size = 0.1
    # g regresses on the revision with its faint voxels (above this bound, joined to the
    # shape, gvoxel.core.pieces) raised above 0.5, so g learns to draw thin parts whole
    # (0 = Algorithm 3 as written); with bridge_ridge only a thin part's centre line joins
    g.bridge = 0.0
    g.bridge_ridge = True
    # ... and with every voxel outside the (bridged) revision's largest piece lowered below
    # 0.5, so g learns to draw one piece, as real chairs are
    g.main_piece = False
    # ... or with only its pieces of at most this many voxels lowered (stray voxels; 0 = off)
    g.despeckle = 0
    g.target_margin = 0.1  # those voxels move to 0.5 ± this (0.5: fully on or off)
    g.lr = 0.0003
    g.b1 = 0.6
    g.b2 = 0.999
    c.generator = g


def _pairwise(y, fn):
    """Mean of fn(gram matrix) over pairs of distinct chains."""
    flat = y.reshape(y.shape[0], -1)
    m = fn(flat @ flat.T)
    n = y.shape[0]
    return (jnp.sum(m) - jnp.trace(m)) / max(n * (n - 1), 1)


def _distance(gram):
    sq = jnp.diag(gram)
    return jnp.sqrt(jnp.maximum(sq[:, None] + sq[None, :] - 2.0 * gram, 0.0))


def _iou(inter):
    area = jnp.diag(inter)
    return inter / jnp.maximum(area[:, None] + area[None, :] - inter, 1.0)


def _contraction(y, revised):
    """Regression coefficient of −(Ỹ − g(Z)) on g(Z), both centred over the chains: 0 when
    the revisions keep g's dependence on Z, 1 when every Ỹ is the same (noise averages out)."""
    g = y - jnp.mean(y, axis=0)
    d = revised - y
    d = d - jnp.mean(d, axis=0)
    return -jnp.sum(g * d) / jnp.maximum(jnp.sum(g * g), 1e-12)


@dataclasses.dataclass(frozen=True)
class Cooperative:
    model: ebm.EnergyModel  # the descriptor, its Langevin sampler and optimizer
    num_chains: int
    generator: gen.Generator
    gen_tx: optax.GradientTransformation
    latent_dim: int
    output_noise: float
    sigma: float
    regress_steps: int = 1
    infer_steps: int = 0
    infer_step_size: float = 0.1
    bernoulli: bool = False  # generator.likelihood: regress g's pre-tanh output
    gen_ema: float = 0.0  # generator.ema: decay of the moving average of α that draws use
    bridge: float = 0.0  # generator.bridge: hysteresis bound of g's target (0 = off)
    bridge_ridge: bool = True
    main_piece: bool = False  # generator.main_piece: g's target keeps its largest piece only
    despeckle: int = 0  # generator.despeckle: g's target drops pieces of at most this size
    target_margin: float = 0.1  # generator.target_margin: edited voxels go to 0.5 ± this
    # chains: the last revisions Ỹ (so gvoxel sample --init=chains continues them);
    # generated: the g(Z) they started from. Both per chain, split over devices.
    sharded_keys = ("chains", "generated")

    @classmethod
    def from_config(cls, config, info: base.DataInfo) -> Cooperative:
        g = config.generator
        channels = tuple(int(v) for v in g.channels)
        upsample = tuple(int(v) for v in g.upsample)
        gen.check(info.resolution, channels, upsample, int(g.kernel))
        for key in ("latent_dim",):
            if int(g[key]) < 1:
                raise ConfigError(f"generator.{key} must be positive, got {g[key]}")
        if float(g.sigma) <= 0 or float(g.output_noise) < 0:
            raise ConfigError(
                f"generator.sigma must be > 0 and generator.output_noise >= 0, got "
                f"{g.sigma} and {g.output_noise}"
            )
        if int(g.infer_steps) < 0 or float(g.infer_step_size) <= 0:
            raise ConfigError(
                f"generator.infer_steps must be >= 0 and generator.infer_step_size > 0, got "
                f"{g.infer_steps} and {g.infer_step_size}"
            )
        gen_ema = float(g.get("ema", 0.0))  # runs saved before the key: none
        if not 0.0 <= gen_ema < 1.0:
            raise ConfigError(f"generator.ema must be in [0, 1), got {g.ema}")
        if int(g.steps) < 1 or int(g.warmup) < 0:
            raise ConfigError(
                f"generator.steps must be >= 1 and generator.warmup >= 0, got {g.steps} and "
                f"{g.warmup}"
            )
        likelihood = g.get("likelihood", "gaussian")  # runs saved before the key: eq. (17)
        if likelihood not in ("gaussian", "bernoulli"):
            raise ConfigError(
                f"generator.likelihood must be 'gaussian' or 'bernoulli', got {likelihood!r}"
            )
        bridge = float(g.get("bridge", 0.0))  # runs saved before the key: off
        if not 0.0 <= bridge < 0.5:
            raise ConfigError(f"generator.bridge must be in [0, 0.5), got {g.bridge}")
        despeckle = int(g.get("despeckle", 0))
        if despeckle < 0:
            raise ConfigError(f"generator.despeckle must be >= 0, got {g.despeckle}")
        margin = float(g.get("target_margin", 0.1))
        if not 0.0 < margin <= 0.5:
            raise ConfigError(f"generator.target_margin must be in (0, 0.5], got {margin}")
        if g.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"generator.optimizer must be 'adam' or 'sgd', got {g.optimizer!r}")
        lr = float(g.lr)
        if int(g.warmup):
            lr = optax.join_schedules(
                [optax.constant_schedule(0.0), optax.constant_schedule(lr)],
                [int(g.warmup) * int(g.steps)],  # the schedule counts regression steps
            )
        gen_tx = (
            optax.adam(lr, b1=float(g.b1), b2=float(g.b2))
            if g.optimizer == "adam"
            else optax.sgd(lr)
        )
        return cls(
            model=base.energy_model(config, info),
            num_chains=int(config.sampler.num_chains),
            generator=gen.Generator(
                resolution=info.resolution,
                channels=channels,
                upsample=upsample,
                kernel=int(g.kernel),
                bn_momentum=float(g.bn_momentum),
                init_std=float(g.init_std),
                conv_impl=config.model.conv_impl,
            ),
            gen_tx=gen_tx,
            latent_dim=int(g.latent_dim),
            output_noise=float(g.output_noise),
            sigma=float(g.sigma),
            regress_steps=int(g.steps),
            infer_steps=int(g.infer_steps),
            infer_step_size=float(g.infer_step_size),
            bernoulli=likelihood == "bernoulli",
            gen_ema=gen_ema,
            bridge=bridge,
            bridge_ridge=bool(g.get("bridge_ridge", True)),
            main_piece=bool(g.get("main_piece", False)),
            despeckle=despeckle,
            target_margin=margin,
        )

    # -- pure functions -------------------------------------------------------------------

    def latents(self, rng, n):
        return jax.random.normal(rng, (n, self.latent_dim))

    def generate(self, state, z):
        """One forward pass of g in inference mode (running batch-norm statistics), by α's
        moving average when one is kept: each shape depends on its own Z only. Returns Y in
        [−1, 1]."""
        params = state.get("gen_ema_params", state["gen_params"])
        variables = {"params": params, "batch_stats": state["gen_batch_stats"]}
        return self.generator.apply(variables, z, train=False)

    @staticmethod
    def to_descriptor(state, y):
        """[−1, 1] (generator) → mean-removed occupancies (descriptor)."""
        return (y + 1.0) / 2.0 - state["data_mean"]

    @staticmethod
    def from_descriptor(state, d):
        return 2.0 * (d + state["data_mean"]) - 1.0

    def refine(self, state, rng, y, num_steps, noise=True):
        """Mode seeking from y ([−1, 1]): `num_steps` Langevin steps of the descriptor."""
        d = self.to_descriptor(state, y)
        chain, _ = self.model.langevin(state["params"], rng, d, num_steps, noise)
        return self.from_descriptor(state, chain.position)

    def init(self, rng, data_mean):
        k_d, k_g, k_z, rng = jax.random.split(rng, 4)
        variables = self.generator.init(k_g, jnp.zeros((1, self.latent_dim)), train=False)
        state = {
            "step": jnp.zeros((), jnp.int32),
            **self.model.init(k_d),
            "gen_params": variables["params"],
            "gen_batch_stats": variables["batch_stats"],
            "gen_opt_state": self.gen_tx.init(variables["params"]),
            "rng": rng,
            "data_mean": jnp.asarray(data_mean, jnp.float32),
        }
        if self.gen_ema:
            state["gen_ema_params"] = variables["params"]
        y = self.generate(state, self.latents(k_z, self.num_chains))
        return dict(state, chains=y, generated=y)

    def train_step(self, state, batch):
        """batch: {"voxels": observed, mean-removed (B, R, R, R), "labels": (B,)}."""
        rng, k_z, k_eps, k_lang = jax.random.split(state["rng"], 4)
        # mean removed: the descriptor's domain
        observed = self.model.augment(jax.random.fold_in(k_eps, 7), batch["voxels"])
        z = self.latents(k_z, self.num_chains)

        def forward(gen_params, batch_stats, z=z):
            # g(Z), or (Bernoulli) its pre-tanh output, which the regression's residual then
            # moves directly
            variables = {"params": gen_params, "batch_stats": batch_stats}
            out, new = self.generator.apply(
                variables, z, train=True, logits=self.bernoulli, mutable=["batch_stats"]
            )
            return out, new["batch_stats"]

        squash = jnp.tanh if self.bernoulli else (lambda out: out)

        # One forward pass of g serves the chains' start and α's first gradient (vjp), unless
        # Z is inferred (below).
        out, gen_vjp, batch_stats = jax.vjp(
            lambda p: forward(p, state["gen_batch_stats"]), state["gen_params"], has_aux=True
        )
        y_gen = squash(out)
        y_hat = y_gen + self.output_noise * draws.normal(k_eps, y_gen.shape)

        # Mode seeking: the descriptor revises Ŷ; no gradient of θ or α flows through it.
        m = self.model
        noise = m.noise_on(state["step"])
        revised = self.refine(state, k_lang, y_hat, m.sampler.num_steps, noise)
        revised = jax.lax.stop_gradient(revised)

        # Mode shifting, eq. (7): the revisions are the synthesized examples.
        synthesized = self.to_descriptor(state, revised)
        negative = m.negative_examples(
            jax.random.fold_in(k_eps, 8), observed, state["data_mean"], synthesized
        )
        learner, _, metrics = m.mode_shifting(
            m.learner(state),
            observed,
            synthesized,
            negative=negative,
            rng=jax.random.fold_in(k_eps, 9),
        )

        # Learning from the revision, eq. (17): α ← α + γ Σ (Ỹ − g(Z)) ∂g/∂α / σ², i.e.
        # descent on Σ‖Ỹ − g(Z)‖² / (2σ²), averaged over the chains.
        # The target is clipped to g's range: Ỹ may leave [−1, 1] (the descriptor's domain is
        # unbounded), and regressing a tanh output onto ±1.5 only drives it into saturation,
        # where ∂g/∂α vanishes and a voxel stuck at −1 never turns on again.
        target = self.regression_target(jnp.clip(revised, -1.0, 1.0))
        residual = target - y_gen
        n = self.num_chains

        def regress(gen_params, gen_opt_state, vjp, y):
            (gen_grads,) = vjp(-(target - y) / (self.sigma**2 * n))
            gen_updates, gen_opt_state = self.gen_tx.update(gen_grads, gen_opt_state, gen_params)
            return optax.apply_updates(gen_params, gen_updates), gen_opt_state, gen_grads

        if self.infer_steps:
            # Z̃ that explains Ỹ under g: the pairs (Z̃, Ỹ) are what g can learn from when a
            # revision moved g(Z) far, to a shape g maps from another Z
            z_fit = self.infer(state, jax.random.fold_in(k_lang, 1), z, target)
            out, gen_vjp, batch_stats = jax.vjp(
                lambda p: forward(p, state["gen_batch_stats"], z_fit),
                state["gen_params"],
                has_aux=True,
            )
            y_fit = squash(out)
        else:
            z_fit, y_fit = z, y_gen
        gen_params, gen_opt_state, gen_grads = regress(
            state["gen_params"], state["gen_opt_state"], gen_vjp, y_fit
        )

        def again(carry, _):
            # more steps on the same pairs, so g keeps up with what the revisions teach
            gen_params, gen_opt_state, stats = carry
            out, vjp, stats = jax.vjp(lambda p: forward(p, stats, z_fit), gen_params, has_aux=True)
            return regress(gen_params, gen_opt_state, vjp, squash(out))[:2] + (stats,), None

        if self.regress_steps > 1:
            (gen_params, gen_opt_state, batch_stats), _ = jax.lax.scan(
                again, (gen_params, gen_opt_state, batch_stats), None, self.regress_steps - 1
            )

        dist = jnp.sqrt(energy.sum_sq(residual))
        metrics.update({
            "gen_loss": jnp.mean(energy.sum_sq(residual)) / (2 * self.sigma**2),
            "revision": jnp.mean(dist),  # ‖Ỹ − g(Z)‖, what MCMC teaching drives down
            # read by the loop's guard, in the descriptor's domain like Synthesis's
            "sample_norm": jnp.sqrt(jnp.mean(energy.sum_sq(self.to_descriptor(state, revised)))),
            "gen_grad_norm": optax.global_norm(gen_grads),
            "occupancy_gen": jnp.mean(y_gen > 0),
            # diversity over Z: revisions that contract g's shapes to one regress g onto it
            "distance_gen": _pairwise(y_gen, _distance),  # ‖g(Z_i) − g(Z_j)‖ vs "revision"
            "contraction": _contraction(y_gen, residual + y_gen),
            "iou_gen": _pairwise((y_gen > 0).astype(jnp.float32), _iou),
            "occupancy_obs": jnp.mean(observed + state["data_mean"] > 0.5),
        })  # fmt: skip
        if self.infer_steps:  # ‖Ỹ − g(Z̃)‖: how much of the revision the inferred Z̃ explains
            metrics["revision_inferred"] = jnp.mean(jnp.sqrt(energy.sum_sq(target - y_fit)))
        average = {}  # α's moving average for draws; training uses α itself
        if self.gen_ema:
            average["gen_ema_params"] = ebm.moving_average(
                state["gen_ema_params"], gen_params, self.gen_ema
            )
        new_state = dict(
            state,
            **learner,
            **average,
            step=state["step"] + 1,
            gen_params=gen_params,
            gen_batch_stats=batch_stats,
            gen_opt_state=gen_opt_state,
            rng=rng,
            chains=revised,
            generated=y_gen,
        )
        return new_state, metrics

    def regression_target(self, revised):
        """What g regresses on, in [−1, 1]: the revision, with the edits of its pieces that
        generator.bridge / main_piece / despeckle ask for (gvoxel.core.pieces)."""
        if not (self.bridge or self.main_piece or self.despeckle):
            return revised
        occupancy = (revised + 1.0) / 2.0
        on, off = 0.5 + self.target_margin, 0.5 - self.target_margin
        if self.bridge:
            occupancy = pieces.bridged(occupancy, self.bridge, self.bridge_ridge, on)
        if self.main_piece:
            occupancy = pieces.main_piece(occupancy, off)
        if self.despeckle:
            occupancy = pieces.despeckled(occupancy, self.despeckle, off)
        return 2.0 * occupancy - 1.0

    def infer(self, state, rng, z, target):
        """Langevin inference of Z from Ỹ under Ỹ = g(Z) + ε, ε ~ N(0, σ²I), Z ~ N(0, I),
        started at z; g in training mode like the regression that follows."""
        variables = {"params": state["gen_params"], "batch_stats": state["gen_batch_stats"]}

        def posterior_energy(z):  # −log p(Z | Ỹ) per chain, up to a constant
            y = self.generator.apply(variables, z, train=True, mutable=["batch_stats"])[0]
            return energy.sum_sq(target - y) / (2 * self.sigma**2) + 0.5 * energy.sum_sq(z)

        energy_and_grad = energy.with_grad(posterior_energy)

        chain, _ = langevin.sample(
            rng,
            langevin.init(z, energy_and_grad),
            energy_and_grad,
            self.infer_steps,
            self.infer_step_size,
            final_grad=False,
        )
        return jax.lax.stop_gradient(chain.position)

    # -- sampling (gvoxel sample / gvoxel generate) -----------------------------------------

    def synthesize(self, state, rng, num, num_steps, noise=True):
        """g(Z) for fresh Z, revised by `num_steps` Langevin steps, then
        `sampler.polish_steps` noise-free ones, by θ's moving average when one is kept;
        grids in [0, 1]."""
        k_z, k_lang = jax.random.split(rng)
        y = self.generate(state, self.latents(k_z, num))
        state = dict(state, params=self.model.sampling_params(state))
        if num_steps:
            y = self.refine(state, k_lang, y, num_steps, noise)
        return self.postprocess(state, self.polish(state, y))

    def continue_chains(self, state, rng, y, num_steps, noise=True):
        y = self.refine(state, rng, y, num_steps, noise)
        return self.postprocess(state, self.polish(state, y))

    def polish(self, state, y):
        """The descriptor's noise-free polish (`sampler.polish_steps`) of y ([−1, 1])."""
        if self.model.sampler.polish_steps <= 0:
            return y
        d = self.model.polish(state["params"], self.to_descriptor(state, y))
        return self.from_descriptor(state, d)

    def outputs(self, state):
        return {
            "samples": self.postprocess(state, state["chains"]),
            "generated": self.postprocess(state, state["generated"]),
        }

    @staticmethod
    def postprocess(state, y):
        """[−1, 1] back to soft occupancies in [0, 1] (threshold 0.5 for shapes)."""
        del state
        return jnp.clip((y + 1.0) / 2.0, 0.0, 1.0)
