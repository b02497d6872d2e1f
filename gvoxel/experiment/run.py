"""Rebuilding a run: its variant, mesh and state shardings from a config (`Experiment`), or
everything from a trained workdir (`load_experiment`); the descriptor warm start."""

from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp
from absl import logging

from gvoxel import variants
from gvoxel.errors import ConfigError, InputError
from gvoxel.experiment import batches as batches_lib
from gvoxel.experiment import bundle, checkpoint, completion, sharding
from gvoxel.experiment import config as config_lib
from gvoxel.variants.base import DataInfo


def check_workdir(workdir: str):
    """A folder a run can write to (created if missing); not a model bundle."""
    if bundle.is_bundle(workdir):
        raise InputError(
            f"workdir {workdir} is a model bundle (parameters only), not a training run; "
            "train in a new folder"
        )
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise InputError(f"workdir {workdir} exists and is not a directory")
    try:
        os.makedirs(workdir, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create workdir {workdir}: {e.strerror}") from e
    if not os.access(workdir, os.W_OK):
        raise InputError(f"workdir {workdir} is not writable")


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

    @functools.cached_property
    def synthesize(self):
        """The variant's fresh draw, jitted once per experiment (count and steps static), so
        repeated draws (the Python API, the evaluators) reuse its executable."""
        return jax.jit(self.variant.synthesize, static_argnums=(2, 3))

    def init_state(self, seed: int, data_mean, centered=None):
        """A fresh state; `centered` (the mean-removed training shapes) gives the chains'
        principal basis when the run starts them from one (sampler.init_components)."""
        init = jax.jit(self.variant.init, out_shardings=self.state_sharding)
        state = sharding.under_mesh(self.mesh, init)(
            jax.random.PRNGKey(seed), jnp.asarray(data_mean)
        )
        if "init_basis" in state and centered is not None:
            basis = batches_lib.principal_basis(centered, state["init_basis"].shape[0])
            state["init_basis"] = jax.device_put(basis, self.state_sharding["init_basis"])
        return state

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


def draw_recipe(config, step: int) -> tuple[int, bool]:
    """How a run draws fresh samples, so a draw reproduces its training samples: Langevin
    steps (sampler.draw_steps, else K) and whether noise was still on at iteration `step`;
    the variant adds the rest (temperature, step size, polish, θ or its moving average)."""
    s = config.sampler
    steps = int(s.get("draw_steps", 0)) or int(s.steps)
    return steps, bool(s.noise_off_iter < 0 or step < s.noise_off_iter)


def refiner(config, resolution: int, source: str | None = None, settings=None):
    """(recovery experiment, its state, completion.RefineSettings) that refines the fresh
    draws of a run with `config` on `resolution`³ grids: the model `source` names (a workdir
    or bundled:NAME; "none": no refining), else the run's recipe (refine.model); None when
    neither names one. `settings` default to the run's refine.*."""
    source = config.get("refine", {}).get("model", "") if source is None else source
    if not source or source == "none":
        return None
    settings = settings or completion.RefineSettings.from_config(config)
    r_exp, r_state, _ = load_experiment(source)
    completion.check_refiner(r_exp, resolution)
    data = lambda c: (c.data.get("path"), c.data.get("category"))  # noqa: E731
    if data(r_exp.config) != data(config):  # allowed (own data, same kind), but worth a line
        logging.warning("refining draws of data %s with %s, trained on %s", data(config),
                        source, data(r_exp.config))  # fmt: skip
    return r_exp, r_state, settings


def draw(exp: Experiment, state, step: int, num: int, seed: int = 0, steps=None, noise=None,
         refine=None):  # fmt: skip
    """`num` fresh samples from a trained state by the run's recipe (soft occupancies; a
    dict per grid for multi-grid). The variant must draw fresh samples. With `refine` (from
    `refiner`) a dict whose "samples" are the refined binary shapes and "unrefined" the
    draws as they came."""
    default_steps, default_noise = draw_recipe(exp.config, step)
    steps = default_steps if steps is None else steps
    noise = default_noise if noise is None else noise
    grids = exp.synthesize(state, jax.random.PRNGKey(seed), num, steps, noise)
    return refined(grids, refine, seed), steps, noise


def refined(grids, refine, seed: int = 0):
    """Drawn grids (an array or a dict per grid) refined by `refine` (from `refiner`; None:
    as they are): a dict, "samples" the refined binary shapes, "unrefined" the draws."""
    if refine is None:
        return grids
    levels = jax.device_get(grids)
    levels = levels if isinstance(levels, dict) else {"samples": levels}
    r_exp, r_state, settings = refine
    shapes = completion.refine(r_exp, r_state, levels["samples"], settings, seed)
    return {**levels, "unrefined": levels["samples"], "samples": shapes}


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


def _load_bundle(source: str, step, num_devices):
    meta, arrays = bundle.read(source)
    if step is not None and step != meta["step"]:
        raise InputError(f"{source} holds iteration {meta['step']} only, not {step}")
    config = config_lib.from_saved(meta["config"])
    exp = Experiment(config, DataInfo(**meta["data_info"]), num_devices)
    mean = arrays.get("['data_mean']")
    if mean is None:
        raise InputError(f"{source}: the model file lacks the data mean")
    state = bundle.fill(exp.init_state(config.seed, mean), arrays)
    return exp, state, meta["step"]


def export(workdir: str, out: str, step: int | None = None) -> str:
    """The model of a trained run as a bundle folder (see gvoxel.experiment.bundle)."""
    exp, state, step = load_experiment(workdir, step, num_devices=1)
    info = {k: getattr(exp.info, k) for k in ("resolution", "num_train", "steps_per_epoch")}
    return str(bundle.write(out, config_lib.to_json(exp.config), info, step, state))


def load_config(workdir: str, step: int | None = None):
    """A trained run's config (keys added since at their defaults), without its state."""
    if bundle.is_bundle(workdir):
        return config_lib.from_saved(bundle.read(workdir)[0]["config"])
    if not os.path.isdir(os.path.join(workdir, "checkpoints")):
        raise InputError(f"{workdir} holds no checkpoints (train with gvoxel.main first)")
    mngr = checkpoint.manager(workdir)
    try:
        return config_lib.from_saved(checkpoint.saved_meta(mngr, step)["config"])
    finally:
        mngr.close()


def load_experiment(workdir: str, step: int | None = None, num_devices=None):
    """Rebuilds a trained run from its workdir, or a shipped model ("bundled:NAME", or a
    bundle folder written by `export`): (experiment, state, step)."""
    if bundle.is_bundle(workdir):
        return _load_bundle(workdir, step, num_devices)
    if not os.path.isdir(os.path.join(workdir, "checkpoints")):
        raise InputError(f"{workdir} holds no checkpoints (train with gvoxel.main first)")
    mngr = checkpoint.manager(workdir)
    try:
        meta = checkpoint.saved_meta(mngr, step)
        # after a guard rollback the run trained (and so samples) with scaled steps
        config = config_lib.scaled(
            config_lib.from_saved(meta["config"]), meta.get("guard_scale", 1.0)
        )
        exp = Experiment(config, DataInfo(**meta["data_info"]), num_devices)
        step, state, _ = checkpoint.restore(mngr, exp.abstract_state, step)
    finally:
        mngr.close()
    return exp, state, step
