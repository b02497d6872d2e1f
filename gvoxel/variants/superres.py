"""Algorithm 5: 3D object super-resolution. The block averages CY are the condition, each
Langevin change is (I − C⁻C)ΔY, and chains start at C⁻CY (or a trilinear up-sampling
corrected to the same block averages)."""

from __future__ import annotations

import dataclasses

import ml_collections

from gvoxel.core import conditions, projections, resample
from gvoxel.errors import ConfigError
from gvoxel.metrics import conditional as conditional_metrics
from gvoxel.variants import conditional


def extend_config(c):
    c.superres = ml_collections.ConfigDict()
    c.superres.factor = 4  # C: block average by factor³ blocks
    # chain start: "block" C⁻CY (Algorithm 5) or "trilinear" up-sampling corrected by
    # C⁻(CY − C·trilinear) so that it, too, block-averages exactly to CY
    c.superres.start = "block"
    c.superres.test_noise = False
    conditional.extend_config(c)


@dataclasses.dataclass(frozen=True)
class SuperResolution(conditional.Conditional):
    factor: int = 4
    start_from: str = "block"

    @staticmethod
    def condition_settings(config, info):
        f = config.superres.factor
        start = config.superres.get("start", "block")
        if start not in resample.UPSCALES:
            raise ConfigError(f"superres.start must be 'block' or 'trilinear', got {start!r}")
        if not isinstance(f, int) or isinstance(f, bool) or f < 2:
            raise ConfigError(f"superres.factor must be an int >= 2, got {f!r}")
        if info.resolution % f:
            raise ConfigError(
                f"superres.factor {f} does not divide the data resolution {info.resolution}"
            )
        return {
            "factor": f,
            "start_from": start,
            "test_noise": bool(config.superres.test_noise),
        }

    def condition(self, rng, y):
        del rng
        return resample.downscale(y, self.factor)

    def start(self, low, y=None):
        del y
        return resample.UPSCALES[self.start_from](low, self.factor)

    def projection(self, low):
        del low
        return projections.downscale_null_space(self.factor)

    def error(self, low, result, original):
        del low
        return conditional_metrics.voxel_error(result, original)

    def binarize(self, low, result):
        return conditions.binary_downscale(low, self.factor)(result)
