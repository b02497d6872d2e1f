"""Configs, written once: the keys every run has (`base_config`), loading a
`configs/FILE.py:preset`, checking a config's keys, the JSON round trip and what a resumed
run may change."""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
from pathlib import Path

import ml_collections

from gvoxel import variants
from gvoxel.errors import ConfigError

# The repository's configs/: beside the package in a checkout, gvoxel/configs in a wheel.
_PACKAGE = Path(__file__).resolve().parents[1]
CONFIG_DIR = next(
    (d for d in (_PACKAGE.parent / "configs", _PACKAGE / "configs") if d.is_dir()),
    _PACKAGE / "configs",
)

# Keys a resumed run may change without changing what it computes.
RESUMABLE_KEYS = (
    "train.num_iters",
    "train.log_every",
    "train.sample_every",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.num_devices",
    "train.steps_per_dispatch",
    "train.stall_timeout_s",
    "train.profile_steps",
    "sampler.polish_steps",  # only what is written changes, not the chains or θ
    "sampler.view_shifts",  # completions only
    "sampler.view_mirror",
    "sampler.energy_shifts",
    "recovery.threshold",  # binarization of completions only
    "guard",
    "evals",
    "output",
)


def base_config(variant: str = "synthesis") -> ml_collections.ConfigDict:
    """The keys shared by all variants plus those `variant` adds (its `extend_config`)."""
    c = ml_collections.ConfigDict()
    c.variant = variant
    c.seed = 0

    c.data = ml_collections.ConfigDict()
    c.data.path = "bundled:chair32"  # .npz/.npy/.binvox/.mat, or bundled:NAME
    c.data.category = ""  # filter an archive with several categories ("" = all)
    c.data.resolution = 0  # resample to this resolution (0 = as stored)
    c.data.downscale = "mean"  # to a coarser resolution: block "mean" (soft), "max" or "rms"
    c.data.val_fraction = 0.1  # held out with data.seed; training never sees it
    c.data.seed = 0
    c.data.max_examples = 0  # 0 = all training shapes
    c.data.mean = "voxel"  # subtracted before training, added back to samples
    # observed shapes mirrored at random along this grid axis, a symmetry of the data
    # (ModelNet chairs: 0, beds and monitors: 1); -1 = off
    c.data.mirror_axis = -1
    # observed shapes turned by random quarter turns about this grid axis (the up axis); a
    # symmetry only of data without a front direction (ModelNet's are aligned); -1 = off
    c.data.rotate_axis = -1
    # observed shapes rolled by 0..shift voxels along each axis at random (a stride-2 net then
    # learns every phase; the grid's far border should be empty); 0 = off
    c.data.shift = 0
    # σ: θ learns from observed shapes given N(0, σ²) noise per voxel (Nijkamp et al. 2019:
    # smooths f near the data for short-run chains); conditions never see it; 0 = off
    c.data.noise = 0.0

    c.model = ml_collections.ConfigDict()
    c.model.net = "synthesis"  # a preset of core.nets.NET_PRESETS or ((filters, k, stride), ...)
    c.model.init_std = 0.001
    c.model.conv_impl = "auto"
    c.model.dtype = "float32"
    c.model.head = "fc"  # "fc" (the paper) or "sum" (translation-invariant sum of local terms)
    c.model.activation = "relu"  # the paper; "swish"/"softplus" give a smooth energy
    c.model.input_blur = 0  # [1, 2, 1] blur passes over Y before the net (anti-aliasing)
    c.model.spectral_norm = 0.0  # > 0: each layer's largest singular value capped at this
    c.model.local = ""  # "filters@kernel": a summed stride-1 local term added to f
    # f sees Y decoded at 0.5, its gradient passed straight through (needs data.mean="none")
    c.model.binary_input = False
    c.model.init_from = ""  # a trained run's workdir: start from its descriptor θ

    c.sampler = ml_collections.ConfigDict()
    c.sampler.num_chains = 25
    c.sampler.steps = 20  # K
    c.sampler.step_size = 0.1  # δ; the paper's Δτ = δ²
    c.sampler.temperature = 1.0
    c.sampler.noise_off_iter = 100  # Langevin noise off from this iteration on (-1: never)
    c.sampler.mala = False
    c.sampler.persistent = True  # False: chains re-initialised every iteration
    c.sampler.init_std = 1.0  # chains start from N(0, init_std²)
    # k > 0: plus a Gaussian of the training shapes' top-k principal components (synthesis)
    c.sampler.init_components = 0
    c.sampler.reference_std = 0.5  # s
    c.sampler.polish_steps = 0  # noise-free steps on written samples and fresh draws
    c.sampler.reinit = 0.0  # persistent chains: share restarted from noise per iteration
    c.sampler.draw_steps = 0  # Langevin steps of a fresh draw (gvoxel sample); 0 = steps
    # ≥ 0: every chain's temperature annealed linearly from `temperature` to this over its
    # steps (training chains and fresh draws alike); -1 = constant
    c.sampler.anneal_to = -1.0
    # β > 0: chains move under f − β Σ Y²(1 − Y)², a double well at 0 and 1 times the
    # reference, so they settle on near-binary shapes (needs data.mean="none")
    c.sampler.binary_well = 0.0

    # Fresh draws refined by a recovery model of the same grid size (completion.refine):
    # its workdir or bundled:NAME, '' = none; what it redraws: voxels within `band` of 0.5,
    # pieces of <= `pieces` voxels, then the gaps within `radius` of, or `reach` along an
    # axis between, the largest piece and the loose ones, kept above `join`
    c.refine = ml_collections.ConfigDict()
    c.refine.model = ""
    c.refine.band = 0.2
    c.refine.pieces = 4
    c.refine.radius = 2
    c.refine.reach = 8
    c.refine.join = 0.4

    c.optim = ml_collections.ConfigDict()
    c.optim.lr = 0.001
    c.optim.b1 = 0.5
    c.optim.b2 = 0.999
    c.optim.accumulate = 1  # k: one Adam step per k iterations' gradients; 0: one per epoch
    c.optim.decay = "none"  # learning rate: "none" (constant) or "cosine" to 0 at num_iters
    c.optim.energy_penalty = 0.0  # α: α·(f_obs² + f_syn²) added to the θ-loss
    c.optim.ema = 0.0  # decay of a moving average of θ that draws and completions use (0 = none)
    # λ: negatives (observed shapes with stray voxels, holes and one plane emptied) take
    # this share of the synthesized examples' weight in eq. (7) (cooperative, synthesis)
    c.optim.negatives = 0.0
    c.optim.negative_rate = 0.05  # voxels flipped in a negative, per voxel of the shape
    # "corrupted" (the observed shapes above) or "decoded" (the synthesized examples
    # thresholded at 0.5: f rates the binary shapes a user sees)
    c.optim.negative_kind = "corrupted"

    c.train = ml_collections.ConfigDict()
    c.train.batch_size = 20
    c.train.num_iters = 1000
    c.train.log_every = 10
    c.train.sample_every = 100
    c.train.checkpoint_every = 100
    c.train.keep_checkpoints = 3
    c.train.num_devices = 0  # 0 = all devices
    c.train.steps_per_dispatch = 1  # >1: a lax.scan over this many iterations per dispatch
    # Multi-process runs: a process waiting this long for the others (one died, and the
    # survivors block in a collective) exits with an error instead of hanging.
    c.train.stall_timeout_s = 600
    c.train.profile_steps = 0  # >0: a jax.profiler trace of this many iterations in WORKDIR/profile

    # Divergence guard: roll back to the last checkpoint and retry with step size and
    # learning rate times `backoff`, at most `max_retries` times.
    c.guard = ml_collections.ConfigDict()
    c.guard.max_retries = 3
    c.guard.backoff = 0.5
    c.guard.max_sample_rms = 20.0  # per-voxel RMS of a chain beyond which it has exploded
    c.guard.max_abs_f = 1e6  # |mean f| (observed or synthesized) beyond which θ ran off; 0 off

    c.output = ml_collections.ConfigDict()
    c.output.formats = ("obj",)  # mesh formats written with every sample montage

    # Periodic sample-quality scores with the reference classifier (gvoxel.metrics.evaluators)
    c.evals = ml_collections.ConfigDict()
    c.evals.every = 0  # 0 = off
    c.evals.reference = "bundled"  # or a classifier workdir
    c.evals.category = ""  # the intended category; '' = the data's only one
    c.evals.splits = 10  # Inception-score splits
    c.evals.fid = True  # FID against the training shapes
    c.evals.classifier = True  # reference-classifier scores (IS, p(class), FID)
    c.evals.shapes = True  # shape quality (pieces, 1-NNA, COV, MMD) vs the validation split
    c.evals.fresh = 0  # also draw this many fresh samples (gvoxel sample's recipe), scored
    return variants.extend_config(variant, c)


