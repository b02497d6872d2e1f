"""Plain helpers the tests share where a fixture does not fit (module-level helpers,
parametrization at collection time). Fixtures are in conftest.py."""

import ast
import pathlib
import re

import jax

from gvoxel.experiment import config as config_lib
from gvoxel.experiment import run as run_lib
from gvoxel.variants.base import DataInfo

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
ASSETS = pathlib.Path(__file__).resolve().parent / "assets"
# five raw ModelNet10 meshes
BATHTUBS = sorted(str(p) for p in (ASSETS / "bathtub" / "train").glob("*.off"))


def smoke_config(variant="synthesis", **overrides):
    """configs/VARIANT.py:smoke with dotted-key overrides (gvoxel.experiment.config.load),
    e.g. smoke_config("cooperative", **{"train.num_devices": 1})."""
    return config_lib.load(f"{CONFIGS / variant}.py:smoke", **overrides)


def presets(config_file) -> tuple[str, ...]:
    """A config file's PRESETS tuple, read from its source (not executed)."""
    tree = ast.parse(pathlib.Path(config_file).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["PRESETS"]:
            return tuple(ast.literal_eval(node.value))
    raise AssertionError(f"{config_file} defines no PRESETS")


def resolution(config) -> int:
    """The data resolution a config trains at without loading its data: data.resolution, or
    (0 = as stored) the number a bundled set's name ends with."""
    stored = re.search(r"(\d+)$", config.data.path.split("+")[0])
    return config.data.resolution or (int(stored.group(1)) if stored else 32)


def data_info(config, num_train=100, steps_per_epoch=5) -> DataInfo:
    return DataInfo(resolution(config), num_train, steps_per_epoch)


def final_state(workdir):
    """(step, state on the host) of a run's latest checkpoint."""
    _, state, step = run_lib.load_experiment(str(workdir))
    return step, jax.device_get(state)
