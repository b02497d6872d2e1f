"""Model variants run by the one training loop (gvoxel.train). A variant supplies the model,
its loss and its sampler; the loop supplies data, jit/sharding, checkpoints and outputs."""

from __future__ import annotations

from gvoxel.errors import ConfigError


def get(config, data_info):
    """Builds the variant named by `config.variant`."""
    name = config.variant
    if name == "synthesis":
        from gvoxel.variants.synthesis import Synthesis

        return Synthesis.from_config(config, data_info)
    raise ConfigError(f"unknown variant {name!r}")
