"""`gvoxel train` (python -m gvoxel.main): bad input ends in one line on stderr and a
non-zero exit; nothing in the workdir is lost; --cpu_devices replaces the device count."""

import hashlib
import shutil

import numpy as np
import pytest

from gvoxel.experiment import checkpoint
from tests.helpers import CONFIGS, final_state

SMOKE = f"{CONFIGS / 'synthesis.py'}:smoke"
MULTIGRID_SMOKE = f"{CONFIGS / 'multigrid.py'}:smoke"


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


def file_digests(folder):
    """{relative path: SHA-256} of every file under `folder`."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def checkpoint_steps(workdir):
    mngr = checkpoint.manager(str(workdir))
    try:
        return sorted(mngr.all_steps())
    finally:
        mngr.close()


@pytest.fixture(scope="module")
def synthesis_run(trained_run):
    """A finished synthesis smoke run: (workdir, step, state, checkpoint steps, file digests)."""
    workdir = trained_run("synthesis")
    step, state = final_state(workdir)
    return workdir, step, state, checkpoint_steps(workdir), file_digests(workdir / "checkpoints")


@pytest.mark.parametrize("case", ["missing", "rank", "range", "nan", "garbage"])
def test_bad_data_is_one_line_and_keeps_checkpoints(
    tmp_path, case, synthesis_run, run_cli, assert_one_line_error, assert_states_equal
):
    """A trained run's workdir, resumed with bad data: one error line, and every checkpoint
    is still there, byte for byte, and restores to the state it held."""
    source, step, before, steps, files = synthesis_run
    assert step == 4 and steps == [2, 4]
    path, needle = bad_files(tmp_path)[case]
    workdir = tmp_path / "run"
    shutil.copytree(source, workdir)

    proc = run_cli(
        "gvoxel.main", f"--config={SMOKE}", f"--workdir={workdir}", f"--config.data.path={path}"
    )
    assert_one_line_error(proc, needle)
    assert file_digests(workdir / "checkpoints") == files
    assert checkpoint_steps(workdir) == steps
    step_after, after = final_state(workdir)
    assert step_after == step
    assert_states_equal(after, before)


def test_unknown_config_key_override(tmp_path, run_cli, assert_one_line_error):
    proc = run_cli(
        "gvoxel.main", f"--config={SMOKE}", f"--workdir={tmp_path}", "--config.sampler.stepz=3"
    )
    assert_one_line_error(proc, "stepz")


def test_unknown_conv_impl(tmp_path, run_cli, assert_one_line_error):
    proc = run_cli(
        "gvoxel.main", f"--config={SMOKE}", f"--workdir={tmp_path}", "--config.model.conv_impl=dfft"
    )
    assert_one_line_error(proc, "model.conv_impl", "dfft")


def test_unknown_config_key_in_file(tmp_path, run_cli, assert_one_line_error):
    cfg = tmp_path / "typo.py"
    cfg.write_text(
        "from gvoxel.experiment import config\n"
        "def get_config():\n"
        f"    c = config.load({SMOKE!r})\n"
        "    c.sampler.stp_size = 0.2\n"
        "    return c\n"
    )
    proc = run_cli("gvoxel.main", f"--config={cfg}", f"--workdir={tmp_path / 'w'}")
    assert_one_line_error(proc, "sampler.stp_size", "sampler.step_size")


def test_bad_multigrid_grid_list_on_the_command_line_is_one_line(
    tmp_path, run_cli, assert_one_line_error
):
    proc = run_cli(
        "gvoxel.main", f"--config={MULTIGRID_SMOKE}", "--config.multigrid.grids=(1,3,8)",
        f"--workdir={tmp_path / 'w'}",
    )  # fmt: skip
    assert_one_line_error(proc, "multigrid.grids ratios must be integers")


def test_workdir_that_is_a_file(tmp_path, run_cli, assert_one_line_error):
    f = tmp_path / "file"
    f.write_text("x")
    proc = run_cli("gvoxel.main", f"--config={SMOKE}", f"--workdir={f}")
    assert_one_line_error(proc, "not a directory")
    assert f.read_text() == "x"


def test_cpu_devices_flag(tmp_path, run_cli, assert_one_line_error):
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
