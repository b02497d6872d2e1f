"""Super-resolution: the factor must divide the resolution; the trilinear start keeps the
low-resolution condition and is closer to the shapes than block copies."""

import numpy as np
import pytest

from gvoxel import data, train
from gvoxel.errors import ConfigError
from gvoxel.variants.superres import SuperResolution
from tests.helpers import smoke_config


def test_superres_factor_must_divide_the_resolution(tmp_path):
    cfg = smoke_config("superres", **{"superres.factor": 3, "train.num_devices": 1})
    with pytest.raises(ConfigError, match="does not divide"):
        train.train_and_evaluate(cfg, str(tmp_path))


def test_trilinear_start_satisfies_the_condition_and_beats_block_copies():
    shapes = data.load_voxels("bundled:bed64", resolution=32).voxels[:4].astype(np.float32)
    low = np.asarray(data.downscale(shapes, 4))
    starts = {
        kind: np.asarray(SuperResolution(None, 4, False, 4, kind).start(low))
        for kind in ("block", "trilinear")
    }
    for s in starts.values():
        np.testing.assert_allclose(data.downscale(s, 4), low, atol=1e-5)
    # as shapes (thresholded at 0.5), smooth starts are closer to the originals
    err = {k: float(np.abs((s > 0.5) - shapes).mean()) for k, s in starts.items()}
    assert err["trilinear"] < 0.9 * err["block"], err
