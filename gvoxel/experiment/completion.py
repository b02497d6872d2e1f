"""Run a trained conditional model (recovery / super-resolution) over many shapes.

Shared by the recover and superres commands and the benchmarks: one jitted
call per chunk of shapes (the chain is one lax.scan inside), results in occupancy units.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from gvoxel.core import ebm, negatives, pieces, views
from gvoxel.errors import ConfigError
from gvoxel.variants import base


def check_variant(exp, name: str):
    """A one-line error unless the run is a `name` model (recovery or superres)."""
    base.require(exp.variant, exp.config.variant, "complete a partial input")
    if exp.config.variant != name:
        raise ConfigError(
            f"the workdir holds a {exp.config.variant!r} model; this needs a {name!r} model"
        )


@functools.partial(jax.jit, static_argnums=(0, 6))
def _run(variant, params, rng, cond, y, data_mean, num_steps, noise):
    y0, chain, _ = variant.complete(params, rng, cond, y, data_mean, num_steps, noise)
    post = lambda v: jnp.clip(v + data_mean, 0.0, 1.0)  # noqa: E731
    return post(y0), post(chain.position)


def view_grid(config, use=True):
    """(mirror axis, the views) of the run's completion ensemble; one view when off."""
    if not use:
        return -1, views.views(False, -1)
    axis = int(config.sampler.view_mirror)  # checked by Conditional.from_config
    return axis, views.views(bool(config.sampler.view_shifts), axis)


def recipe(config) -> str | None:
    """What the run's completion recipe averages, e.g. "8 views, chains on f̄"; None when it
    is one chain on f (what `ensemble=False` runs)."""
    n = len(view_grid(config)[1])
    f_bar = bool(config.sampler.get("energy_shifts", False))
    if n == 1 and not f_bar:
        return None
    return f"{n} view{'s' if n > 1 else ''}" + (", chains on f̄" if f_bar else "")


def sampling_variant(exp, use=True):
    """The run's variant, its chains on f̄ (ebm.SamplerSettings.shift_average) when the run's
    recipe says `sampler.energy_shifts` and `use`."""
    variant = exp.variant
    if not (use and exp.config.sampler.get("energy_shifts", False)):
        return variant
    sampler = variant.model.sampler._replace(shift_average=True)
    return dataclasses.replace(variant, model=dataclasses.replace(variant.model, sampler=sampler))


