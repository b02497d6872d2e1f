"""Config helpers: JSON round trip and the check that a resumed run keeps its config."""

from __future__ import annotations

import json

import ml_collections

from gvoxel.errors import ConfigError

# Keys a resumed run may change without changing what it computes.
RESUMABLE_KEYS = (
    "train.num_iters",
    "train.log_every",
    "train.sample_every",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.num_devices",
    "train.steps_per_dispatch",
    "sampler.polish_steps",  # only what is written changes, not the chains or θ
    "guard",
    "evals",
    "output",
)


def to_json(config: ml_collections.ConfigDict) -> str:
    return config.to_json(sort_keys=True)


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def differences(saved: dict, current: dict) -> list[str]:
    a, b = _flatten(saved), _flatten(json.loads(json.dumps(current)))
    diffs = []
    for k in sorted(set(a) | set(b)):
        if any(k == r or k.startswith(r + ".") for r in RESUMABLE_KEYS):
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
    for key, value in _flatten(defaults.to_dict()).items():
        node = config
        *path, leaf = key.split(".")
        for p in path:
            if p not in node:
                node[p] = ml_collections.ConfigDict()
            node = node[p]
        if leaf not in node:
            node[leaf] = value
    return config
