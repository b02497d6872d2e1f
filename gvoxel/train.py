"""The one experiment loop shared by every variant (vdm / flax-examples style).

A variant supplies `init`, `train_step`, `outputs`; this loop supplies the data, jit with
shardings on a device mesh, orbax checkpoints with auto-resume, metrics, sample outputs,
preemption handling and the divergence guard.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from gvoxel import checkpoint, config_utils, data, pipeline, sharding, variants, visual, writers
from gvoxel.errors import GVoxelError, InputError
from gvoxel.variants.base import DataInfo


class TrainingDiverged(GVoxelError):
    pass


def check_workdir(workdir: str):
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise InputError(f"workdir {workdir} exists and is not a directory")
    try:
        os.makedirs(workdir, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create workdir {workdir}: {e.strerror}") from e
    if not os.access(workdir, os.W_OK):
        raise InputError(f"workdir {workdir} is not writable")


def load_training_data(config):
    ds = data.load_voxels(
        config.data.path,
        category=config.data.category or None,
        resolution=config.data.resolution or None,
    )
    train, _ = ds.split_train_val(config.data.val_fraction, config.data.seed)
    if config.data.max_examples:
        train = train.subset(np.arange(min(config.data.max_examples, len(train.voxels))))
    return train


class Experiment:
    """Everything the loop and the sampling CLIs need to rebuild a run's state."""

    def __init__(self, config, info: DataInfo, num_devices=None):
        self.config = config
        self.info = info
        self.variant = variants.get(config, info)
        self.mesh = sharding.make_mesh(num_devices)
        sharding.check_divisible("train.batch_size", config.train.batch_size, self.mesh)
        sharding.check_divisible("sampler.num_chains", config.sampler.num_chains, self.mesh)
        abstract = jax.eval_shape(
            self.variant.init, jax.random.PRNGKey(0), jnp.zeros((info.resolution,) * 3)
        )
        self.state_sharding = sharding.state_shardings(
            abstract, self.mesh, self.variant.sharded_keys
        )
        self.abstract_state = checkpoint.abstract(abstract, self.state_sharding)

    def init_state(self, seed: int, data_mean):
        init = jax.jit(self.variant.init, out_shardings=self.state_sharding)
        return init(jax.random.PRNGKey(seed), jnp.asarray(data_mean))

    def jit_train_step(self):
        return jax.jit(
            self.variant.train_step,
            in_shardings=(self.state_sharding, sharding.data_sharded(self.mesh)),
            out_shardings=(self.state_sharding, sharding.replicated(self.mesh)),
            donate_argnums=0,
        )


def write_outputs(exp: Experiment, state, out_dir: str, prefix: str, formats):
    if jax.process_index() != 0:
        return
    for name, grids in exp.variant.outputs(state).items():
        visual.write_samples(
            np.asarray(jax.device_get(grids)), out_dir, f"{prefix}_{name}", formats=tuple(formats)
        )


def train_and_evaluate(
    config: ml_collections.ConfigDict, workdir: str, override_config: bool = False
):
    check_workdir(workdir)
    train_set = load_training_data(config)
    mean = pipeline.data_mean(train_set.voxels, config.data.mean)
    batches = pipeline.Batches(train_set.voxels - mean, config.train.batch_size, config.seed,
                               labels=train_set.labels)
    info = DataInfo(train_set.resolution, len(train_set.voxels), batches.steps_per_epoch)
    exp = Experiment(config, info, config.train.num_devices or None)
    logging.info(
        "training %s on %d shapes at %d^3; %d device(s)",
        config.variant,
        info.num_train,
        info.resolution,
        exp.mesh.size,
    )

    mngr = checkpoint.manager(workdir, config.train.keep_checkpoints)
    meta = {
        "config": json.loads(config_utils.to_json(config)),
        "data_info": dataclasses.asdict(info),
    }
    if mngr.latest_step() is not None:
        saved = checkpoint.saved_meta(mngr)["config"]
        diffs = config_utils.check_resume(saved, config, workdir, override_config)
        for d in diffs:
            logging.warning("config changed on resume: %s", d)
        step, state, _ = checkpoint.restore(mngr, exp.abstract_state)
        logging.info("resumed from checkpoint at iteration %d", step)
    else:
        state = exp.init_state(config.seed, mean)
        step = 0

    writer = writers.MetricWriter(os.path.join(workdir, "metrics"))
    train_step = exp.jit_train_step()
    batch_sharding = sharding.data_sharded(exp.mesh)
    samples_dir = os.path.join(workdir, "samples")
    t = config.train

    stop = {"signal": None}
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        stop["signal"] = signum  # finish this iteration, checkpoint, exit

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        t0, step0 = time.time(), step
        while step < t.num_iters:
            batch = jax.tree.map(lambda a: sharding.put_global(a, batch_sharding),
                                 batches.batch(step))
            state, metrics = train_step(state, batch)
            step += 1
            metrics = jax.device_get(metrics)
            bad = [k for k, v in metrics.items() if not np.isfinite(v)]
            if bad:
                raise TrainingDiverged(
                    f"iteration {step}: non-finite {', '.join(bad)}; last good checkpoint "
                    f"{mngr.latest_step()} is kept in {workdir}"
                )
            if step % t.log_every == 0 or step == t.num_iters:
                rate = (step - step0) / max(time.time() - t0, 1e-9)
                metrics.update(iters_per_s=rate, eta_s=(t.num_iters - step) / max(rate, 1e-9))
                writer.write_scalars(step, metrics)
            if step % t.sample_every == 0 or step == t.num_iters:
                write_outputs(exp, state, samples_dir, f"iter_{step:06d}", config.output.formats)
            if step % t.checkpoint_every == 0 or step == t.num_iters or stop["signal"]:
                checkpoint.save(mngr, step, state, meta, force=True)
            if stop["signal"]:
                logging.warning("SIGTERM: checkpointed iteration %d, exiting", step)
                break
    finally:
        mngr.wait_until_finished()
        mngr.close()
        writer.close()
        signal.signal(signal.SIGTERM, previous)
    return state


def load_experiment(workdir: str, step: int | None = None, num_devices=None):
    """Rebuilds a trained run from its workdir: (experiment, state, step)."""
    if not os.path.isdir(os.path.join(workdir, "checkpoints")):
        raise InputError(f"{workdir} holds no checkpoints (train with gvoxel.main first)")
    mngr = checkpoint.manager(workdir)
    try:
        meta = checkpoint.saved_meta(mngr, step)
        config = ml_collections.ConfigDict(meta["config"])
        exp = Experiment(config, DataInfo(**meta["data_info"]), num_devices)
        step, state, _ = checkpoint.restore(mngr, exp.abstract_state, step)
    finally:
        mngr.close()
    return exp, state, step
