"""What every variant shares: static facts about the data, the optimizer, the descriptor."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import optax

from gvoxel import nets
from gvoxel.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class DataInfo:
    resolution: int
    num_train: int
    steps_per_epoch: int


def optimizer(cfg, steps_per_epoch: int) -> optax.GradientTransformation:
    """Adam; `accumulate` = 1 updates every iteration (the paper's text), k every k
    iterations, 0 (or 'epoch') sums the gradients of a whole epoch into one Adam step (the
    authors' public code). The config field is an int, so 0 is how a preset says 'epoch'."""
    tx = optax.adam(cfg.lr, b1=cfg.b1, b2=cfg.b2)
    every = steps_per_epoch if cfg.accumulate in (0, "epoch") else cfg.accumulate
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise ConfigError(
            f"optim.accumulate must be an int ≥ 0 (0 = one step per epoch), got {cfg.accumulate!r}"
        )
    return optax.MultiSteps(tx, every_k_schedule=every) if every > 1 else tx


def descriptor(model_cfg) -> nets.Descriptor:
    dtype = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}.get(model_cfg.dtype)
    if dtype is None:
        raise ConfigError(f"model.dtype must be 'float32' or 'bfloat16', got {model_cfg.dtype!r}")
    return nets.Descriptor(
        layers=nets.resolve_layers(model_cfg.net),
        init_std=model_cfg.init_std,
        conv_impl=model_cfg.conv_impl,
        dtype=dtype,
        head=model_cfg.get("head", "fc"),
        activation=model_cfg.get("activation", "relu"),
    )
