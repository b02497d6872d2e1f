"""The generator g(Z) of cooperative learning and its transposed convolution."""

import jax
import jax.numpy as jnp
import numpy as np

from gvoxel.core import generator as gen
from gvoxel.core.conv import conv3d


def test_transposed_conv_is_the_adjoint_of_the_strided_conv():
    # <conv(y), x> == <y, conv_transpose(x)> for every x, y: what makes it a transposed conv.
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    kernel = jax.random.normal(k1, (4, 4, 4, 3, 5))
    y = jax.random.normal(k2, (2, 8, 8, 8, 3))
    x = jax.random.normal(k3, (2, 4, 4, 4, 5))
    for impl in ("xla", "fft"):
        lhs = jnp.vdot(conv3d(y, kernel, 2, impl="xla"), x)
        up = jax.jit(gen.conv_transpose3d, static_argnums=(2, 3))(x, kernel, 2, impl)
        assert up.shape == y.shape
        np.testing.assert_allclose(lhs, jnp.vdot(y, up), rtol=1e-4)


def test_generator_maps_latents_to_grids_in_range():
    g = gen.Generator(resolution=16, channels=(8, 4, 4), upsample=(1, 2, 2, 2))
    z = jax.random.normal(jax.random.PRNGKey(0), (3, 10))
    variables = jax.jit(lambda k, z: g.init(k, z, train=False))(jax.random.PRNGKey(1), z)
    y, _ = jax.jit(lambda v, z: g.apply(v, z, train=True, mutable=["batch_stats"]))(variables, z)
    assert y.shape == (3, 16, 16, 16)
    assert float(jnp.max(jnp.abs(y))) <= 1.0
    assert float(jnp.std(y[0] - y[1])) > 0  # different Z, different shapes
