"""The variant contract: every registered variant, built from its smoke preset, satisfies
the Variant protocol and has exactly its capabilities; `require` refuses the others in one
ConfigError line naming what the variant can do. The optimizer builder's accumulation."""

import inspect

import jax
import jax.numpy as jnp
import ml_collections
import optax
import pytest

from gvoxel import variants
from gvoxel.errors import ConfigError
from gvoxel.experiment import config as config_lib
from gvoxel.variants import base
from tests.helpers import data_info, smoke_config

# each registered variant's smoke preset (configs/FILE.py)
SMOKE_FILES = {
    "synthesis": "synthesis",
    "recovery": "recovery",
    "superres": "superres",
    "cooperative": "cooperative",
    "multigrid": "multigrid",
    "classifier": "reference_classifier",
    "diffusion": "diffusion",
}
CAPABILITIES = {
    "synthesis": {"draw fresh samples", "give descriptor features"},
    "recovery": {"complete a partial input"},
    "superres": {"complete a partial input"},
    "cooperative": {"draw fresh samples", "generate from latents"},
    "multigrid": {"draw fresh samples"},
    "classifier": set(),
    "diffusion": {"draw fresh samples"},
}


def build(name):
    c = smoke_config(SMOKE_FILES[name])
    assert c.variant == name
    return variants.get(c, data_info(c))


def test_every_registered_variant_is_listed_here():
    assert set(SMOKE_FILES) == set(CAPABILITIES) == set(variants.REGISTRY)
    assert set().union(*CAPABILITIES.values()) <= set(base.CAPABILITIES)


@pytest.mark.parametrize("name", sorted(variants.REGISTRY))
def test_variant_satisfies_the_protocol_and_has_exactly_its_capabilities(name):
    v = build(name)
    assert isinstance(v, base.Variant)
    assert isinstance(inspect.getattr_static(type(v), "from_config"), classmethod)
    assert isinstance(v.sharded_keys, tuple)
    r = data_info(smoke_config(SMOKE_FILES[name])).resolution
    state = jax.eval_shape(v.init, jax.random.PRNGKey(0), jnp.zeros((r,) * 3))
    assert set(v.sharded_keys) <= set(state), (v.sharded_keys, sorted(state))
    assert set(base.capabilities(v)) == CAPABILITIES[name]


@pytest.mark.parametrize("name", sorted(variants.REGISTRY))
def test_require_passes_what_a_variant_can_do_and_refuses_the_rest_in_one_line(name):
    v = build(name)
    can = CAPABILITIES[name]
    for capability in base.CAPABILITIES:
        if capability in can:
            assert base.require(v, name, capability) is v
            continue
        with pytest.raises(ConfigError) as e:
            base.require(v, name, capability)
        msg = str(e.value)
        assert "\n" not in msg and f"{name!r}" in msg and f"cannot {capability}" in msg, msg
        listed = msg.split("(it can: ", 1)[1].rstrip(")")
        assert (set(listed.split(", ")) if can else {listed}) == (can or {"train only"}), msg


def test_accumulate_zero_takes_one_adam_step_per_epoch():
    cfg = ml_collections.ConfigDict(dict(lr=0.1, b1=0.5, b2=0.999, accumulate=0))
    tx = base.optimizer(cfg, steps_per_epoch=3)
    params = jnp.zeros(2)
    state = tx.init(params)
    moved = []
    for _ in range(6):
        updates, state = tx.update(jnp.ones(2), state, params)
        new = optax.apply_updates(params, updates)
        moved.append(bool(jnp.any(new != params)))
        params = new
    assert moved == [False, False, True, False, False, True]
    with pytest.raises(ConfigError, match="optim.accumulate"):
        base.optimizer(ml_collections.ConfigDict(dict(lr=0.1, b1=0.5, b2=0.9, accumulate=-1)), 3)


def test_descriptor_reads_the_local_term_spec_and_refuses_a_bad_one():
    model_cfg = smoke_config("synthesis").model
    model_cfg.local = "8@3"
    assert base.descriptor(model_cfg).local == (8, 3)
    model_cfg.local = ""
    assert base.descriptor(model_cfg).local == (0, 0)
    for bad in ("8x3", "0@3", "8@3@1"):
        model_cfg.local = bad
        with pytest.raises(ConfigError, match="model.local"):
            base.descriptor(model_cfg)


def test_binary_input_needs_occupancies():
    c = config_lib.load("configs/synthesis.py:smoke", **{"model.binary_input": True})
    with pytest.raises(ConfigError, match="model.binary_input .* data.mean='none'"):
        base.energy_model(c, data_info(c))
    c.data.mean = "none"
    assert base.energy_model(c, data_info(c)).descriptor.binary_input


def test_binary_well_needs_occupancies_and_a_non_negative_weight():
    c = config_lib.load("configs/cooperative.py:smoke", **{"sampler.binary_well": 5.0})
    with pytest.raises(ConfigError, match="sampler.binary_well .* data.mean='none'"):
        base.energy_model(c, data_info(c))
    c.data.mean = "none"
    assert base.energy_model(c, data_info(c)).sampler.binary_well == 5.0
    c.sampler.binary_well = -1.0
    with pytest.raises(ConfigError, match="sampler.binary_well must be >= 0"):
        base.energy_model(c, data_info(c))
