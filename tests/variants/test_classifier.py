"""The reference classifier variant: its smoke preset trains, checkpoints and resumes
bit-exactly through the shared loop; labels past its categories stop training."""

import os

import pytest

from gvoxel import train
from gvoxel.experiment import run as run_lib
from tests.helpers import smoke_config


def smoke(**overrides):
    return smoke_config("reference_classifier", **{"train.num_devices": 1, **overrides})


def test_smoke_classifier_trains_checkpoints_and_resumes_bit_exactly(
    tmp_path, trained_run, assert_states_equal
):
    full, part = trained_run("reference_classifier"), tmp_path / "part"
    train.train_and_evaluate(smoke(**{"train.num_iters": 2}), str(part))
    train.train_and_evaluate(smoke(), str(part))
    _, a, step_a = run_lib.load_experiment(str(full), num_devices=1)
    _, b, step_b = run_lib.load_experiment(str(part), num_devices=1)
    assert step_a == step_b == 4
    assert_states_equal(a, b)
    assert not os.path.exists(full / "samples")  # a classifier writes no samples
    lines = (full / "metrics" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 4 and '"accuracy"' in lines[-1]


def test_labels_past_the_named_categories_stop_training(tmp_path):
    with pytest.raises(train.TrainingDiverged, match="labels_outside_categories"):
        cfg = smoke(**{"classifier.categories": "chair,monitor", "train.num_iters": 2})
        train.train_and_evaluate(cfg, str(tmp_path))
