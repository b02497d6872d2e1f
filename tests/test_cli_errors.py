"""Bad input ends in one line on stderr and exit code 2; nothing in the workdir is lost."""

import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")
SMOKE = os.path.join(ROOT, "configs", "synthesis.py") + ":smoke"


def run_cli(module, *args, timeout=300):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def assert_one_line_error(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(("error:", "FATAL"))]
    assert len(lines) == 1, proc.stderr[-2000:]
    for n in needles:
        assert n in lines[0], lines[0]


def bad_files(tmp):
    np.savez(tmp / "rank3.npz", voxels=np.zeros((4, 16, 16), bool))
    np.savez(tmp / "range.npz", voxels=np.full((4, 16, 16, 16), 2.0, np.float32))
    nan = np.zeros((4, 16, 16, 16), np.float32)
    nan[0, 1, 2, 3] = np.nan
    np.savez(tmp / "nan.npz", voxels=nan)
    (tmp / "garbage.npz").write_bytes(b"\x00\x01not a zip file")
    return {
        "missing": (str(tmp / "nope.npz"), "nope.npz"),
        "rank": (str(tmp / "rank3.npz"), "rank3.npz"),
        "range": (str(tmp / "range.npz"), "range.npz"),
        "nan": (str(tmp / "nan.npz"), "nan.npz"),
        "garbage": (str(tmp / "garbage.npz"), "garbage.npz"),
    }


@pytest.mark.parametrize("case", ["missing", "rank", "range", "nan", "garbage"])
def test_bad_data_is_one_line_and_keeps_checkpoints(tmp_path, case):
    path, needle = bad_files(tmp_path)[case]
    workdir = tmp_path / "run"
    os.makedirs(workdir / "checkpoints" / "7")
    (workdir / "checkpoints" / "7" / "keep.txt").write_text("precious")
    proc = run_cli(
        "gvoxel.main", f"--config={SMOKE}", f"--workdir={workdir}", f"--config.data.path={path}"
    )
    assert_one_line_error(proc, needle)
    assert (workdir / "checkpoints" / "7" / "keep.txt").read_text() == "precious"


def test_unknown_config_key_override(tmp_path):
    proc = run_cli(
        "gvoxel.main", f"--config={SMOKE}", f"--workdir={tmp_path}", "--config.sampler.stepz=3"
    )
    assert_one_line_error(proc, "stepz")


def test_unknown_conv_impl(tmp_path):
    proc = run_cli(
        "gvoxel.main", f"--config={SMOKE}", f"--workdir={tmp_path}", "--config.model.conv_impl=dfft"
    )
    assert_one_line_error(proc, "model.conv_impl", "dfft")


def test_unknown_config_key_in_file(tmp_path):
    cfg = tmp_path / "typo.py"
    cfg.write_text(
        "import importlib.util, os\n"
        f"spec = importlib.util.spec_from_file_location('s', {SMOKE.split(':')[0]!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "def get_config():\n"
        "    c = m.get_config('smoke')\n"
        "    c.sampler.stp_size = 0.2\n"
        "    return c\n"
    )
    proc = run_cli("gvoxel.main", f"--config={cfg}", f"--workdir={tmp_path / 'w'}")
    assert_one_line_error(proc, "sampler.stp_size", "sampler.step_size")


def test_workdir_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    proc = run_cli("gvoxel.main", f"--config={SMOKE}", f"--workdir={f}")
    assert_one_line_error(proc, "not a directory")
    assert f.read_text() == "x"


def test_sample_without_checkpoint(tmp_path):
    proc = run_cli("gvoxel.cli.sample", f"--workdir={tmp_path}", f"--out={tmp_path / 'o'}")
    assert_one_line_error(proc, "no checkpoints")


def test_cpu_devices_flag(tmp_path):
    # the tests' environment simulates 4 devices; the flag must replace that count
    proc = run_cli(
        "gvoxel.main", f"--config={SMOKE}", f"--workdir={tmp_path / 'a'}", "--cpu_devices=3"
    )
    assert_one_line_error(proc, "batch_size=4 is not divisible by the 3 devices")
    proc = run_cli(
        "gvoxel.main", f"--config={SMOKE}", f"--workdir={tmp_path / 'b'}", "--cpu_devices=-1"
    )
    assert_one_line_error(proc, "--cpu_devices must be >= 0")
    proc = run_cli(
        "gvoxel.main",
        f"--config={SMOKE}",
        f"--workdir={tmp_path / 'c'}",
        "--cpu_devices=2",
        "--config.train.num_iters=2",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "; 2 device(s)" in proc.stderr
