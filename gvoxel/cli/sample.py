"""Draw fresh samples from a trained model; writes .npz, a PNG montage and meshes (for a
multi-grid model one set per grid: grid4, grid16, ..., samples = the finest).

python -m gvoxel sample --workdir=runs/chair --num=16 --langevin_steps=200 --seed=0 --out=samples
python -m gvoxel sample --workdir=bundled:chair_cooperative32 --num=64 --out=fresh \
    --refine_with=bundled:chair_recovery
"""

from __future__ import annotations

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
    "voxels; the samples are then binary (the raw draws are kept as unrefined.*)",
)
_BAND = flags.DEFINE_float(
    "refine_band", 0.2, "sample --refine_with: voxels within this of 0.5 are uncertain"
)
_PIECES = flags.DEFINE_integer(
    "refine_pieces", 4, "sample --refine_with: pieces of at most this many voxels are uncertain"
)
NUM = 16


def main(argv):
    del argv
    num = shared.value_or(shared.NUM, NUM)
    if num < 1:
        raise ConfigError(f"--num must be positive, got {num}")
    if not 0.0 <= _BAND.value <= 0.5 or _PIECES.value < 0:
        raise ConfigError(
            f"--refine_band must be in [0, 0.5] and --refine_pieces >= 0, got {_BAND.value} "
            f"and {_PIECES.value}"
        )
    exp, state, step = run_lib.load_experiment(shared.WORKDIR.value, shared.CHECKPOINT.value)
    variant = base.require(exp.variant, exp.config.variant, "draw fresh samples")
    refiner = None
    if _REFINE.value:
        refiner = run_lib.load_experiment(_REFINE.value)[:2]
        completion.check_variant(refiner[0], "recovery")
        if refiner[0].info.resolution != exp.info.resolution:  # before drawing, not after
            raise ConfigError(
                f"--refine_with works on {refiner[0].info.resolution}³ grids; this run draws "
                f"{exp.info.resolution}³"
            )
    if _INIT.value == "chains":
        steps, noise = run_lib.draw_recipe(exp.config, step)
        steps = shared.value_or(shared.LANGEVIN_STEPS, steps)
        noise = shared.value_or(shared.NOISE, noise)
        grids = variant.outputs(state)["samples"][:num]
        if steps:
            synth = jax.jit(variant.continue_chains, static_argnums=(3,))
            rng = jax.random.PRNGKey(shared.SEED.value)
            grids = synth(state, rng, state["chains"][:num], steps, noise)
    else:
        with progress.status(f"drawing {num} samples"):
            grids, steps, noise = run_lib.draw(
                exp, state, step, num, shared.SEED.value, shared.LANGEVIN_STEPS.value,
                shared.NOISE.value,
            )  # fmt: skip
            grids = jax.block_until_ready(grids)
    # A variant may return {name: grids} (multigrid: every grid); "samples" is the result.
    levels = jax.device_get(grids)
    levels = levels if isinstance(levels, dict) else {"samples": levels}
    if refiner is not None:
        with progress.status(f"refining {num} samples with {_REFINE.value}"):
            refined = completion.refine(
                *refiner, levels["samples"], _BAND.value, _PIECES.value, shared.SEED.value
            )
        levels = {**levels, "unrefined": levels["samples"], "samples": refined}
    out = shared.OUT.value
    for name, level in levels.items():
        visual.write_samples(np.asarray(level), out, name, formats=tuple(shared.FORMATS.value))
    grids = levels["samples"]
    logging.info("wrote %d samples of iteration %d to %s", len(grids), step, out)
    how = f"{steps} Langevin steps, noise {'on' if noise else 'off'}"
    if refiner is not None:
        how += f"; uncertain voxels redrawn by {_REFINE.value}"
    print(f"wrote {len(grids)} samples (checkpoint {step}; {how}) to {out}/samples.png")


REQUIRED = ("workdir", "out")

if __name__ == "__main__":
    common.run(main, REQUIRED)
