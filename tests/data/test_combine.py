"""Combined bundled data sets (a+b+c): labelled by part, at one resolution."""

import numpy as np
import pytest

from gvoxel import data
from gvoxel.errors import InputError


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
