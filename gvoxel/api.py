"""The Python API: a trained model as an object, numpy in and numpy out.

    import gvoxel
    m = gvoxel.load("runs/chair")            # a training workdir
    shapes = m.sample(16, seed=0)            # (16, 32, 32, 32) soft occupancies in [0, 1]
    gvoxel.render(shapes, "chairs.png")
    gvoxel.export_meshes(shapes, "meshes/")

A model has the methods its variant supports (`m.capabilities` lists them); calling another
is one GVoxelError naming what it can do. Each method is jitted once per input shape.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gvoxel import visual
from gvoxel.core import energy as energy_lib
from gvoxel.core import features as features_lib
from gvoxel.errors import InputError
from gvoxel.experiment import completion
from gvoxel.experiment import run as run_lib
from gvoxel.variants import base


def load(source: str, step: int | None = None) -> Model:
    """A trained model: a training workdir (latest checkpoint, or `step`), a shipped model
    "bundled:NAME" (gvoxel.experiment.bundle.names()), or a folder `gvoxel export` wrote."""
    exp, state, step = run_lib.load_experiment(str(source), step, num_devices=1)
    return Model(exp, state, step)


def render(grids, path: str, **kwargs) -> str:
    """A PNG montage of (N, R, R, R) grids (isosurface at 0.5); returns the path."""
    return visual.save_montage(_grids(grids), path, **kwargs)


def export_meshes(grids, folder: str, prefix: str = "shape", formats=("obj",)) -> list[str]:
    """One mesh per grid (marching cubes at 0.5) in each of `formats`; returns the paths."""
    return visual.export_meshes(_grids(grids), folder, prefix=prefix, formats=tuple(formats))


def _grids(y, resolution: int | None = None) -> np.ndarray:
    y = np.asarray(y, np.float32)
    if y.ndim == 3:
        y = y[None]
    if y.ndim != 4 or len(set(y.shape[1:])) != 1:
        raise InputError(f"expected voxel grids (N, R, R, R), got shape {y.shape}")
    if resolution is not None and y.shape[-1] != resolution:
        raise InputError(f"grids are {y.shape[-1]}³ but the model is {resolution}³")
    if not np.isfinite(y).all():
        raise InputError("voxel grids contain NaN or inf")
    return y


class Model:
    """A trained run: `sample`, `energy`, `recover`, `superres`, `features`, `generate`,
    `interpolate`, as its variant allows."""

    def __init__(self, exp, state, step: int):
        self.exp, self.state, self.step = exp, state, step
        self.variant = exp.variant
        self.name = exp.config.variant
        self.resolution = exp.info.resolution
        self._refiners = {}  # refine source → run_lib.refiner, loaded on first use

    def __repr__(self):
        can = ", ".join(self.capabilities) or "train only"
        return f"<gvoxel {self.name} model, {self.resolution}³, iteration {self.step}: {can}>"

    @property
    def capabilities(self) -> list[str]:
        return base.capabilities(self.variant)

    def _require(self, capability: str):
        return base.require(self.variant, self.name, capability)

    # -- drawing ----------------------------------------------------------------------------

    def sample(self, n: int, seed: int = 0, steps: int | None = None, noise=None,
               refine: bool | str = True) -> np.ndarray:  # fmt: skip
        """n fresh shapes drawn by the run's recipe (as `gvoxel sample`); multi-grid: the
        finest grid. Where the recipe refines its draws with a recovery model (refine.model)
        they come back binary; `refine=False` gives the draws as they are, a workdir or
        bundled:NAME refines with that recovery model instead."""
        self._require("draw fresh samples")
        if int(n) < 1:
            raise InputError(f"n must be positive, got {n}")
        source = None if refine is True else (refine or "none")
        if source not in self._refiners:
            self._refiners[source] = run_lib.refiner(self.exp.config, self.resolution, source)
        grids, _, _ = run_lib.draw(self.exp, self.state, self.step, int(n), seed, steps, noise,
                                   self._refiners[source])  # fmt: skip
        grids = grids["samples"] if isinstance(grids, dict) else grids
        return np.asarray(jax.device_get(grids))

    def generate(self, z) -> np.ndarray:
        """g(Z) of a cooperative model for latents z (N, latent_dim): one forward pass."""
        v = self._require("generate from latents")
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != v.latent_dim:
            raise InputError(f"z must be (N, {v.latent_dim}), got shape {z.shape}")
        return np.asarray(_generate(v, self.state, jnp.asarray(z)))

    def latents(self, n: int, seed: int = 0) -> np.ndarray:
        v = self._require("generate from latents")
        return np.asarray(v.latents(jax.random.PRNGKey(seed), int(n)))

    def interpolate(self, z_a, z_b, n: int = 8) -> np.ndarray:
        """g along the straight line from z_a to z_b (n shapes, the ends exactly)."""
        t = np.linspace(0.0, 1.0, int(n), dtype=np.float32)[:, None]
        return self.generate((1.0 - t) * np.asarray(z_a)[None] + t * np.asarray(z_b)[None])

    # -- the energy and the descriptor ------------------------------------------------------

    def _model_and_params(self):
        v = self.variant
        if hasattr(v, "model"):
            return v.model, self.state["params"]
        return v.levels[-1], self.state["params"][v.names[-1]]  # multi-grid: the finest grid

    def energy(self, y) -> np.ndarray:
        """E(Y) = ‖Y − m‖²/(2s²) − f(Y − m; θ) per shape (occupancies Y, data mean m)."""
        model, params = self._model_and_params()
        if model.descriptor.levels:
            raise InputError(f"a {self.name!r} model has one energy per noise level, not one E(Y)")
        y = _grids(y, self.resolution) - np.asarray(self.state["data_mean"])
        return np.asarray(_energy(model, params, jnp.asarray(y)))

    def features(self, y, pools=features_lib.POOLS) -> np.ndarray:
        """§6.5 descriptor features (N, D) of occupancy grids."""
        v = self._require("give descriptor features")
        y = _grids(y, self.resolution) - np.asarray(self.state["data_mean"])
        return features_lib.extract_all(v.descriptor, self.state["params"], y, tuple(pools))

    # -- completing a partial input --------------------------------------------------------

    def recover(
        self, y, visible, seed: int = 0, steps: int | None = None, views: bool = True
    ) -> np.ndarray:
        """The shapes y with their hidden voxels (visible == 0) filled in, binary; with
        `views` the run's recipe (the mean over its views of the input, `sampler.view_*`,
        chains on f̄ with `sampler.energy_shifts`); False: one chain on f."""
        self._require("complete a partial input")
        if self.name != "recovery":
            raise InputError(f"recover needs a recovery model, this is a {self.name!r} one")
        y = _grids(y, self.resolution)
        visible = np.broadcast_to(np.asarray(visible) > 0.5, y.shape)
        _, result = completion.complete(
            self.exp, self.state, visible, y, seed, steps, ensemble=views
        )
        return completion.binarize(self.exp, visible, result)

    def refine(self, soft, band: float = 0.2, pieces: int = 4, radius: int = 2, reach: int = 8,
               join: float = 0.4, seed: int = 0) -> np.ndarray:  # fmt: skip
        """Drawn shapes (soft occupancies, e.g. another model's `sample(refine=False)`) made
        binary by this recovery model: their uncertain voxels (within `band` of 0.5, or in and
        beside pieces of at most `pieces` voxels) redrawn, the sure ones as decoded at 0.5;
        then the gaps between each shape's largest piece and its loose pieces (within
        `radius` of both, or `reach` along an axis) redrawn and kept above `join`."""
        self._require("complete a partial input")
        if self.name != "recovery":
            raise InputError(f"refine needs a recovery model, this is a {self.name!r} one")
        settings = completion.RefineSettings(band, int(pieces), int(radius), int(reach), join)
        return completion.refine(self.exp, self.state, _grids(soft, self.resolution),
                                 settings.checked(), seed)  # fmt: skip

    def superres(
        self, low, seed: int = 0, steps: int | None = None, views: bool = True
    ) -> np.ndarray:
        """Low-resolution shapes ((R/f)³) up-scaled to R³, binary, keeping every block's
        voxel count; `views` as for `recover`."""
        self._require("complete a partial input")
        if self.name != "superres":
            raise InputError(f"superres needs a superres model, this is a {self.name!r} one")
        low = _grids(low, self.resolution // self.variant.factor)
        _, result = completion.complete(
            self.exp, self.state, low, None, seed, steps, ensemble=views
        )
        return completion.binarize(self.exp, low, result)


@functools.partial(jax.jit, static_argnums=0)
def _energy(model, params, y):
    return energy_lib.energy(model.descriptor_fn, params, y, model.sampler.reference_std)


@functools.partial(jax.jit, static_argnums=0)
def _generate(variant, state, z):
    return variant.postprocess(state, variant.generate(state, z))