def resolve_path(path: str) -> str:
    """A config file: as given, else by its name in the repository's configs/ ("synthesis",
    "synthesis.py" or "configs/synthesis.py" all name configs/synthesis.py)."""
    if os.path.isfile(path):
        return path
    name = os.path.basename(path)
    for candidate in (CONFIG_DIR / name, CONFIG_DIR / f"{name}.py"):
        if candidate.is_file():
            return str(candidate)
    return path


def resolve_spec(spec: str) -> str:
    """`FILE:preset` with FILE resolved (resolve_path); a ConfigError names a missing file."""
    path, sep, preset = str(spec).partition(":")
    resolved = resolve_path(path)
    if not os.path.isfile(resolved):
        have = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.py")))
        raise ConfigError(f"config file {path!r} not found (bundled configs: {have})")
    return resolved + sep + preset


def load(spec: str, **overrides) -> ml_collections.ConfigDict:
    """`configs/FILE.py:preset` (the --config syntax) as a ConfigDict; `overrides` are
    dotted keys, e.g. load("configs/synthesis.py:smoke", **{"train.num_iters": 2})."""
    path, _, preset = resolve_spec(spec).partition(":")
    module_spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    c = module.get_config(preset) if preset else module.get_config()
    for key, value in overrides.items():
        node = c
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return c


