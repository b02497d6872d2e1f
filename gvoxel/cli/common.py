"""Shared CLI plumbing: user errors end as one line on stderr and exit code 2."""

from __future__ import annotations

import logging as pylogging
import os
import sys

from absl import app, flags, logging

from gvoxel.errors import ConfigError, GVoxelError
from gvoxel.experiment import config as config_lib


def run(main, required=()):
    """absl `app.run` with GVoxelError (and a full disk) reported as one line; `required`
    flags are checked after parsing (not at import, so CLI modules import together)."""

    def wrapped(argv):
        quiet_libraries()
        try:
            missing = [n for n in required if flags.FLAGS[n].value is None]
            if missing:
                raise ConfigError(
                    f"flag --{missing[0]} is required" + ("" if len(missing) == 1 else
                    f" (also {', '.join('--' + m for m in missing[1:])})")
                )  # fmt: skip
            if len(argv) > 1:
                raise ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
            return main(argv)
        except GVoxelError as e:
            fail(str(e))
        except OSError as e:
            if e.errno == 28:  # ENOSPC
                fail(f"disk full while writing {e.filename or 'output'}")
            raise
        except KeyboardInterrupt:
            fail("interrupted")

    for name in required:  # --help marks what this command needs
        flag = flags.FLAGS[name]
        if not flag.help.endswith("(required)"):
            flag.help = f"{flag.help} (required)"
    app.run(wrapped, flags_parser=_parse_flags)


def _parse_flags(argv):
    """absl's parser, but a bad flag or config override is one line, not a traceback;
    --config=NAME:preset also finds configs/NAME.py from any folder."""
    try:
        return flags.FLAGS(_resolve_config(argv))
    except (flags.Error, GVoxelError) as e:
        fail(one_line(e))
    except Exception as e:  # config files raise anything while loading
        fail(f"bad --config: {one_line(e)}")


def _resolve_config(argv):
    out = list(argv)
    for i, arg in enumerate(out):
        if arg.startswith("--config="):
            out[i] = "--config=" + config_lib.resolve_spec(arg.removeprefix("--config="))
        elif arg == "--config" and i + 1 < len(out):
            out[i + 1] = config_lib.resolve_spec(out[i + 1])
    return out


def one_line(e: BaseException) -> str:
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


def fail(msg: str):
    logging.flush()
    sys.stderr.write(f"error: {msg}\n")
    sys.stderr.flush()
    os._exit(2)  # skip atexit hooks of half-finished async writers
