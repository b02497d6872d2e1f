"""Flags shared by the commands, each defined once: every CLI module imports the ones it
reads, so any set of CLI modules can be imported together (one `gvoxel` command, tests).
Flags whose default depends on the command default to None here; the command applies its
own (see its --help)."""

from __future__ import annotations

from absl import flags
from ml_collections import config_flags

CONFIG = config_flags.DEFINE_config_file(
    "config", None, "configs/FILE.py:preset (train: the run; classify: the evaluation)",
    lock_config=True,
)  # fmt: skip
WORKDIR = flags.DEFINE_string("workdir", None, "a training workdir")
OUT = flags.DEFINE_string("out", None, "a folder for the results (created if missing)")
SEED = flags.DEFINE_integer("seed", 0, "PRNG seed")
NUM = flags.DEFINE_integer(
    "num", None, "how many shapes to make (sample, generate: 16) or to take from --input "
    "(render: the first 16; recover, superres: all)",
)
LANGEVIN_STEPS = flags.DEFINE_integer(
    "langevin_steps", None, "Langevin steps (default: the run's sampling recipe)"
)
CHECKPOINT = flags.DEFINE_integer(
    "checkpoint", None, "the training iteration whose checkpoint to use (default: the latest)"
)
NOISE = flags.DEFINE_bool("noise", None, "Langevin noise (default: the command's)")
VIEWS = flags.DEFINE_bool(
    "views",
    True,
    "recover, superres: the run's recipe (views of the input, f̄); --noviews: one chain on f",
)
FORMATS = flags.DEFINE_list("formats", ["obj"], "mesh formats: obj, ply, stl, glb")
INPUT = flags.DEFINE_string("input", None, "input shapes (.npz/.npy/.binvox/.mat, bundled:NAME)")
CATEGORY = flags.DEFINE_string("category", None, "only / the intended category")
UP_AXIS = flags.DEFINE_enum("up_axis", "z", ["x", "y", "z"], "the up axis of the input")


def value_or(flag, default):
    return default if flag.value is None else flag.value
