"""Joining a multi-process run: which coordinator, how many processes, which one this is.

Explicit values (flags) win over the environment; the environment names are JAX's own
(JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID), so a launcher can set them once
for every command. With none of them set, `jax.distributed.initialize()` auto-detects
SLURM, Open MPI, TPU pods and Kubernetes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

import jax

from gvoxel.errors import ConfigError

ENV = {
    "coordinator_address": "JAX_COORDINATOR_ADDRESS",
    "num_processes": "JAX_NUM_PROCESSES",
    "process_id": "JAX_PROCESS_ID",
}


class Settings(NamedTuple):
    coordinator_address: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    heartbeat_timeout_s: int = 100  # a dead peer ends the others after about this long

    def explicit(self) -> bool:
        return any(v is not None for v in self[:3])


def settings(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    heartbeat_timeout_s: int = 100,
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """The settings from flags (None = not given) and the environment, checked."""
    given = {
        "coordinator_address": coordinator_address,
        "num_processes": num_processes,
        "process_id": process_id,
    }
    for name, var in ENV.items():
        if given[name] is None and environ.get(var, "") != "":
            given[name] = environ[var]
    if heartbeat_timeout_s < 1:
        raise ConfigError(f"heartbeat_timeout_s must be >= 1, got {heartbeat_timeout_s}")
    s = Settings(heartbeat_timeout_s=heartbeat_timeout_s, **given)
    if not s.explicit():
        return s
    missing = [n for n in ENV if given[n] is None]
    if missing:
        raise ConfigError(
            "a multi-process run needs --coordinator_address, --num_processes and --process_id "
            f"(or {', '.join(ENV.values())}); missing {', '.join('--' + m for m in missing)}"
        )
    try:
        n, i = int(s.num_processes), int(s.process_id)
    except ValueError as e:
        raise ConfigError(f"num_processes and process_id must be integers: {e}") from e
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"process_id must be in [0, num_processes={n}), got {i}")
    if ":" not in str(s.coordinator_address):
        raise ConfigError(
            f"coordinator_address must be HOST:PORT, got {s.coordinator_address!r}"
        )
    return s._replace(num_processes=n, process_id=i)


def initialize(s: Settings) -> None:
    """jax.distributed.initialize with `s` (auto-detection when nothing was given). CPU
    collectives between processes go through gloo (XLA's CPU default has none); the setting
    only touches the CPU backend, and must precede any backend use, so it is set always."""
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if not s.explicit():
        jax.distributed.initialize(heartbeat_timeout_seconds=s.heartbeat_timeout_s)
        return
    jax.distributed.initialize(
        coordinator_address=s.coordinator_address,
        num_processes=s.num_processes,
        process_id=s.process_id,
        heartbeat_timeout_seconds=s.heartbeat_timeout_s,
    )
