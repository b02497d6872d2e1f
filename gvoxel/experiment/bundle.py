"""Shipped models: a trained run reduced to what defines the model (parameters, their moving
average, the data mean, the generator's batch statistics, the multi-grid histogram), without
optimizer moments or chains, as one .npz beside its config, SHA-256 checked on load.

A bundle folder holds `model.npz` (the kept state leaves by path), `model.json` (the run's
config, data info and iteration) and `SHA256SUMS`. Bundles shipped with the package live in
gvoxel/assets/models/NAME and load as "bundled:NAME".
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np

from gvoxel.data import files
from gvoxel.errors import InputError

MODELS = Path(__file__).resolve().parents[1] / "assets" / "models"
PREFIX = "bundled:"
FILES = ("model.json", "model.npz")
# State keys a bundle leaves out: the optimizer's moments and the chains of a training run
# (re-initialised on load; sampling draws fresh chains).
DROPPED = ("opt_state", "gen_opt_state", "chains", "coarse_chains", "inputs", "observed",
           "generated", "rng")  # fmt: skip
# A bundle draws and never trains: where g's weights have a moving average (the weights g
# draws with), the bundle stores the average as the weights, once.
AVERAGED = {"gen_ema_params": "gen_params"}
# Kept at half precision: where chains start needs no more, and it is the largest array
HALF = ("init_basis",)


def is_bundle(source: str) -> bool:
    return str(source).startswith(PREFIX) or (Path(source) / "model.json").is_file()


def folder(source: str) -> Path:
    """The folder of "bundled:NAME" (the package's) or of a bundle path."""
    if str(source).startswith(PREFIX):
        name = str(source).removeprefix(PREFIX)
        path = MODELS / name
        if not (path / "model.json").is_file():
            raise InputError(f"no bundled model {name!r} (have: {', '.join(names()) or 'none'})")
        return path
    return Path(source)


def names() -> list[str]:
    return sorted(p.parent.name for p in MODELS.glob("*/model.json"))


def write(out: str, config_json: str, data_info: dict, step: int, state: dict) -> Path:
    """Write the bundle of `state` (host or device arrays) to the folder `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    kept = {k: v for k, v in state.items() if k not in DROPPED}
    for average, weights in AVERAGED.items():
        if average in kept:
            kept[weights] = kept.pop(average)
    kept = jax.device_get(kept)
    for key in HALF:
        if key in kept:
            kept[key] = np.asarray(kept[key], np.float16)
    arrays = {
        jax.tree_util.keystr(path): np.asarray(leaf)
        for path, leaf in jax.tree_util.tree_leaves_with_path(kept)
    }
    with files.atomic_output(str(out / "model.npz")) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    meta = {"config": json.loads(config_json), "data_info": data_info, "step": int(step)}
    with files.atomic_output(str(out / "model.json")) as tmp, open(tmp, "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    files.write_checksums(out, FILES)
    return out


def read(source: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(meta, arrays) of a bundle, after its SHA-256 check."""
    path = folder(source)
    files.verify_checksums(path, FILES, "the model")
    meta = json.loads((path / "model.json").read_text())
    with np.load(path / "model.npz") as f:
        arrays = {k: f[k] for k in f.files}
    return meta, arrays


def fill(state: dict, arrays: dict[str, np.ndarray]) -> dict:
    """`state` (a freshly initialised one) with every leaf the bundle holds replaced, placed
    as the fresh leaf is; every kept leaf of `state` must be in the bundle, with its shape."""
    def take(path, leaf):
        key = jax.tree_util.keystr(path)
        if key not in arrays:
            raise InputError(f"the model file lacks {key}; it belongs to another net")
        value = arrays[key]
        if value.shape != leaf.shape:
            raise InputError(f"{key}: shape {value.shape} in the model file, {leaf.shape} here")
        return jax.device_put(value.astype(leaf.dtype), leaf.sharding)

    kept = {k: v for k, v in state.items() if k not in DROPPED}
    averaged = [(a, w) for a, w in AVERAGED.items() if kept.pop(a, None) is not None]
    filled = jax.tree_util.tree_map_with_path(take, kept)
    for average, weights in averaged:
        filled[average] = filled[weights]
    return dict(state, **filled)
