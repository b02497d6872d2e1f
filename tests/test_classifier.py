"""The reference classifier's smoke preset trains, checkpoints and resumes bit-exactly through
the shared loop; the combined bundled data set is labelled by part."""

import os

import jax
import numpy as np
import pytest

from gvoxel import data, train
from gvoxel.errors import InputError
from gvoxel.experiment import run as run_lib

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "configs")


def smoke(**overrides):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "refclf", os.path.join(CONFIGS, "reference_classifier.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    c = mod.get_config("smoke")
    c.train.num_devices = 1
    for key, value in overrides.items():
        section, leaf = key.split(".")
        c[section][leaf] = value
    return c


def test_combined_bundled_data_are_labelled_by_part_at_one_resolution():
    ds = data.load_voxels("bundled:chair32+monitor32+bed64", resolution=16)
    assert ds.categories == ("chair", "monitor", "bed")
    assert ds.voxels.shape[1:] == (16, 16, 16)
    np.testing.assert_array_equal(np.bincount(ds.labels), [789, 365, 514])
    # bed is stored at 64³: its grids are block averages of the originals
    bed = data.load_voxels("bundled:bed64", resolution=16).voxels
    np.testing.assert_array_equal(ds.voxels[ds.labels == 2], bed)
    monitors = data.load_voxels("bundled:chair32+monitor32", category="monitor", resolution=16)
    assert len(monitors) == 365 and set(monitors.labels) == {1}
    with pytest.raises(InputError, match="two parts"):
        data.load_voxels("bundled:chair32+chair32")
    with pytest.raises(InputError, match="empty part"):
        data.load_voxels("bundled:chair32+")


def test_smoke_classifier_trains_checkpoints_and_resumes_bit_exactly(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    train.train_and_evaluate(smoke(), str(full))
    train.train_and_evaluate(smoke(**{"train.num_iters": 2}), str(part))
    train.train_and_evaluate(smoke(), str(part))
    _, a, step_a = run_lib.load_experiment(str(full), num_devices=1)
    _, b, step_b = run_lib.load_experiment(str(part), num_devices=1)
    assert step_a == step_b == 4
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert not os.path.exists(full / "samples")  # a classifier writes no samples
    lines = (full / "metrics" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 4 and '"accuracy"' in lines[-1]


def test_labels_past_the_named_categories_stop_training(tmp_path):
    with pytest.raises(train.TrainingDiverged, match="labels_outside_categories"):
        cfg = smoke(**{"classifier.categories": "chair,monitor", "train.num_iters": 2})
        train.train_and_evaluate(cfg, str(tmp_path))
