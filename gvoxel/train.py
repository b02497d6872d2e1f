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
from jax.experimental import multihost_utils

from gvoxel import (
    checkpoint,
    config_utils,
    data,
    default_config,
    pipeline,
    sharding,
    variants,
    visual,
    writers,
)
from gvoxel.data.resample import DOWNSCALES
from gvoxel.errors import ConfigError, GVoxelError, InputError
from gvoxel.metrics import evaluators
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
    if config.data.downscale not in DOWNSCALES:  # a typo errs even when nothing is resampled
        raise ConfigError(
            f"data.downscale must be one of {sorted(DOWNSCALES)}, got {config.data.downscale!r}"
        )
    ds = data.load_voxels(
        config.data.path,
        category=config.data.category or None,
        resolution=config.data.resolution or None,
        downscale=config.data.downscale,
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
        if "chains" in self.variant.sharded_keys:
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
        return sharding.under_mesh(self.mesh, init)(
            jax.random.PRNGKey(seed), jnp.asarray(data_mean)
        )

    def jit_train_step(self, steps_per_dispatch: int = 1):
        """The variant's step, jitted with shardings; n > 1 scans over n stacked batches."""
        step_fn = self.variant.train_step
        if steps_per_dispatch > 1:

            def step_fn(state, batches):
                state, metrics = jax.lax.scan(self.variant.train_step, state, batches)
                return state, jax.tree.map(lambda m: m[-1], metrics)

        jitted = jax.jit(
            step_fn,
            in_shardings=(
                self.state_sharding,
                sharding.data_sharded(self.mesh, leading=steps_per_dispatch > 1),
            ),
            out_shardings=(self.state_sharding, sharding.replicated(self.mesh)),
            donate_argnums=0,
        )
        return sharding.under_mesh(self.mesh, jitted)


def write_outputs(exp: Experiment, state, out_dir: str, prefix: str, formats):
    outputs = exp.variant.outputs(state)
    if jax.process_count() > 1:  # every process joins the gather; process 0 writes
        outputs = multihost_utils.process_allgather(outputs, tiled=True)
    if jax.process_index() != 0:
        return
    for name, grids in outputs.items():
        visual.write_samples(
            np.asarray(jax.device_get(grids)), out_dir, f"{prefix}_{name}", formats=tuple(formats)
        )


class _Diverged(Exception):
    def __init__(self, step, quantities):
        super().__init__(f"iteration {step}: {', '.join(quantities)}")
        self.step, self.quantities = step, quantities


def _unhealthy(metrics: dict, max_sample_rms: float, voxels: int) -> list[str]:
    bad = [f"non-finite {k}" for k, v in metrics.items() if not np.isfinite(v)]
    rms = metrics.get("sample_norm", 0.0) / np.sqrt(voxels)
    if not bad and rms > max_sample_rms:
        bad.append(f"sample norm exploded (rms {rms:.3g} > guard.max_sample_rms)")
    return bad


def scaled_config(config, scale: float):
    """The config with step size and learning rate multiplied by the guard's back-off."""
    if scale == 1.0:
        return config
    c = config.copy_and_resolve_references()
    with c.unlocked():
        c.sampler.step_size = config.sampler.step_size * scale
        c.optim.lr = config.optim.lr * scale
    return c


def _fault(point: str, step: int):
    """Test hook: GVOXEL_FAULT=point:step SIGKILLs this process there (e.g. mid-save)."""
    if os.environ.get("GVOXEL_FAULT") == f"{point}:{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def train_and_evaluate(
    config: ml_collections.ConfigDict, workdir: str, override_config: bool = False
):
    check_workdir(workdir)
    t = config.train
    for key in ("log_every", "sample_every", "checkpoint_every"):
        if t[key] % t.steps_per_dispatch:
            raise ConfigError(
                f"train.{key}={t[key]} is not a multiple of "
                f"train.steps_per_dispatch={t.steps_per_dispatch}"
            )
    train_set = load_training_data(config)
    mean = pipeline.data_mean(train_set.voxels, config.data.mean)
    batches = pipeline.Batches(
        train_set.voxels - mean, t.batch_size, config.seed, labels=train_set.labels
    )
    info = DataInfo(train_set.resolution, len(train_set.voxels), batches.steps_per_epoch)

    mngr = checkpoint.manager(workdir, t.keep_checkpoints)
    meta = {
        "config": json.loads(config_utils.to_json(config)),
        "data_info": dataclasses.asdict(info),
        "guard_scale": 1.0,
        "guard_retries": 0,
    }
    if mngr.latest_step() is not None:
        saved = checkpoint.saved_meta(mngr)
        # keys added to the code after the run was saved count as their defaults
        old = config_utils.with_defaults(
            saved["config"], default_config.base_config(saved["config"]["variant"])
        ).to_dict()
        for d in config_utils.check_resume(old, config, workdir, override_config):
            logging.warning("config changed on resume: %s", d)
        meta["guard_scale"] = saved.get("guard_scale", 1.0)
        meta["guard_retries"] = saved.get("guard_retries", 0)

    writer = writers.MetricWriter(os.path.join(workdir, "metrics"))
    stop = {"signal": None}
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        stop["signal"] = signum  # finish this dispatch, checkpoint, exit

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        while True:
            exp = Experiment(
                scaled_config(config, meta["guard_scale"]), info, t.num_devices or None
            )
            if mngr.latest_step() is not None:
                step, state, _ = checkpoint.restore(mngr, exp.abstract_state)
                logging.info("resumed from checkpoint at iteration %d", step)
            else:
                state, step = exp.init_state(config.seed, mean), 0
                if config.model.init_from:
                    state = warm_start(exp, state, config.model.init_from)
            logging.info(
                "training %s on %d shapes at %d^3; %d device(s)",
                config.variant,
                info.num_train,
                info.resolution,
                exp.mesh.size,
            )
            try:
                return _loop(exp, state, step, batches, mngr, writer, meta, workdir, stop)
            except _Diverged as d:
                meta["guard_retries"] += 1
                good = mngr.latest_step()
                if meta["guard_retries"] > config.guard.max_retries:
                    raise TrainingDiverged(
                        f"training diverged at {d} after {config.guard.max_retries} "
                        f"rollback(s); good checkpoints (latest: {good}) are kept in {workdir}"
                    ) from None
                meta["guard_scale"] *= config.guard.backoff
                logging.warning(
                    "diverged at %s; rolling back to checkpoint %s with step size "
                    "and learning rate x%g",
                    d,
                    good,
                    meta["guard_scale"],
                )
    finally:
        mngr.wait_until_finished()
        mngr.close()
        writer.close()
        signal.signal(signal.SIGTERM, previous)