def complete(exp, state, cond, y, seed=0, num_steps=None, noise=None, chunk=None, ensemble=None):
    """(start states, results) for all shapes; `cond`/`y` are (N, ...) numpy arrays, `y` may
    be None when the condition alone fixes the start (super-resolution).

    With the run's `sampler.view_shifts` / `sampler.view_mirror` each result is the mean of
    the chains run on every view of the input (core/views.py), mapped back; the starts are
    the plain input's. With `sampler.energy_shifts` the chains move on f̄.
    `ensemble=False` turns both off: one chain on f."""
    variant = sampling_variant(exp, ensemble is not False)
    steps = exp.config.sampler.steps if num_steps is None else int(num_steps)
    if steps < 1:
        raise ConfigError(f"Langevin steps must be >= 1, got {steps}")
    noise = variant.test_noise if noise is None else bool(noise)
    chunk = chunk or variant.batch_size
    params = ebm.EnergyModel.sampling_params(state)  # θ's moving average when one is kept
    axis, grid = view_grid(exp.config, ensemble is not False)

    mean = np.asarray(state["data_mean"])

    def run_view(view):
        # Shifts are in cells of the condition's grid; the shape grid may be finer. A
        # per-voxel data mean moves with the view.
        c_all = views.apply(cond, view, axis)
        y_all = None if y is None else views.apply(y, view, axis, y.shape[-1] // cond.shape[-1])
        m = mean
        if mean.ndim >= 3:
            m = views.apply(mean, view, axis, mean.shape[-1] // cond.shape[-1])
        starts, results = [], []
        for i in range(0, len(cond), chunk):
            c = jnp.asarray(c_all[i : i + chunk])
            yy = None if y_all is None else jnp.asarray(y_all[i : i + chunk], jnp.float32)
            rng = jax.random.fold_in(jax.random.PRNGKey(seed), i)
            s, r = _run(variant, params, rng, c, yy, jnp.asarray(m), steps, noise)
            starts.append(np.asarray(s))
            results.append(np.asarray(r))
        s, r = np.concatenate(starts), np.concatenate(results)
        unit = r.shape[-1] // cond.shape[-1]
        return views.invert(s, view, axis, unit), views.invert(r, view, axis, unit)

    start, total = run_view(grid[0])
    for view in grid[1:]:
        total = total + run_view(view)[1]
    return start, total / len(grid)


def binarize(exp, cond, results):
    """Binary shapes nearest to `results` that still satisfy `cond` (Conditional.binarize):
    recovery thresholds hidden voxels at its `recovery.threshold`; super-resolution turns on,
    in each block, as many of its largest voxels as the low-resolution input asks for."""
    return np.asarray(exp.variant.binarize(jnp.asarray(cond), jnp.asarray(results)))


def uncertain(soft, band: float = 0.2, max_piece: int = 4):
    """(N, R, R, R) soft occupancies → bool: the voxels a drawn shape leaves in doubt, those
    within `band` of 0.5 and those in or next to its pieces of at most `max_piece` voxels
    above 0.5 (stray voxels, beads of a broken leg)."""
    soft = jnp.asarray(soft, jnp.float32)
    occupied = soft > 0.5
    small = occupied & (pieces.piece_size(occupied) <= max_piece)
    return (jnp.abs(soft - 0.5) < band) | negatives.dilate(small, 1)


@dataclasses.dataclass(frozen=True)
class RefineSettings:
    """How `refine` redraws a drawn shape (the run's `refine.*`): the voxels within `band`
    of 0.5 and the pieces of at most `pieces` voxels first; then the gaps between the largest
    piece and the loose ones (`pieces.gaps` with `radius`, `reach`; reach 0 and radius 0: no
    second round), kept where the recovery model puts them above `join`."""

    band: float = 0.2
    pieces: int = 4
    radius: int = 2
    reach: int = 8
    join: float = 0.4

    @classmethod
    def from_config(cls, config) -> RefineSettings:
        r = config.get("refine", {})
        given = {f.name: type(f.default)(r[f.name]) for f in dataclasses.fields(cls) if f.name in r}
        return cls(**given).checked()

    def checked(self) -> RefineSettings:
        if not (0.0 <= self.band <= 0.5 and 0.0 <= self.join <= 1.0):
            raise ConfigError(
                f"refine.band must be in [0, 0.5] and refine.join in [0, 1], got {self.band} "
                f"and {self.join}"
            )
        if min(self.pieces, self.radius, self.reach) < 0:
            raise ConfigError(
                f"refine.pieces, refine.radius and refine.reach must be >= 0, got "
                f"{self.pieces}, {self.radius}, {self.reach}"
            )
        return self


def check_refiner(exp, resolution: int):
    """A one-line error unless `exp` is a recovery model of `resolution`³ grids."""
    check_variant(exp, "recovery")
    if int(exp.info.resolution) != int(resolution):
        raise ConfigError(
            f"the recovery model works on {exp.info.resolution}³ grids; the shapes are "
            f"{resolution}³"
        )


def refine(exp, state, soft, settings: RefineSettings = RefineSettings(), seed: int = 0):
    """Binary shapes: `soft` decoded at 0.5 where it is sure, its uncertain voxels recovered
    by a trained recovery model (exp, state) of the same resolution with that run's
    completion recipe (a model of fine detail settles what a coarse one left open); then the
    gaps between each result's largest piece and its loose pieces recovered the same way and
    kept above `settings.join` (a leg that stopped short of its seat reaches it)."""
    soft = np.asarray(soft, np.float32)
    if soft.ndim != 4 or len(set(soft.shape[1:])) != 1:
        raise ConfigError(f"refine needs (N, R, R, R) shapes, got shape {soft.shape}")
    check_refiner(exp, soft.shape[1])
    visible = ~np.asarray(uncertain(soft, settings.band, settings.pieces))
    decoded = (soft > 0.5).astype(np.float32)
    _, result = complete(exp, state, visible, decoded, seed)
    shapes = (binarize(exp, visible, result) > 0.5).astype(np.float32)
    if settings.radius == 0 and settings.reach == 0:
        return shapes
    gap = np.asarray(pieces.gaps(jnp.asarray(shapes > 0.5), settings.radius, settings.reach))
    todo = np.flatnonzero(gap.any(axis=(1, 2, 3)))
    if len(todo):
        _, result = complete(exp, state, ~gap[todo], shapes[todo], seed)
        joined = np.asarray(result) > settings.join
        shapes[todo] = np.where(gap[todo], joined, shapes[todo] > 0.5)
    return shapes
