"""Recovery and super-resolution (the conditional variants): smoke runs train, write their
outputs, checkpoint and resume bit-exactly."""

import os

import numpy as np
import pytest

from gvoxel import train, variants
from gvoxel.errors import ConfigError
from gvoxel.variants.base import DataInfo
from tests.helpers import final_state, smoke_config


@pytest.mark.parametrize("name", ["recovery", "superres"])
def test_smoke_trains_writes_outputs_and_resumes_bit_exactly(
    trained_run, assert_states_equal, tmp_path, name
):
    full = trained_run(name)
    for part in ("original", "input", "result"):
        assert os.path.exists(full / "samples" / f"iter_000004_{part}.png")
        assert os.path.exists(full / "samples" / f"iter_000004_{part}.npz")
    part = tmp_path / "part"
    train.train_and_evaluate(
        smoke_config(name, **{"train.num_iters": 2, "train.num_devices": 1}), str(part)
    )
    train.train_and_evaluate(smoke_config(name, **{"train.num_devices": 1}), str(part))
    step_a, a = final_state(full)
    step_b, b = final_state(part)
    assert step_a == step_b == 4
    assert_states_equal(a, b)


@pytest.mark.parametrize(
    "name, key, value",
    [
        ("recovery", "sampler.view_mirror", 3),
        ("superres", "sampler.view_mirror", -2),
        ("recovery", "recovery.threshold", 1.0),
        ("recovery", "recovery.threshold", 0.0),
    ],
)
def test_a_bad_completion_recipe_fails_when_the_run_is_built(name, key, value):
    config = smoke_config(name, **{key: value})
    with pytest.raises(ConfigError, match=key):
        variants.get(config, DataInfo(16, 16, 4))


def test_recovery_binarizes_hidden_voxels_at_its_threshold():
    config = smoke_config("recovery", **{"recovery.threshold": 0.6})
    variant = variants.get(config, DataInfo(16, 16, 4))
    y = np.linspace(0.0, 1.0, 2 * 16**3, dtype=np.float32).reshape(2, 16, 16, 16)
    visible = np.zeros(y.shape, bool)
    visible[:, :4] = True
    b = np.asarray(variant.binarize(visible, y))
    np.testing.assert_array_equal(b[visible], y[visible])
    np.testing.assert_array_equal(b[~visible], (y[~visible] > 0.6).astype(np.float32))