def check_keys(config: ml_collections.ConfigDict, reference: ml_collections.ConfigDict):
    """Every key of `config` must exist in `reference` with a compatible type."""
    ref, cur = flatten(reference.to_dict()), flatten(config.to_dict())
    for key, value in cur.items():
        if key not in ref:
            close = difflib.get_close_matches(key, list(ref), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"unknown config key {key}{hint}")
        want = ref[key]
        if isinstance(want, bool) != isinstance(value, bool):
            raise ConfigError(f"config key {key} must be a bool, got {value!r}")
        if isinstance(want, (int, float)) and not isinstance(value, (int, float, str)):
            raise ConfigError(f"config key {key} must be a number, got {value!r}")
        if isinstance(want, str) and not isinstance(value, (str, tuple, list)):
            raise ConfigError(f"config key {key} must be a string, got {value!r}")


# Numbers that must be positive (> 0) or non-negative (>= 0) wherever a config sets them.
POSITIVE = (
    "train.batch_size", "train.num_iters", "train.log_every", "train.sample_every",
    "train.checkpoint_every", "train.keep_checkpoints", "train.steps_per_dispatch",
    "sampler.num_chains", "sampler.step_size", "sampler.temperature", "optim.lr",
)  # fmt: skip
NON_NEGATIVE = (
    "seed", "train.num_devices", "train.stall_timeout_s", "train.profile_steps",
    "sampler.steps", "sampler.polish_steps",
)  # fmt: skip


def check(config: ml_collections.ConfigDict):
    """`config`'s keys against its variant's defaults, and the numbers that have a sign."""
    check_keys(config, base_config(config.get("variant", "synthesis")))
    flat = flatten(config.to_dict())
    for key in POSITIVE + NON_NEGATIVE:
        value = flat.get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if value < 0 or (value == 0 and key in POSITIVE):
            need = "> 0" if key in POSITIVE else ">= 0"
            raise ConfigError(f"config key {key} must be {need}, got {value!r}")


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def to_json(config: ml_collections.ConfigDict) -> str:
    return config.to_json(sort_keys=True)


def differences(saved: dict, current: dict) -> list[str]:
    a, b = flatten(saved), flatten(json.loads(json.dumps(current)))
    # a learning-rate schedule over the run's length makes the length part of the run
    scheduled = "cosine" in (a.get("optim.decay"), b.get("optim.decay"))
    diffs = []
    for k in sorted(set(a) | set(b)):
        if scheduled and k == "train.num_iters":
            pass
        elif any(k == r or k.startswith(r + ".") for r in RESUMABLE_KEYS):
            continue
        if a.get(k, "<missing>") != b.get(k, "<missing>"):
            diffs.append(f"{k}: {a.get(k, '<missing>')!r} -> {b.get(k, '<missing>')!r}")
    return diffs


def check_resume(saved: dict, config: ml_collections.ConfigDict, workdir: str, override: bool):
    diffs = differences(saved, json.loads(to_json(config)))
    if diffs and not override:
        shown = "; ".join(diffs[:3]) + (f"; and {len(diffs) - 3} more" if len(diffs) > 3 else "")
        raise ConfigError(
            f"{workdir} holds a run with another config ({shown}); use a new --workdir "
            "or pass --override_config to resume anyway"
        )
    return diffs


def with_defaults(saved: dict, defaults: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """A saved config with the keys it predates added from `defaults` (older workdirs)."""
    config = ml_collections.ConfigDict(saved)
    for key, value in flatten(defaults.to_dict()).items():
        node = config
        *path, leaf = key.split(".")
        for p in path:
            if p not in node:
                node[p] = ml_collections.ConfigDict()
            node = node[p]
        if leaf not in node:
            node[leaf] = value
    return config


def from_saved(saved: dict) -> ml_collections.ConfigDict:
    """A checkpoint's config with keys added since it was written at their defaults."""
    return with_defaults(saved, base_config(saved["variant"]))


def scaled(config, scale: float):
    """The config with step size and learning rate multiplied by the divergence guard's
    back-off `scale`: what a run trains with after a rollback, and so what it samples with."""
    if scale == 1.0:
        return config
    c = config.copy_and_resolve_references()
    with c.unlocked():
        c.sampler.step_size = config.sampler.step_size * scale
        c.optim.lr = config.optim.lr * scale
    return c
