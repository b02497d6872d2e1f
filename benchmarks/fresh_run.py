"""A freshly initialised run of a config on given voxels, its jitted step compiled by one
training step: the set-up that train_rate.py and multigrid.py share."""

from __future__ import annotations

import time


def fresh_run(cfg, voxels, devices=1):
    """Returns (experiment, state after one step, jitted step, batches, compile seconds).
    gvoxel is imported here, after a caller may have put another checkout on sys.path."""
    import jax

    from gvoxel import train
    from gvoxel.experiment import batches as pipeline
    from gvoxel.variants.base import DataInfo

    mean = pipeline.data_mean(voxels, cfg.data.mean)
    batches = pipeline.Batches(voxels - mean, cfg.train.batch_size, cfg.seed)
    exp = train.Experiment(
        cfg, DataInfo(voxels.shape[-1], len(voxels), batches.steps_per_epoch), devices
    )
    state = exp.init_state(cfg.seed, mean)
    step = exp.jit_train_step()
    t = time.perf_counter()
    state, metrics = step(state, batches.batch(0))
    jax.block_until_ready(metrics)
    return exp, state, step, batches, time.perf_counter() - t
