"""The one train/validation split of a run, from its config's data section."""

import pytest

from gvoxel.data import split
from gvoxel.errors import ConfigError
from tests.helpers import smoke_config


def test_a_downscale_typo_is_a_config_error_even_without_resampling():
    cfg = smoke_config(**{"data.resolution": 0, "data.downscale": "maxx"})
    with pytest.raises(ConfigError, match="data.downscale must be one of"):
        split.training_set(cfg.data)
