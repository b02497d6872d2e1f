"""Draw fresh samples from a trained model; writes .npz, a PNG montage and meshes (for a
multi-grid model one set per grid: grid4, grid16, ..., samples = the finest).

python -m gvoxel.sample --workdir=runs/chair --num=16 --steps=200 --seed=0 --out=samples
"""

from __future__ import annotations

import jax
import numpy as np
from absl import flags, logging

from gvoxel import cli, train, visual
from gvoxel.errors import ConfigError

_WORKDIR = flags.DEFINE_string("workdir", None, "a training workdir", allow_override=True)
_NUM = flags.DEFINE_integer("num", 16, "number of samples", allow_override=True)
_STEPS = flags.DEFINE_integer(
    "steps", None, "Langevin steps (default: the config's K)", allow_override=True
)
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed", allow_override=True)
_OUT = flags.DEFINE_string("out", None, "output folder", allow_override=True)
_INIT = flags.DEFINE_enum(
    "init",
    "noise",
    ["noise", "chains"],
    "start from N(0, init_std²) noise or from the saved persistent chains",
    allow_override=True,
)
_NOISE = flags.DEFINE_bool(
    "noise", True, "Langevin noise (False: deterministic descent)", allow_override=True
)
_STEP = flags.DEFINE_integer(
    "step", None, "checkpoint iteration (default: latest)", allow_override=True
)
_FORMATS = flags.DEFINE_list(
    "formats", ["obj"], "mesh formats: obj, ply, stl, glb", allow_override=True
)
flags.mark_flags_as_required(["workdir", "out"])


def main(argv):
    del argv
    if _NUM.value < 1:
        raise ConfigError(f"--num must be positive, got {_NUM.value}")
    exp, state, step = train.load_experiment(_WORKDIR.value, _STEP.value)
    steps = exp.config.sampler.steps if _STEPS.value is None else _STEPS.value
    rng = jax.random.PRNGKey(_SEED.value)
    if _INIT.value == "chains":
        grids = exp.variant.outputs(state)["samples"][: _NUM.value]
        if steps:
            synth = jax.jit(exp.variant.continue_chains, static_argnums=(3,))
            grids = synth(state, rng, state["chains"][: _NUM.value], steps, _NOISE.value)
    else:
        synth = jax.jit(exp.variant.synthesize, static_argnums=(2, 3))
        grids = synth(state, rng, _NUM.value, steps, _NOISE.value)
    # A variant may return {name: grids} (multigrid: every grid); "samples" is the result.
    levels = jax.device_get(grids)
    levels = levels if isinstance(levels, dict) else {"samples": levels}
    for name, level in levels.items():
        visual.write_samples(np.asarray(level), _OUT.value, name, formats=tuple(_FORMATS.value))
    grids = levels["samples"]
    logging.info("wrote %d samples of iteration %d to %s", len(grids), step, _OUT.value)
    print(f"wrote {len(grids)} samples (checkpoint {step}) to {_OUT.value}/samples.png")


if __name__ == "__main__":
    cli.run(main)