def _loop(exp, state, step, batches, mngr, writer, meta, workdir, stop):
    config, t = exp.config, exp.config.train
    n = t.steps_per_dispatch
    train_step = exp.jit_train_step(n)
    batch_sharding = sharding.data_sharded(exp.mesh, leading=n > 1)
    samples_dir = os.path.join(workdir, "samples")
    voxels = exp.info.resolution**3
    evaluate = evaluators.make_evaluator(config)
    t0, step0 = time.time(), step
    while step < t.num_iters:
        host = [batches.batch(i) for i in range(step, step + n)]
        host = host[0] if n == 1 else jax.tree.map(lambda *b: np.stack(b), *host)
        batch = jax.tree.map(lambda a: sharding.put_global(a, batch_sharding), host)
        state, metrics = train_step(state, batch)
        step += n
        metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
        bad = _unhealthy(metrics, config.guard.max_sample_rms, voxels)
        if bad:
            raise _Diverged(step, bad)
        if step % t.log_every == 0 or step >= t.num_iters:
            rate = (step - step0) / max(time.time() - t0, 1e-9)
            metrics.update(iters_per_s=rate, eta_s=(t.num_iters - step) / max(rate, 1e-9))
            writer.write_scalars(step, metrics)
        if step % t.sample_every == 0 or step >= t.num_iters:
            write_outputs(exp, state, samples_dir, f"iter_{step:06d}", config.output.formats)
            samples = exp.variant.outputs(state).get("samples")
            scores = (
                None if samples is None else evaluate(np.asarray(jax.device_get(samples)), step)
            )
            if scores:
                writer.write_scalars(step, scores)
        if step % t.checkpoint_every == 0 or step >= t.num_iters or stop["signal"]:
            checkpoint.save(mngr, step, state, meta, force=True)
            _fault("save", step)
        if stop["signal"]:
            mngr.wait_until_finished()
            logging.warning("SIGTERM: checkpointed iteration %d, exiting", step)
            break
    return state


def warm_start(exp: Experiment, state, workdir: str):
    """`state` with the descriptor's θ taken from the trained run in `workdir`
    (`model.init_from`), e.g. a cooperative run taught by a trained synthesis run's
    descriptor. Optimizer states stay fresh (they do not depend on θ's values)."""
    src, source, step = load_experiment(workdir, num_devices=1)
    mine, theirs = state["params"], source.get("params")
    act, src_act = exp.config.model.activation, src.config.model.activation
    if act != src_act:  # same shapes, another function
        raise ConfigError(
            f"model.init_from={workdir}: its descriptor uses model.activation={src_act!r}, "
            f"this run {act!r}"
        )
    if theirs is None or jax.tree.map(jnp.shape, mine) != jax.tree.map(jnp.shape, theirs):
        raise ConfigError(
            f"model.init_from={workdir}: its descriptor is not this run's net "
            f"(model.net={exp.config.model.net!r}, model.head={exp.config.model.head!r})"
        )
    logging.info("descriptor initialised from %s (iteration %d)", workdir, step)
    return dict(state, params=jax.device_put(theirs, exp.state_sharding["params"]))


def load_experiment(workdir: str, step: int | None = None, num_devices=None):
    """Rebuilds a trained run from its workdir: (experiment, state, step)."""
    if not os.path.isdir(os.path.join(workdir, "checkpoints")):
        raise InputError(f"{workdir} holds no checkpoints (train with gvoxel.main first)")
    mngr = checkpoint.manager(workdir)
    try:
        meta = checkpoint.saved_meta(mngr, step)
        saved = meta["config"]
        config = config_utils.with_defaults(saved, default_config.base_config(saved["variant"]))
        exp = Experiment(config, DataInfo(**meta["data_info"]), num_devices)
        step, state, _ = checkpoint.restore(mngr, exp.abstract_state, step)
    finally:
        mngr.close()
    return exp, state, step
