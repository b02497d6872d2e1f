"""Shared CLI plumbing: user errors end as one line on stderr and exit code 2."""

from __future__ import annotations

import difflib
import logging as pylogging
import os
import sys

import ml_collections
from absl import app, flags, logging

from gvoxel.errors import ConfigError, GVoxelError


def run(main):
    """absl `app.run` with GVoxelError (and a full disk) reported as one line."""

    def wrapped(argv):
        quiet_libraries()
        try:
            return main(argv)
        except GVoxelError as e:
            _fail(str(e))
        except OSError as e:
            if e.errno == 28:  # ENOSPC
                _fail(f"disk full while writing {e.filename or 'output'}")
            raise
        except KeyboardInterrupt:
            _fail("interrupted")

    app.run(wrapped, flags_parser=_parse_flags)


def _parse_flags(argv):
    """absl's parser, but a bad flag or config override is one line, not a traceback."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        _fail(_one_line(e))
    except Exception as e:  # config files raise anything while loading
        _fail(f"bad --config: {_one_line(e)}")


def _one_line(e: BaseException) -> str:
    while e.__cause__ is not None or e.__context__ is not None:
        inner = e.__cause__ or e.__context__
        if "Traceback" in str(e) or not str(e):
            e = inner
        else:
            break
    text = " ".join(str(e).replace("\\n", " ").replace("\\'", "'").split())
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]  # KeyError-style repr quotes around the whole message
    return text or type(e).__name__


class _DropLibraryInfo(pylogging.Filter):
    """Orbax and friends log every save step at INFO; keep their warnings only."""

    def filter(self, record):
        noisy = any(f"/{m}/" in record.pathname for m in ("orbax", "etils", "jax"))
        return record.levelno >= pylogging.WARNING or not noisy


def quiet_libraries():
    logging.get_absl_handler().addFilter(_DropLibraryInfo())


def _fail(msg: str):
    logging.flush()
    sys.stderr.write(f"error: {msg}\n")
    sys.stderr.flush()
    os._exit(2)  # skip atexit hooks of half-finished async writers


def check_config(config: ml_collections.ConfigDict, reference: ml_collections.ConfigDict):
    """Every key of `config` must exist in `reference` with a compatible type."""
    ref, cur = _flat(reference.to_dict()), _flat(config.to_dict())
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


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
