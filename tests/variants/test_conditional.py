"""Recovery and super-resolution (the conditional variants): smoke runs train, write their
outputs, checkpoint and resume bit-exactly."""

import os

import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel import train, variants
from gvoxel.errors import ConfigError
from gvoxel.experiment import run as run_lib
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


def test_data_noise_reaches_theta_but_not_the_condition_or_the_logged_shapes():
    rng = np.random.default_rng(0)
    voxels = (rng.random((4, 16, 16, 16)) < 0.2).astype(np.float32)
    mean = float(voxels.mean())
    batch = {"voxels": jnp.asarray(voxels - mean), "labels": jnp.zeros(4, jnp.int32)}
    states, errors = {}, {}
    for sigma in (0.0, 0.3):
        cfg = smoke_config("recovery", **{"data.noise": sigma, "train.num_devices": 1})
        exp = run_lib.Experiment(cfg, DataInfo(16, 4, 4), 1)
        states[sigma], metrics = exp.jit_train_step()(exp.init_state(0, mean), batch)
        errors[sigma] = float(metrics["error"])
    # the same shapes, condition, chains and error with and without the noise ...
    np.testing.assert_array_equal(states[0.3]["observed"], batch["voxels"])
    np.testing.assert_array_equal(states[0.3]["inputs"], states[0.0]["inputs"])
    np.testing.assert_array_equal(states[0.3]["chains"], states[0.0]["chains"])
    assert errors[0.3] == errors[0.0]
    # ... but θ learned from noised shapes
    w3, w0 = (np.asarray(states[s]["params"]["fc_kernel"]) for s in (0.3, 0.0))
    assert np.abs(w3 - w0).max() > 1e-6
