"""The variant contract (blackjax / vdm style): what the training loop needs of every paper
algorithm, the optional capabilities a variant may have, and the builders of what they share
(the descriptor, the optimizer, the energy model) from a config."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Protocol, runtime_checkable

import jax.numpy as jnp
import optax

from gvoxel.core import ebm, nets
from gvoxel.errors import ConfigError

State = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class DataInfo:
    resolution: int
    num_train: int
    steps_per_epoch: int


@runtime_checkable
class Variant(Protocol):
    """What the loop runs: `init` and `train_step` are pure (the loop jits them),
    `sharded_keys` names the state entries split over the devices (one row per chain)."""

    sharded_keys: ClassVar[tuple[str, ...]]

    @classmethod
    def from_config(cls, config, info: DataInfo) -> Variant: ...

    def init(self, rng, data_mean) -> State: ...

    def train_step(self, state: State, batch) -> tuple[State, dict]: ...

    def outputs(self, state: State) -> dict:
        """{name: soft occupancy grids} written with every sample montage."""
        ...


@runtime_checkable
class DrawsSamples(Protocol):
    """Draws fresh shapes (gvoxel sample)."""

    def synthesize(self, state, rng, num: int, num_steps: int, noise=True): ...

    def continue_chains(self, state, rng, y, num_steps: int, noise=True): ...


@runtime_checkable
class CompletesInput(Protocol):
    """Completes a partial input: the known part fixed, the rest sampled (recover, superres)."""

    test_noise: bool
    batch_size: int

    def complete(self, params, rng, cond, y, data_mean, num_steps: int, noise): ...

    def binarize(self, cond, result): ...


@runtime_checkable
class HasFeatures(Protocol):
    """Has descriptor features for classification (§6.5)."""

    descriptor: nets.Descriptor


@runtime_checkable
class HasGenerator(Protocol):
    """Has a one-pass generator g(Z) (gvoxel generate)."""

    latent_dim: int

    def generate(self, state, z): ...

    def latents(self, rng, n: int): ...

    def refine(self, state, rng, y, num_steps: int, noise=True): ...


NEGATIVE_KINDS = ("corrupted", "decoded")

CAPABILITIES = {
    "draw fresh samples": DrawsSamples,
    "complete a partial input": CompletesInput,
    "give descriptor features": HasFeatures,
    "generate from latents": HasGenerator,
}


def capabilities(variant) -> list[str]:
    return [name for name, proto in CAPABILITIES.items() if isinstance(variant, proto)]


def require(variant, name: str, capability: str):
    """`variant` (a `name` run) unchanged if it has `capability`, else one ConfigError line
    naming what it can do."""
    if not isinstance(variant, CAPABILITIES[capability]):
        can = ", ".join(capabilities(variant)) or "train only"
        raise ConfigError(f"a {name!r} run cannot {capability} (it can: {can})")
    return variant


# -- what the variants build from a config --------------------------------------------------


def optimizer(cfg, steps_per_epoch: int, num_iters: int = 0) -> optax.GradientTransformation:
    """Adam; `accumulate` = 1 updates every iteration (the paper's text), k every k
    iterations, 0 (or 'epoch') sums the gradients of a whole epoch into one Adam step (the
    authors' public code). The config field is an int, so 0 is how a preset says 'epoch'.
    `decay` "cosine" takes the learning rate to 0 over `num_iters` iterations."""
    decay = cfg.get("decay", "none")
    if decay not in ("none", "cosine"):
        raise ConfigError(f"optim.decay must be 'none' or 'cosine', got {decay!r}")
    lr = cfg.lr
    if decay == "cosine":
        if num_iters < 1:
            raise ConfigError("optim.decay='cosine' needs train.num_iters >= 1")
        lr = optax.cosine_decay_schedule(cfg.lr, num_iters)
    tx = optax.adam(lr, b1=cfg.b1, b2=cfg.b2)
    every = steps_per_epoch if cfg.accumulate in (0, "epoch") else cfg.accumulate
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise ConfigError(
            f"optim.accumulate must be an int ≥ 0 (0 = one step per epoch), got {cfg.accumulate!r}"
        )
    return optax.MultiSteps(tx, every_k_schedule=every) if every > 1 else tx


def descriptor(model_cfg, layers=None, levels: int = 0) -> nets.Descriptor:
    """The config's descriptor; `layers` replaces model.net (multi-grid: one net per grid),
    `levels` > 0 makes it f(Y, t) over that many noise levels."""
    dtype = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}.get(model_cfg.dtype)
    if dtype is None:
        raise ConfigError(f"model.dtype must be 'float32' or 'bfloat16', got {model_cfg.dtype!r}")
    return nets.Descriptor(
        layers=nets.resolve_layers(model_cfg.net if layers is None else layers),
        init_std=model_cfg.init_std,
        conv_impl=model_cfg.conv_impl,
        dtype=dtype,
        head=model_cfg.get("head", "fc"),
        activation=model_cfg.get("activation", "relu"),
        input_blur=int(model_cfg.get("input_blur", 0)),
        spectral_norm=float(model_cfg.get("spectral_norm", 0.0)),
        local=nets.resolve_local(model_cfg.get("local", "")),
        binary_input=bool(model_cfg.get("binary_input", False)),
        levels=int(levels),
    )


def sampler_settings(s) -> ebm.SamplerSettings:
    if not 0.0 <= float(s.get("reinit", 0.0)) <= 1.0 or int(s.get("draw_steps", 0)) < 0:
        raise ConfigError(
            f"sampler.reinit must be in [0, 1] and sampler.draw_steps >= 0, got "
            f"{s.get('reinit')} and {s.get('draw_steps')}"
        )
    return ebm.SamplerSettings(
        int(s.steps),
        float(s.step_size),
        float(s.temperature),
        int(s.noise_off_iter),
        bool(s.mala),
        bool(s.persistent),
        float(s.init_std),
        float(s.reference_std),
        int(s.polish_steps),
        float(s.get("reinit", 0.0)),
        int(s.get("draw_steps", 0)),
        float(s.get("anneal_to", -1.0)),
        binary_well=float(s.get("binary_well", 0.0)),
        init_components=int(s.get("init_components", 0)),
    )


def learning_settings(config) -> ebm.LearningSettings:
    o = config.optim
    alpha, ema = float(o.get("energy_penalty", 0.0)), float(o.get("ema", 0.0))
    axis = int(config.data.get("mirror_axis", -1))
    turn = int(config.data.get("rotate_axis", -1))
    shift = int(config.data.get("shift", 0))
    if alpha < 0 or not 0.0 <= ema < 1.0 or axis not in (-1, 0, 1, 2) or turn not in (-1, 0, 1, 2):
        raise ConfigError(
            "optim.energy_penalty must be >= 0, optim.ema in [0, 1) and data.mirror_axis and "
            f"data.rotate_axis each one of -1, 0, 1, 2; got {alpha}, {ema}, {axis}, {turn}"
        )
    if not 0 <= shift <= 4:
        raise ConfigError(f"data.shift must be 0 to 4 voxels, got {shift}")
    noise = float(config.data.get("noise", 0.0))
    if not 0.0 <= noise < 1.0:
        raise ConfigError(f"data.noise must be in [0, 1), got {noise}")
    weight, rate = float(o.get("negatives", 0.0)), float(o.get("negative_rate", 0.05))
    if not 0.0 <= weight < 1.0 or not 0.0 < rate <= 1.0:
        raise ConfigError(
            f"optim.negatives must be in [0, 1) and optim.negative_rate in (0, 1]; got "
            f"{weight} and {rate}"
        )
    kind = o.get("negative_kind", "corrupted")
    if kind not in NEGATIVE_KINDS:
        raise ConfigError(f"optim.negative_kind must be one of {NEGATIVE_KINDS}, got {kind!r}")
    return ebm.LearningSettings(alpha, ema, axis, turn, shift, weight, rate, noise, kind)


def energy_model(
    config, info: DataInfo, net=None, resolution=None, levels: int = 0
) -> ebm.EnergyModel:
    """The config's EBM at the data resolution (or `resolution`, with descriptor `net`;
    `levels` noise levels for diffusion recovery likelihood)."""
    well = float(config.sampler.get("binary_well", 0.0))
    if well < 0:
        raise ConfigError(f"sampler.binary_well must be >= 0, got {well}")
    for key, on in (
        ("model.binary_input", config.model.get("binary_input", False)),
        ("sampler.binary_well", well > 0),
    ):
        if on and config.data.mean != "none":
            raise ConfigError(
                f"{key} works on occupancies: set data.mean='none', got {config.data.mean!r}"
            )
    return ebm.EnergyModel(
        descriptor=descriptor(config.model, net, levels),
        sampler=sampler_settings(config.sampler),
        tx=optimizer(config.optim, info.steps_per_epoch, int(config.train.num_iters)),
        resolution=int(resolution or info.resolution),
        learning=learning_settings(config),
    )
