"""Every preset of every config file builds and its model initialises (shapes only), so a
preset that only a GPU job would run cannot rot unnoticed."""

import glob
import importlib.util
import os
import re

import jax
import jax.numpy as jnp
import pytest

from gvoxel import variants
from gvoxel.variants.base import DataInfo

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "configs")
TRAINED = [p for p in sorted(glob.glob(os.path.join(CONFIGS, "*.py"))) if "classification" not in p]


def load(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    "path,preset",
    [(p, preset) for p in TRAINED for preset in load(p).PRESETS],
    ids=lambda v: os.path.basename(v)[:-3] if str(v).endswith(".py") else v,
)
def test_every_preset_builds_its_model(path, preset):
    c = load(path).get_config(preset)
    # data.resolution 0 = as stored: a bundled set's name ends with its resolution
    stored = re.search(r"(\d+)$", c.data.path.split("+")[0])
    resolution = c.data.resolution or (int(stored.group(1)) if stored else 32)
    info = DataInfo(resolution=resolution, num_train=100, steps_per_epoch=5)
    model = variants.get(c, info)
    state = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((resolution,) * 3))
    assert int(state["step"].size) == 1


def test_classification_presets_and_unknown_presets():
    mod = load(os.path.join(CONFIGS, "classification.py"))
    for preset in mod.PRESETS:
        assert mod.get_config(preset).pools
    for path in TRAINED:
        with pytest.raises(ValueError, match="choose"):
            load(path).get_config("papr")


def test_accumulate_zero_takes_one_adam_step_per_epoch():
    import ml_collections
    import optax

    from gvoxel.errors import ConfigError
    from gvoxel.variants.base import optimizer

    cfg = ml_collections.ConfigDict(dict(lr=0.1, b1=0.5, b2=0.999, accumulate=0))
    tx = optimizer(cfg, steps_per_epoch=3)
    params = jnp.zeros(2)
    state = tx.init(params)
    moved = []
    for _ in range(6):
        updates, state = tx.update(jnp.ones(2), state, params)
        new = optax.apply_updates(params, updates)
        moved.append(bool(jnp.any(new != params)))
        params = new
    assert moved == [False, False, True, False, False, True]
    with pytest.raises(ConfigError, match="optim.accumulate"):
        optimizer(ml_collections.ConfigDict(dict(lr=0.1, b1=0.5, b2=0.9, accumulate=-1)), 3)
