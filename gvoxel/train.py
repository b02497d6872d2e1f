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
import ml_collections
import numpy as np
from absl import logging
from jax.experimental import multihost_utils

from gvoxel import variants, visual
from gvoxel.data import split
from gvoxel.errors import ConfigError, GVoxelError
from gvoxel.experiment import batches as batches_lib
from gvoxel.experiment import checkpoint, sharding, watchdog, writers
from gvoxel.experiment import config as config_lib
from gvoxel.experiment import run as run_lib
from gvoxel.experiment.run import Experiment, check_workdir, warm_start
from gvoxel.metrics import evaluators
from gvoxel.variants.base import DataInfo, DrawsSamples


class TrainingDiverged(GVoxelError):
    pass


class PeerLost(GVoxelError):
    """A collective of a multi-process run failed: another process died mid-exchange."""


def to_host(tree):
    """Global arrays as numpy on every process (each joins the gather when there are several)."""
    if jax.process_count() > 1:
        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.tree.map(np.asarray, jax.device_get(tree))


def write_outputs(exp: Experiment, state, out_dir: str, prefix: str, formats, writer=None, step=0):
    """The variant's outputs written by process 0 (and their pictures to `writer`'s
    TensorBoard); returns them as numpy on every process."""
    outputs = to_host(exp.variant.outputs(state))
    if jax.process_index() == 0:
        for name, grids in outputs.items():
            paths = visual.write_samples(grids, out_dir, f"{prefix}_{name}", formats=tuple(formats))
            if writer is not None:
                writer.write_image(step, name, paths["png"])
    return outputs


class _Diverged(Exception):
    def __init__(self, step, quantities):
        super().__init__(f"iteration {step}: {', '.join(quantities)}")
        self.step, self.quantities = step, quantities


def _unhealthy(metrics: dict, guard, voxels: int) -> list[str]:
    bad = [f"non-finite {k}" for k, v in metrics.items() if not np.isfinite(v)]
    rms = metrics.get("sample_norm", 0.0) / np.sqrt(voxels)
    if not bad and rms > guard.max_sample_rms:
        bad.append(f"sample norm exploded (rms {rms:.3g} > guard.max_sample_rms)")
    # f can run off while the chains stay small (the samples' norm then says nothing)
    limit = guard.get("max_abs_f", 0.0)
    for k, v in metrics.items():
        if not bad and limit and k.split("/")[-1] in ("f_obs", "f_syn") and abs(v) > limit:
            bad.append(f"energy ran off ({k} {v:.3g}, beyond guard.max_abs_f)")
    return bad


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
    train_set = split.training_set(config.data)
    mean = batches_lib.data_mean(train_set.voxels, config.data.mean)
    batches = batches_lib.Batches(
        train_set.voxels - mean, t.batch_size, config.seed, labels=train_set.labels
    )
    info = DataInfo(train_set.resolution, len(train_set.voxels), batches.steps_per_epoch)
    variants.get(config, info)  # a config error ends here, before the workdir gets folders
    refine = run_lib.refiner(config, info.resolution)  # so does a bad refine.model

    mngr = checkpoint.manager(workdir, t.keep_checkpoints)
    meta = {
        "config": json.loads(config_lib.to_json(config)),
        "data_info": dataclasses.asdict(info),
        "guard_scale": 1.0,
        "guard_retries": 0,
    }
    if mngr.latest_step() is not None:
        saved = checkpoint.saved_meta(mngr)
        # keys added to the code after the run was saved count as their defaults
        old = config_lib.from_saved(saved["config"]).to_dict()
        for d in config_lib.check_resume(old, config, workdir, override_config):
            logging.warning("config changed on resume: %s", d)
        meta["guard_scale"] = saved.get("guard_scale", 1.0)
        meta["guard_retries"] = saved.get("guard_retries", 0)

    writer = writers.MetricWriter(os.path.join(workdir, "metrics"))
    writer.write_text("config", str(config))
    stop = {"signal": None}
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        stop["signal"] = signum  # finish this dispatch, checkpoint, exit

    signal.signal(signal.SIGTERM, on_sigterm)
    # one process alone cannot stall on the others
    dog = watchdog.Watchdog(t.stall_timeout_s if jax.process_count() > 1 else 0)
    profile = Profile(os.path.join(workdir, "profile"), t.get("profile_steps", 0))
    lost = False
    try:
        while True:
            exp = Experiment(
                config_lib.scaled(config, meta["guard_scale"]), info, t.num_devices or None
            )
            if mngr.latest_step() is not None:
                step, state, _ = checkpoint.restore(mngr, exp.abstract_state)
                logging.info("resumed from checkpoint at iteration %d", step)
            else:
                state, step = exp.init_state(config.seed, mean, batches.data), 0
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
                return _loop(
                    exp, state, step, batches, mngr, writer, meta, workdir, stop, dog, profile,
                    refine,
                )  # fmt: skip
            except jax.errors.JaxRuntimeError as e:
                if jax.process_count() == 1:
                    raise
                lost = True  # waiting for the async save or a clean shutdown would hang
                first = " ".join(str(e).split("\n")[0].split())[:200]
                raise PeerLost(
                    f"a collective failed ({first}): another process of this run has "
                    f"probably died; the workdir's last checkpoint ({mngr.latest_step()}) "
                    "is kept"
                ) from None
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
        dog.stop()
        profile.stop()  # also when the guard rolled back mid-trace
        if not lost:
            mngr.wait_until_finished()
            mngr.close()
        writer.close()
        signal.signal(signal.SIGTERM, previous)


