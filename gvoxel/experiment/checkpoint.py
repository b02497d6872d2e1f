"""Orbax checkpoints of the whole train state (params, optimizer state, chains, PRNG key,
iteration) plus the config it was trained with. Orbax writes to a temporary folder and
renames it when complete, so a killed save never replaces a good checkpoint."""

from __future__ import annotations

import os

import jax
import orbax.checkpoint as ocp

from gvoxel.errors import GVoxelError, InputError


def manager(workdir: str, max_to_keep: int = 3) -> ocp.CheckpointManager:
    ckpt_dir = os.path.join(os.path.abspath(workdir), "checkpoints")
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
    return ocp.CheckpointManager(ckpt_dir, options=options)


def save(mngr: ocp.CheckpointManager, step: int, state, meta: dict, force=False):
    """`meta` (JSON-able) holds the config and what is needed to rebuild the state's shapes."""
    args = ocp.args.Composite(state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(meta))
    return mngr.save(step, args=args, force=force)


def abstract(state, shardings):
    return jax.tree.map(
        lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), state, shardings
    )


def restore(mngr: ocp.CheckpointManager, abstract_state, step: int | None = None):
    """Returns (step, state, saved_config_dict) of the latest (or given) checkpoint."""
    step = mngr.latest_step() if step is None else step
    if step is None:
        raise GVoxelError(f"no checkpoint in {mngr.directory}")
    try:
        out = mngr.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract_state), config=ocp.args.JsonRestore()
            ),
        )
    except (ValueError, KeyError, FileNotFoundError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise GVoxelError(f"checkpoint {step} in {mngr.directory} does not match: {msg}") from e
    return step, out.state, out.config


def saved_meta(mngr: ocp.CheckpointManager, step: int | None = None) -> dict:
    step = mngr.latest_step() if step is None else step
    if step is None:
        raise GVoxelError(f"no checkpoint in {mngr.directory}")
    kept = sorted(mngr.all_steps())
    if step not in kept:  # e.g. an older one the run's retention deleted
        raise InputError(
            f"no checkpoint {step} in {mngr.directory}; it keeps "
            + ", ".join(str(s) for s in kept)
        )
    out = mngr.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))
    return out.config
