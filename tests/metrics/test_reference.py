"""The shipped reference classifier passes its checksum, restores and tells the categories
apart; checksums catch a changed weight file."""

import numpy as np
import pytest

from gvoxel.errors import InputError
from gvoxel.metrics import reference


def test_checksums_catch_a_changed_weight_file(tmp_path):
    ckpt = tmp_path / "checkpoints" / "1"
    ckpt.mkdir(parents=True)
    (ckpt / "w").write_bytes(b"abc")
    reference.write_checksums(tmp_path)
    reference.verify_checksums(tmp_path)
    (ckpt / "w").write_bytes(b"abd")
    with pytest.raises(InputError, match="SHA-256"):
        reference.verify_checksums(tmp_path)
    (ckpt / "extra").write_bytes(b"")
    with pytest.raises(InputError, match="differ"):
        reference.verify_checksums(tmp_path)


@pytest.mark.skipif(not reference.exists(reference.ASSET), reason="weights not shipped yet")
def test_shipped_reference_classifier_verifies_and_separates_held_out_shapes():
    ref = reference.Reference()
    assert ref.categories == ("chair", "monitor", "bed")
    _, val = reference.held_out_set(ref.config)
    val = val.subset(np.arange(0, len(val), 3))  # a third keeps the test fast
    assert reference.accuracy(ref, val) > 0.8
    probs, feats = ref.predict(val.voxels[:5])
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    assert feats.shape == (5, ref.config.classifier.hidden)
