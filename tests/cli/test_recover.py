"""`gvoxel recover`: fills in hidden voxels with a recovery run, writes results and a mask
that drives a second recovery; bad input is one error line."""

import os

import numpy as np

from gvoxel import data


def test_recover_cli_writes_results(trained_run, run_cli, tmp_path):
    shapes = data.load_voxels("bundled:chair32", resolution=16).voxels[:3]
    data.save_voxels(tmp_path / "in.npz", shapes)
    out = tmp_path / "rec"
    rec = trained_run("recovery")
    proc = run_cli(
        "gvoxel.cli.recover", f"--workdir={rec}", f"--input={tmp_path / 'in.npz'}",
        "--corrupt=0.6", "--kind=half", f"--out={out}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "recovery error" in proc.stdout
    for f in ("recovered.npz", "recovered.png", "input.npz", "mask.npz", "comparison.png"):
        assert os.path.exists(out / f), f
    recovered = data.load_voxels(str(out / "recovered.npz")).voxels
    vis = data.load_voxels(str(out / "mask.npz")).voxels.astype(bool)
    assert np.array_equal(recovered[vis], shapes[vis].astype(np.float32))
    binary = data.load_voxels(str(out / "recovered_binary.npz")).voxels
    assert set(np.unique(binary[~vis])) <= {0.0, 1.0}  # visible voxels stay as given
    assert np.array_equal(binary[vis], shapes[vis].astype(np.float32))

    # the written mask drives a second recovery of the same inputs
    proc = run_cli(
        "gvoxel.cli.recover", f"--workdir={rec}", f"--input={tmp_path / 'in.npz'}",
        f"--mask={out / 'mask.npz'}", f"--out={tmp_path / 'rec2'}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_recover_cli_refuses_bad_input_in_one_line(
    trained_run, run_cli, assert_one_line_error, tmp_path
):
    data.save_voxels(tmp_path / "r8.npz", np.zeros((2, 8, 8, 8), bool))
    data.save_voxels(tmp_path / "r16.npz", np.zeros((2, 16, 16, 16), bool))
    data.save_voxels(tmp_path / "m.npz", np.zeros((3, 16, 16, 16), bool))
    rec, sr = trained_run("recovery"), trained_run("superres")
    cases = [
        ([f"--workdir={rec}", f"--input={tmp_path}/r16.npz"], "exactly one"),
        ([f"--workdir={rec}", f"--input={tmp_path}/r8.npz", "--corrupt=.5"], "trained at 16^3"),
        ([f"--workdir={rec}", f"--input={tmp_path}/r16.npz", "--corrupt=1.5"], "rho"),
        ([f"--workdir={rec}", f"--input={tmp_path}/r16.npz", f"--mask={tmp_path}/m.npz"],
         "does not fit"),
        ([f"--workdir={sr}", f"--input={tmp_path}/r16.npz", "--corrupt=.5"],
         "needs a 'recovery' model"),
    ]  # fmt: skip
    for args, needle in cases:
        proc = run_cli("gvoxel.cli.recover", *args, f"--out={tmp_path / 'o'}")
        assert_one_line_error(proc, needle)
