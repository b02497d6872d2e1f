"""The sample scorer: nearest neighbours, occupancy and reference-classifier scores."""

import numpy as np
import pytest

from gvoxel.metrics import reference


@pytest.mark.skipif(not reference.exists(reference.ASSET), reason="weights not shipped yet")
def test_sample_scorer_at_64_finds_training_beds_and_scores_them_as_beds():
    from gvoxel import data
    from gvoxel.metrics import suite

    beds = data.load_voxels("bundled:bed64").voxels[:24]
    scorer = suite.Scorer(reference.Reference(), "bed", beds[:20], real=beds[:20], num_splits=2)
    real, noise = scorer(beds[20:]), scorer(np.full_like(beds[20:], 0.6))
    copies = scorer(beds[:4])
    assert copies["nn_l2"] == pytest.approx(0.0, abs=1e-2)  # each is its own neighbour
    assert real["nn_l2"] > 1.0 and real["n"] == 4
    np.testing.assert_allclose(real["occupancy"], (beds[20:] > 0.5).mean(), rtol=1e-5)
    assert noise["occupancy"] == 1.0 and noise["occupancy_std"] == 0.0
    assert real["class_probability"] > 0.8 and real["fid"] < noise["fid"]
