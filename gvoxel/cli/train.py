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
from gvoxel.experiment import distributed

_OVERRIDE = flags.DEFINE_bool(
    "override_config", False, "train: resume even if the config differs from the checkpoint's"
)
_DISTRIBUTED = flags.DEFINE_bool(
    "distributed",
    os.environ.get("GVOXEL_DISTRIBUTED", "") == "1",
    "train: join a multi-process run (also GVOXEL_DISTRIBUTED=1); without the three flags "
    "below (or their JAX_* variables) JAX auto-detects SLURM, Open MPI and TPU pods",
)
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address",
    None,
    "train: HOST:PORT of process 0's coordinator (env JAX_COORDINATOR_ADDRESS); implies "
    "--distributed",
)
_NUM_PROCESSES = flags.DEFINE_integer(
    "num_processes", None, "train: processes in the run (env JAX_NUM_PROCESSES)"
)
_PROCESS_ID = flags.DEFINE_integer(
    "process_id", None, "train: this process, 0 .. num_processes-1 (env JAX_PROCESS_ID)"
)
_HEARTBEAT = flags.DEFINE_integer(
    "heartbeat_timeout_s", 100, "train: a process that stops answering ends the run after this"
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
    dist = distributed.settings(
        _COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value, _HEARTBEAT.value
    )
    if _DISTRIBUTED.value or dist.explicit():
        distributed.initialize(dist)
    config = shared.CONFIG.value
    config_lib.check(config)
    logging.info("config:\n%s", config)
    train.train_and_evaluate(config, shared.WORKDIR.value, override_config=_OVERRIDE.value)


REQUIRED = ("config", "workdir")

if __name__ == "__main__":
    common.run(main, REQUIRED)
