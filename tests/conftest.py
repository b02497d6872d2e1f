import os

# Tests run on the CPU; several simulated devices let the sharding tests run anywhere.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import fcntl  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests import helpers  # noqa: E402

# -- one compilation cache per session ---------------------------------------------------------


def pytest_configure(config):
    """A persistent XLA compilation cache for this test session, shared by the xdist workers
    and the command lines they run: a resumed smoke run, a CLI or a test that rebuilds the
    same step loads its executable instead of compiling it again. A JAX_COMPILATION_CACHE_DIR
    set by the caller is used as it is."""
    if not os.environ.get("JAX_COMPILATION_CACHE_DIR") and not hasattr(config, "workerinput"):
        # the controller (or a run without xdist); workers inherit the variable
        path = tempfile.mkdtemp(prefix="gvoxel-tests-xla-cache-")
        os.environ["JAX_COMPILATION_CACHE_DIR"] = path
        config._gvoxel_xla_cache = path
    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])


def pytest_unconfigure(config):
    path = getattr(config, "_gvoxel_xla_cache", None)
    if path:
        shutil.rmtree(path, ignore_errors=True)


# -- trained runs ---------------------------------------------------------------------------------


@contextmanager
def _locked(path):
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """`trained_run(variant, **overrides)` -> the workdir of a finished smoke run
    (configs/VARIANT.py:smoke on one device, with `overrides`), trained once per test session:
    the first xdist worker that asks trains it under a file lock, the others wait and reuse it.
    Each worker gets its own copy (orbax may write while it restores); tests read it and must
    not change it (copy it to tmp_path first)."""
    from gvoxel import train

    base = tmp_path_factory.getbasetemp()
    # xdist workers' temporary folders share a parent: the session's
    shared = (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / "trained_runs"
    shared.mkdir(exist_ok=True)
    copies = {}

    def get(variant="synthesis", **overrides):
        overrides = {"train.num_devices": 1, **overrides}
        name = re.sub(r"[^A-Za-z0-9_.=-]+", "_", "-".join(
            [variant] + [f"{k}={v}" for k, v in sorted(overrides.items())]
        ))  # fmt: skip
        if name not in copies:
            done = shared / name
            with _locked(shared / f"{name}.lock"):
                if not done.is_dir():
                    tmp = shared / f"{name}.partial"
                    shutil.rmtree(tmp, ignore_errors=True)
                    train.train_and_evaluate(helpers.smoke_config(variant, **overrides), str(tmp))
                    os.rename(tmp, done)
            copies[name] = tmp_path_factory.mktemp(name[:40]) / "run"
            shutil.copytree(done, copies[name])
        return copies[name]

    return get


# -- states -------------------------------------------------------------------------------------


def _assert_states_equal(a, b):
    """Same tree (same keys, same number of leaves), then every leaf bit-exactly."""
    a, b = jax.device_get(a), jax.device_get(b)
    sa, sb = jax.tree.structure(a), jax.tree.structure(b)
    assert sa == sb, f"different trees:\n{sa}\n{sb}"
    leaves_a = jax.tree_util.tree_leaves_with_path(a)
    leaves_b = jax.tree.leaves(b)
    assert len(leaves_a) == len(leaves_b)
    for (path, x), y in zip(leaves_a, leaves_b, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        where = jax.tree_util.keystr(path)
        assert x.shape == y.shape and x.dtype == y.dtype, (where, x.shape, y.shape)
        np.testing.assert_array_equal(x, y, err_msg=where)


@pytest.fixture(scope="session")
def assert_states_equal():
    """`assert_states_equal(a, b)`: the same tree structure (keys, leaf count), then every
    leaf equal bit for bit (NaN equals NaN)."""
    return _assert_states_equal


# -- command lines ------------------------------------------------------------------------------


def _run_cli(module, *args, timeout=300):
    """`python -m module args...` from the repository root, on the CPU."""
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=helpers.ROOT,
        env=env,
    )


def _assert_one_line_error(proc, *needles, returncode=None):
    """The command failed (with `returncode` if given) without a traceback, with exactly one
    `error:` (or absl `FATAL`) line on stderr that contains every needle."""
    assert proc.returncode != 0, proc.stderr[-2000:]
    if returncode is not None:
        assert proc.returncode == returncode, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(("error:", "FATAL"))]
    assert len(lines) == 1, proc.stderr[-2000:]
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture(scope="session")
def run_cli():
    """`run_cli(module, *args, timeout=300)` -> the finished subprocess.CompletedProcess."""
    return _run_cli


@pytest.fixture(scope="session")
def assert_one_line_error():
    """`assert_one_line_error(proc, *needles, returncode=None)`."""
    return _assert_one_line_error
