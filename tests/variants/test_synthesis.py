"""Synthesis (Algorithm 1): what it writes with every sample montage."""

import jax
import jax.numpy as jnp
import numpy as np

from gvoxel import variants
from gvoxel.core import ebm, energy
from gvoxel.variants.base import DataInfo
from tests.helpers import smoke_config


def test_polish_steps_descend_the_written_samples_only():
    """`sampler.polish_steps` writes noise-free descents of the chains; chains stay as they are."""
    plain = variants.get(smoke_config(), DataInfo(16, 16, 4))
    polished = variants.get(smoke_config(**{"sampler.polish_steps": 5}), DataInfo(16, 16, 4))
    state = plain.init(jax.random.PRNGKey(0), jnp.zeros((16,) * 3))
    chains = np.asarray(state["chains"])

    np.testing.assert_array_equal(
        plain.outputs(state)["samples"], ebm.postprocess(state["chains"], state["data_mean"])
    )
    out = polished.outputs(state)["samples"]
    np.testing.assert_array_equal(np.asarray(state["chains"]), chains)
    assert not np.allclose(out, plain.outputs(state)["samples"])

    # the polished samples sit lower in energy than the chains they came from
    def mean_energy(samples):
        y = jnp.asarray(samples) - state["data_mean"]
        return float(jnp.mean(energy.energy(plain.model.descriptor_fn, state["params"], y)))

    assert mean_energy(out) < mean_energy(plain.outputs(state)["samples"])
