"""The periodic evaluator the training loop runs: scores on its schedule."""

import numpy as np
import pytest

from gvoxel.errors import ConfigError
from gvoxel.metrics import reference


@pytest.mark.skipif(not reference.exists(reference.ASSET), reason="weights not shipped yet")
def test_periodic_evaluator_scores_real_chairs_above_noise_on_its_schedule():
    from gvoxel import data
    from gvoxel.experiment.config import base_config
    from gvoxel.metrics import evaluators

    cfg = base_config("synthesis")
    cfg.data.max_examples = 60
    cfg.evals.every = 5
    cfg.evals.splits = 2
    cfg.evals.shapes = False  # the reference classifier's scores only (shapes: test_shapes.py)
    evaluate = evaluators.make_evaluator(cfg)
    chairs = data.load_voxels("bundled:chair32").voxels[-20:]  # outside max_examples
    noise = np.random.default_rng(0).random(chairs.shape).astype(np.float32)
    assert evaluate(chairs, 4) is None
    real, fake = evaluate(chairs, 5), evaluate(noise, 10)
    assert set(real) == {
        "eval/inception_score",
        "eval/inception_score_std",
        "eval/class_probability",
        "eval/class_error",
        "eval/fid",
    }
    assert real["eval/class_probability"] > 0.8 > fake["eval/class_probability"] - 0.2
    assert real["eval/fid"] < fake["eval/fid"]
    cfg.data.path = "bundled:chair32+monitor32"
    with pytest.raises(ConfigError, match="evals.category"):
        evaluators.make_evaluator(cfg)(chairs, 5)
