"""Train any gvoxel variant; resumes automatically from --workdir.

python -m gvoxel.main --config=configs/synthesis.py:cpu --workdir=runs/chair
"""

from __future__ import annotations

import os

import jax
from absl import flags, logging

from gvoxel import train
from gvoxel.cli import common
from gvoxel.cli import flags as shared
from gvoxel.errors import ConfigError
from gvoxel.experiment import config as config_lib

_OVERRIDE = flags.DEFINE_bool(
    "override_config", False, "train: resume even if the config differs from the checkpoint's"
)
_DISTRIBUTED = flags.DEFINE_bool(
    "distributed",
    os.environ.get("GVOXEL_DISTRIBUTED", "") == "1",
    "train: call jax.distributed.initialize() (multi-host; also GVOXEL_DISTRIBUTED=1)",
)
_CPU_DEVICES = flags.DEFINE_integer(
    "cpu_devices",
    0,
    "train: on a CPU host, run as this many devices, chains and batch split among them "
    "(docs/performance.md says when it pays); 0 = JAX's default",
)


def main(argv):
    del argv
    if _CPU_DEVICES.value < 0:
        raise ConfigError(f"--cpu_devices must be >= 0, got {_CPU_DEVICES.value}")
    if _CPU_DEVICES.value:
        jax.config.update("jax_num_cpu_devices", _CPU_DEVICES.value)  # before any backend use
    if _DISTRIBUTED.value:
        jax.distributed.initialize()
    config = shared.CONFIG.value
    config_lib.check(config)
    logging.info("config:\n%s", config)
    train.train_and_evaluate(config, shared.WORKDIR.value, override_config=_OVERRIDE.value)


REQUIRED = ("config", "workdir")

if __name__ == "__main__":
    common.run(main, REQUIRED)
