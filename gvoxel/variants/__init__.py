"""The paper's algorithms, one per module, run by the one training loop (gvoxel.train). A
variant supplies the model, its loss and its sampler (the contract: variants.base.Variant,
with optional capabilities); the loop supplies data, jit/sharding, checkpoints and outputs.
A variant module may define `extend_config(c)` to add its own config keys.
"""

from __future__ import annotations

import importlib

from gvoxel.errors import ConfigError

# name -> (module, class)
REGISTRY = {
    "synthesis": ("gvoxel.variants.synthesis", "Synthesis"),
    "recovery": ("gvoxel.variants.recovery", "Recovery"),
    "superres": ("gvoxel.variants.superres", "SuperResolution"),
    "cooperative": ("gvoxel.variants.cooperative", "Cooperative"),
    "multigrid": ("gvoxel.variants.multigrid", "MultiGrid"),
    "classifier": ("gvoxel.variants.classifier", "Classifier"),
    "diffusion": ("gvoxel.variants.diffusion", "RecoveryLikelihood"),
}


def _module(name):
    if name not in REGISTRY:
        raise ConfigError(f"unknown variant {name!r}; choose one of {sorted(REGISTRY)}")
    return importlib.import_module(REGISTRY[name][0])


# variants whose train step builds negative examples (optim.negatives)
NEGATIVES = ("synthesis", "cooperative")
# variants whose chains can start from the training shapes' principal components
PRINCIPAL_STARTS = ("synthesis",)


def get(config, data_info):
    """Builds the variant named by `config.variant`."""
    cls = getattr(_module(config.variant), REGISTRY[config.variant][1])
    if float(config.optim.get("negatives", 0.0)) and config.variant not in NEGATIVES:
        raise ConfigError(
            f"optim.negatives is used by the {' and '.join(NEGATIVES)} variants, not by "
            f"{config.variant}"
        )
    k = config.sampler.get("init_components", 0)
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k <= data_info.num_train:
        raise ConfigError(
            f"sampler.init_components must be an int from 0 to the {data_info.num_train} "
            f"training shapes, got {k!r}"
        )
    if k and config.variant not in PRINCIPAL_STARTS:
        raise ConfigError(
            f"sampler.init_components is used by the {' and '.join(PRINCIPAL_STARTS)} "
            f"variant, not by {config.variant}"
        )
    return cls.from_config(config, data_info)


def extend_config(name, c):
    """Adds the variant's own keys (if any) to a base config."""
    extend = getattr(_module(name), "extend_config", None)
    if extend is not None:
        extend(c)
    return c
