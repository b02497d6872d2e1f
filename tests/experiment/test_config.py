"""Configs: every preset of every config file builds its model, and its initial state has the
structure and shapes its config asks for (shapes only, so a preset that only a GPU job would
run cannot rot unnoticed); unknown presets are refused; older saved configs gain new keys."""

import json

import jax
import jax.numpy as jnp
import optax
import pytest

from gvoxel import variants
from gvoxel.core import nets
from gvoxel.experiment import config as config_lib
from gvoxel.experiment import run as run_lib
from tests.helpers import CONFIGS, data_info, presets

TRAINED = [p for p in sorted(CONFIGS.glob("*.py")) if p.stem != "classification"]
KEY_SHAPE = jax.eval_shape(lambda: jax.random.PRNGKey(0)).shape


def descriptor_params(net, head, r, levels=0):
    """The descriptor's parameter shapes, worked out from its layer list: SAME convolutions
    (k³ × C_in × filters, output ⌈n / stride⌉), then fc over the last map (or its sum);
    with noise levels, a gain and a bias per level and channel, and one head per level."""
    shapes, cin, n = {}, 1, r
    for i, (filters, k, stride) in enumerate(nets.resolve_layers(net)):
        shapes[f"conv{i}_kernel"] = (k, k, k, cin, filters)
        shapes[f"conv{i}_bias"] = (filters,)
        if levels:
            shapes[f"conv{i}_level_gain"] = shapes[f"conv{i}_level_bias"] = (levels, filters)
        cin, n = filters, -(-n // stride)
    shapes["fc_kernel"] = ((n**3 if head == "fc" else 1) * cin, levels or 1)
    shapes["fc_bias"] = (levels or 1,)
    return shapes


def shapes(tree):
    return jax.tree.map(lambda x: tuple(x.shape), tree)


def assert_adam_follows(opt_state, param_shapes):
    """The optimizer state holds one Adam state whose moments have θ's shapes."""
    is_adam = lambda x: isinstance(x, optax.ScaleByAdamState)  # noqa: E731
    adam = [s for s in jax.tree.leaves(opt_state, is_leaf=is_adam) if is_adam(s)]
    assert len(adam) == 1, opt_state
    assert shapes(adam[0].mu) == shapes(adam[0].nu) == param_shapes


def expected_arrays(c, r):
    """{key: shape} of the state entries the config fixes outright (chains, means, ...)."""
    chains, batch = c.sampler.num_chains, c.train.batch_size
    grid = lambda n, res=r: (n, res, res, res)  # noqa: E731
    common = {"step": (), "rng": KEY_SHAPE, "data_mean": (r, r, r)}
    if c.variant == "synthesis":
        k = c.sampler.init_components  # the chains' principal starts
        return common | {"chains": grid(chains)} | ({"init_basis": grid(k)} if k else {})
    if c.variant == "diffusion":  # the last recoveries and their levels, one per example
        return common | {"chains": grid(batch), "chain_levels": (batch,)}
    if c.variant in ("recovery", "superres"):
        return common | {"chains": grid(batch), "inputs": grid(batch), "observed": grid(batch)}
    if c.variant == "cooperative":
        return common | {"chains": grid(chains), "generated": grid(chains)}
    if c.variant == "multigrid":
        grids = tuple(c.multigrid.grids)
        coarse = {f"grid{g}": grid(batch, g) for g in grids[1:-1]}
        return (
            common
            | {"chains": grid(batch), "histogram": (c.multigrid.histogram_bins,)}
            | ({"coarse_chains": coarse} if coarse else {})
        )
    return common  # the classifier


@pytest.mark.parametrize(
    "path,preset",
    [(p, preset) for p in TRAINED for preset in presets(p)],
    ids=lambda v: v.stem if hasattr(v, "stem") else v,
)
def test_every_preset_builds_its_model(path, preset):
    c = config_lib.load(f"{path}:{preset}")
    config_lib.check(c)
    info = data_info(c)
    r = info.resolution
    model = variants.get(c, info)
    state = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((r,) * 3))

    arrays = expected_arrays(c, r)
    for key, shape in arrays.items():
        assert shapes(state[key]) == shape, (key, shapes(state[key]), shape)
    assert state["step"].dtype == jnp.int32
    learned = set(state) - set(arrays)

    if c.variant == "classifier":
        assert learned == {"params", "opt_state"}
        probs, _ = jax.eval_shape(model.predict, state["params"], jnp.zeros((2,) + (r,) * 3))
        assert probs.shape == (2, len(c.classifier.categories.split(",")))
    elif c.variant == "multigrid":
        assert learned == {"params", "opt_state"}
        grids = tuple(c.multigrid.grids)[1:]
        specs = (c.multigrid.nets,) if isinstance(c.multigrid.nets, str) else c.multigrid.nets
        assert set(state["params"]) == {f"grid{g}" for g in grids}
        for g, net in zip(grids, specs, strict=True):
            want = descriptor_params(net, c.model.head, g)
            assert shapes(state["params"][f"grid{g}"]) == want, g
            assert_adam_follows(state["opt_state"][f"grid{g}"], want)
    else:
        levels = c.diffusion.levels if c.variant == "diffusion" else 0
        want = descriptor_params(c.model.net, c.model.head, r, levels)
        assert shapes(state["params"]) == want
        assert_adam_follows(state["opt_state"], want)
        extra = {"ema_params"} if c.optim.ema else set()
        gen = {"gen_params", "gen_batch_stats", "gen_opt_state"}
        if c.variant == "cooperative" and c.generator.ema:
            gen.add("gen_ema_params")
        assert learned == {"params", "opt_state"} | extra | (
            gen if c.variant == "cooperative" else set()
        )
        if extra:
            assert shapes(state["ema_params"]) == want
        if "gen_ema_params" in gen:
            assert shapes(state["gen_ema_params"]) == shapes(state["gen_params"])
        if c.variant == "cooperative":  # g maps latents to grids at the data resolution
            z = jax.eval_shape(lambda key: model.latents(key, 3), jax.random.PRNGKey(0))
            assert z.shape == (3, c.generator.latent_dim)
            assert jax.eval_shape(model.generate, state, z).shape == (3, r, r, r)

    # the loop builds the same state (shardings, abstract checkpoint target) on one device
    exp = run_lib.Experiment(c, info, 1)
    assert shapes(exp.abstract_state) == shapes(state)


def test_classification_presets_and_unknown_presets():
    for preset in presets(CONFIGS / "classification.py"):
        assert config_lib.load(f"{CONFIGS / 'classification.py'}:{preset}").pools
    for path in TRAINED:
        with pytest.raises(ValueError, match="choose"):
            config_lib.load(f"{path}:papr")


def test_older_saved_config_gains_new_keys_and_still_resumes():
    """A workdir saved before a key existed loads with its default and resumes unrefused."""
    current = config_lib.base_config("synthesis")
    saved = json.loads(config_lib.to_json(current))
    del saved["sampler"]["polish_steps"]
    del saved["model"]["conv_impl"]  # not a resumable key: a raw comparison refuses it
    now = json.loads(config_lib.to_json(current))
    assert config_lib.differences(saved, now) == ["model.conv_impl: '<missing>' -> 'auto'"]
    loaded = config_lib.with_defaults(saved, config_lib.base_config("synthesis"))
    assert loaded.sampler.polish_steps == 0 and loaded.model.net == current.model.net
    assert config_lib.differences(loaded.to_dict(), now) == []
