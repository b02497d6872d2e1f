"""`gvoxel superres`: up-scales low-resolution shapes with a superres run; the binary result
keeps every block's voxel count; bad input is one error line."""

import os

import numpy as np

from gvoxel import data


def test_superres_cli_writes_results(trained_run, run_cli, tmp_path):
    shapes = data.load_voxels("bundled:chair32", resolution=16).voxels[:3]
    data.save_voxels(tmp_path / "low.npz", data.downscale(shapes.astype(np.float32), 2))
    out = tmp_path / "sr"
    proc = run_cli(
        "gvoxel.cli.superres", f"--workdir={trained_run('superres')}",
        f"--input={tmp_path / 'low.npz'}", f"--out={out}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert data.load_voxels(str(out / "superres.npz")).voxels.shape == (3, 16, 16, 16)
    assert os.path.exists(out / "comparison.png")
    # the binary result keeps every block's voxel count: it down-scales to the input
    binary = data.load_voxels(str(out / "superres_binary.npz")).voxels
    assert set(np.unique(binary)) <= {0.0, 1.0}
    low = data.load_voxels(str(tmp_path / "low.npz")).voxels
    np.testing.assert_allclose(data.downscale(binary, 2), np.rint(low * 8) / 8, atol=1e-6)


def test_superres_cli_refuses_bad_input_in_one_line(
    trained_run, run_cli, assert_one_line_error, tmp_path
):
    data.save_voxels(tmp_path / "m.npz", np.zeros((3, 16, 16, 16), bool))
    sr = trained_run("superres")
    cases = [
        ([f"--workdir={sr}", f"--input={tmp_path}/r8.npz.x"], "no such"),
        ([f"--workdir={sr}", f"--input={tmp_path}/m.npz", "--num=-1"], "--num"),
        (
            [f"--workdir={sr}", f"--input={tmp_path}/m.npz", "--langevin_steps=0"],
            "steps must be >= 1",
        ),
    ]
    for args, needle in cases:
        proc = run_cli("gvoxel.cli.superres", *args, f"--out={tmp_path / 'o'}")
        assert_one_line_error(proc, needle)