def _loop(exp, state, step, batches, mngr, writer, meta, workdir, stop, dog, profile,
          refine=None):  # fmt: skip
    config, t = exp.config, exp.config.train
    n = t.steps_per_dispatch
    train_step = exp.jit_train_step(n)
    batch_sharding = sharding.data_sharded(exp.mesh, leading=n > 1)
    samples_dir = os.path.join(workdir, "samples")
    voxels = exp.info.resolution**3
    evaluate = evaluators.make_evaluator(config)
    window = None  # (time, step) the rate is measured from: after the first dispatch (compile)
    while step < t.num_iters:
        host = [batches.batch(i) for i in range(step, step + n)]
        host = host[0] if n == 1 else jax.tree.map(lambda *b: np.stack(b), *host)
        batch = jax.tree.map(lambda a: sharding.put_global(a, batch_sharding), host)
        state, metrics = train_step(state, batch)
        step += n
        metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
        if window is None:
            dog.start()  # armed after the first dispatch: compiling is not a stall
        dog.beat()
        profile.after_dispatch(step)
        bad = _unhealthy(metrics, config.guard, voxels)
        if bad:
            raise _Diverged(step, bad)
        if window is None:
            window = (time.time(), step)
        if (step % t.log_every == 0 or step >= t.num_iters) and step > window[1]:
            # iterations per second over the iterations since the last log, compile excluded
            rate = (step - window[1]) / max(time.time() - window[0], 1e-9)
            eta = (t.num_iters - step) / max(rate, 1e-9)
            metrics.update(iters_per_s=rate, eta_s=eta)
            writer.write_scalars(step, metrics)
            logging.info("iteration %d of %d, %.3g it/s, ETA %s", step, t.num_iters, rate, hms(eta))
            window = (time.time(), step)
        elif step % t.log_every == 0 or step >= t.num_iters:
            writer.write_scalars(step, metrics)
        if step % t.sample_every == 0 or step >= t.num_iters:
            outputs = write_outputs(
                exp, state, samples_dir, f"iter_{step:06d}", config.output.formats, writer, step
            )
            samples = outputs.get("samples")
            scores = evaluate(samples, step, draw=_drawer(exp, state, step, refine))
            if scores:
                writer.write_scalars(step, scores)
            dog.beat()
            window = (time.time(), step)  # writing pictures and scoring is not training time
        if step % t.checkpoint_every == 0 or step >= t.num_iters or stop["signal"]:
            checkpoint.save(mngr, step, state, meta, force=True)
            _fault("save", step)
        if stop["signal"]:
            mngr.wait_until_finished()
            logging.warning("SIGTERM: checkpointed iteration %d, exiting", step)
            break
    return state


class Profile:
    """A jax.profiler trace of `steps` iterations after the first dispatch (compile excluded),
    written under `logdir` (TensorBoard's profile tab, or Perfetto)."""

    def __init__(self, logdir: str, steps: int):
        self.logdir, self.steps, self.until = logdir, steps, None

    def after_dispatch(self, step: int):
        if self.steps <= 0:
            return
        if self.until is None:
            jax.profiler.start_trace(self.logdir)
            self.until = step + self.steps
            logging.info("profiling iterations %d-%d into %s", step + 1, self.until, self.logdir)
        elif step >= self.until:
            self.stop()

    def stop(self):
        if self.steps > 0 and self.until is not None:
            jax.profiler.stop_trace()
            self.steps = 0


def hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _drawer(exp, state, step, refine=None):
    """draw(n): n fresh samples as `gvoxel sample` draws them, refined by `refine`
    (run_lib.refiner) where the recipe says so (None if the variant can't draw)."""
    if not isinstance(exp.variant, DrawsSamples):
        return None

    def draw(n):
        grids, _, _ = run_lib.draw(exp, state, step, n, seed=step, refine=refine)
        grids = grids["samples"] if isinstance(grids, dict) else grids
        return to_host(grids)

    return draw
