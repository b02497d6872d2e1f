"""Data-parallel placement: one `data` mesh axis; batches and Langevin chains are split along
it, everything else (params, optimizer state) is replicated. JAX's own SPMD does the rest."""

from __future__ import annotations

import functools

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from gvoxel.core.conv import DATA  # the mesh axis, named where the convolutions read it
from gvoxel.errors import ConfigError


def make_mesh(num_devices: int | None = None) -> Mesh:
    devices = jax.devices()
    if num_devices:
        if num_devices > len(devices):
            raise ConfigError(f"asked for {num_devices} devices but only {len(devices)} exist")
        devices = devices[:num_devices]
    return Mesh(np.array(devices), (DATA,))


def under_mesh(mesh: Mesh, fn):
    """`fn` traced and run with `mesh` as the context mesh (`jax.set_mesh`), where code inside
    can see it: conv.py's FFTs split their rows by it, which XLA's partitioner does not."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with jax.set_mesh(mesh):
            return fn(*args, **kwargs)

    return wrapped


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def data_sharded(mesh: Mesh, leading: bool = False) -> NamedSharding:
    """Split axis 0 over `data` (axis 1 when `leading`: stacked batches of several steps)."""
    return NamedSharding(mesh, PartitionSpec(None, DATA) if leading else PartitionSpec(DATA))


def check_divisible(name: str, size: int, mesh: Mesh):
    n = mesh.shape[DATA]
    if size % n:
        raise ConfigError(f"{name}={size} is not divisible by the {n} devices of the mesh")


def state_shardings(state, mesh: Mesh, sharded_keys=("chains",)):
    """Leaves under a top-level key in `sharded_keys` are split on axis 0; the rest replicated."""
    return {
        k: jax.tree.map(
            lambda _, k=k: data_sharded(mesh) if k in sharded_keys else replicated(mesh), v
        )
        for k, v in state.items()
    }


def put_global(array: np.ndarray, sharding: NamedSharding) -> jax.Array:
    """A host array (identical on every process) as a global array laid out by `sharding`."""
    return jax.make_array_from_callback(array.shape, sharding, lambda idx: array[idx])
