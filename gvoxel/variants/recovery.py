"""Algorithm 4: 3D object recovery. The visible voxels (mask M) are the condition, each
Langevin change is (1 − M)·ΔY, and chains start from the visible voxels with the missing
ones filled by their mean."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import ml_collections

from gvoxel.core import conditions, corruption, projections
from gvoxel.errors import ConfigError
from gvoxel.metrics import conditional as conditional_metrics
from gvoxel.variants import conditional


def extend_config(c):
    c.recovery = ml_collections.ConfigDict()
    c.recovery.corruption = "random"  # one of gvoxel.core.corruption.KINDS
    c.recovery.rho = 0.7  # fraction of voxels hidden
    c.recovery.test_noise = False  # Langevin noise when recovering with the CLI
    c.recovery.threshold = 0.5  # hidden voxels of a binary result: on above this
    conditional.extend_config(c)


@dataclasses.dataclass(frozen=True)
class Recovery(conditional.Conditional):
    kind: str = "random"
    rho: float = 0.7
    threshold: float = 0.5

    @staticmethod
    def condition_settings(config, info):
        r = config.recovery
        corruption.check(r.corruption, r.rho)
        threshold = float(r.get("threshold", 0.5))
        if not 0.0 < threshold < 1.0:
            raise ConfigError(f"recovery.threshold must be in (0, 1), got {threshold}")
        return {
            "kind": str(r.corruption),
            "rho": float(r.rho),
            "test_noise": bool(r.test_noise),
            "threshold": threshold,
        }

    def condition(self, rng, y):
        return corruption.visible_mask(rng, y.shape[0], y.shape[-1], self.kind, self.rho)

    def start(self, visible, y):
        """Visible voxels as given; missing ones filled with the mean of the visible ones."""
        visible = jnp.broadcast_to(jnp.asarray(visible, bool), y.shape)
        v = visible.reshape(y.shape[0], -1)
        seen = jnp.sum(jnp.where(v, y.reshape(y.shape[0], -1), 0.0), -1)
        fill = seen / jnp.maximum(jnp.sum(v, -1), 1)
        return jnp.where(visible, y, fill[:, None, None, None])

    def projection(self, visible):
        return projections.mask(visible)

    def error(self, visible, result, original):
        return conditional_metrics.recovery_error(result, original, visible)

    def binarize(self, visible, result):
        return conditions.binary_mask(result, visible, self.threshold)(result)
