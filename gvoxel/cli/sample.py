"""Draw fresh samples from a trained model; writes .npz, a PNG montage and meshes (for a
multi-grid model one set per grid: grid4, grid16, ..., samples = the finest).

Where the run's recipe names a recovery model (refine.model), the draws are refined by it
and written binary, the raw draws beside them as unrefined.*.

python -m gvoxel sample --workdir=runs/chair --num=16 --langevin_steps=200 --seed=0 --out=samples
python -m gvoxel sample --workdir=bundled:chair_cooperative32 --num=64 --out=fresh
python -m gvoxel sample --workdir=bundled:chair_cooperative32 --out=raw --refine_with=none
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
from absl import flags, logging

from gvoxel import progress, visual
from gvoxel.cli import common
from gvoxel.cli import flags as shared
from gvoxel.errors import ConfigError
from gvoxel.experiment import completion
from gvoxel.experiment import run as run_lib
from gvoxel.variants import base

_INIT = flags.DEFINE_enum(
    "init",
    "noise",
    ["noise", "chains"],
    "sample: start from N(0, init_std²) noise or from the saved persistent chains",
)
_REFINE = flags.DEFINE_string(
    "refine_with",
    None,
    "sample: a recovery model (workdir or bundled:NAME) that redraws each sample's uncertain "
    "voxels and the gaps between its pieces; the samples are then binary (the raw draws are "
    "kept as unrefined.*). Default: the run's recipe (refine.model); none: no refining",
)
_BAND = flags.DEFINE_float(
    "refine_band", None, "sample, refining: voxels within this of 0.5 are uncertain (recipe: 0.2)"
)
_PIECES = flags.DEFINE_integer(
    "refine_pieces", None, "sample, refining: pieces of at most this many voxels are uncertain"
)
_REACH = flags.DEFINE_integer(
    "refine_reach",
    None,
    "sample, refining: gaps this long along an axis between the largest piece and a loose one "
    "are redrawn (recipe: 8; 0: only the gaps within refine.radius of both pieces)",
)
_JOIN = flags.DEFINE_float(
    "refine_join", None, "sample, refining: a redrawn gap voxel is kept above this (recipe: 0.4)"
)
NUM = 16


def main(argv):
    del argv
    num = shared.value_or(shared.NUM, NUM)
    if num < 1:
        raise ConfigError(f"--num must be positive, got {num}")
    exp, state, step = run_lib.load_experiment(shared.WORKDIR.value, shared.CHECKPOINT.value)
    variant = base.require(exp.variant, exp.config.variant, "draw fresh samples")
    settings = completion.RefineSettings.from_config(exp.config)
    overrides = {"band": _BAND.value, "pieces": _PIECES.value, "reach": _REACH.value,
                 "join": _JOIN.value}  # fmt: skip
    settings = dataclasses.replace(
        settings, **{k: v for k, v in overrides.items() if v is not None}
    ).checked()
    # loaded and checked before drawing, not after
    refine = run_lib.refiner(exp.config, exp.info.resolution, _REFINE.value, settings)
    if _INIT.value == "chains":
        steps, noise = run_lib.draw_recipe(exp.config, step)
        steps = shared.value_or(shared.LANGEVIN_STEPS, steps)
        noise = shared.value_or(shared.NOISE, noise)
        grids = variant.outputs(state)["samples"][:num]
        if steps:
            synth = jax.jit(variant.continue_chains, static_argnums=(3,))
            rng = jax.random.PRNGKey(shared.SEED.value)
            grids = synth(state, rng, state["chains"][:num], steps, noise)
        grids = run_lib.refined(grids, refine, shared.SEED.value)
    else:
        what = f"drawing {num} samples" + (" and refining them" if refine else "")
        with progress.status(what):
            grids, steps, noise = run_lib.draw(
                exp, state, step, num, shared.SEED.value, shared.LANGEVIN_STEPS.value,
                shared.NOISE.value, refine,
            )  # fmt: skip
            grids = jax.block_until_ready(grids)
    # A variant may return {name: grids} (multigrid: every grid); "samples" is the result.
    levels = jax.device_get(grids)
    levels = levels if isinstance(levels, dict) else {"samples": levels}
    out = shared.OUT.value
    for name, level in levels.items():
        visual.write_samples(np.asarray(level), out, name, formats=tuple(shared.FORMATS.value))
    grids = levels["samples"]
    logging.info("wrote %d samples of iteration %d to %s", len(grids), step, out)
    how = f"{steps} Langevin steps, noise {'on' if noise else 'off'}"
    if refine is not None and "unrefined" in levels:
        how += f"; refined by {_REFINE.value or exp.config.refine.model}"
    print(f"wrote {len(grids)} samples (checkpoint {step}; {how}) to {out}/samples.png")


REQUIRED = ("workdir", "out")

if __name__ == "__main__":
    common.run(main, REQUIRED)
