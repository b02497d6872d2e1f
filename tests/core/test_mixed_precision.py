"""bfloat16 convolutions with float32 parameters and energies stay close to float32."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gvoxel.core import energy, nets

# Stated tolerance of model.dtype="bfloat16" (8-bit mantissa): relative L2 error of the
# descriptor's f and of ∂E/∂Y below 2% on the paper-like nets at init scale.
TOLERANCE = 0.02


def rel(a, b):
    return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))


def test_bfloat16_energy_and_gradient_within_tolerance():
    layers = ((16, 6, 3), (8, 4, 2))
    f32 = nets.Descriptor(layers=layers, init_std=0.05)
    bf16 = nets.Descriptor(layers=layers, init_std=0.05, dtype=jnp.bfloat16)
    y = jax.random.uniform(jax.random.PRNGKey(0), (4, 16, 16, 16)) - 0.3
    params = jax.jit(f32.init)(jax.random.PRNGKey(1), y)["params"]
    assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(params))

    out = {}
    for name, net in (("f32", f32), ("bf16", bf16)):
        fn = lambda p, y_, net=net: net.apply({"params": p}, y_)  # noqa: E731
        e, g = jax.jit(lambda p, y_, fn=fn: energy.energy_and_grad(fn, p, y_))(params, y)
        out[name] = (jax.jit(fn)(params, y), e, g)
        assert e.dtype == jnp.float32 and g.dtype == jnp.float32

    f_a, e_a, g_a = out["bf16"]
    f_b, e_b, g_b = out["f32"]
    assert rel(f_a, f_b) < TOLERANCE
    assert rel(e_a, e_b) < TOLERANCE
    assert rel(g_a, g_b) < TOLERANCE
    # ...and it really computed in bfloat16 (otherwise this test proves nothing).
    assert rel(g_a, g_b) > 0


def test_bfloat16_jits_in_a_langevin_step():
    from gvoxel.core import langevin

    net = nets.Descriptor(layers=((4, 4, 2),), dtype=jnp.bfloat16)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 8)))["params"]
    fn = lambda p, y: net.apply({"params": p}, y)  # noqa: E731
    eg = functools.partial(energy.energy_and_grad, fn, params)
    y0 = jnp.zeros((2, 8, 8, 8))
    state, _ = jax.jit(lambda k: langevin.sample(k, langevin.init(y0, eg), eg, 3, 0.1))(
        jax.random.PRNGKey(0)
    )
    assert state.position.dtype == jnp.float32
    assert np.all(np.isfinite(np.asarray(state.position)))
