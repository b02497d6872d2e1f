"""`gvoxel voxelize`: a mesh folder to an archive, with a progress bar and a summary."""

import shutil

from gvoxel.data import load_voxels
from tests.helpers import BATHTUBS


def test_voxelize_writes_an_archive_and_refuses_bad_flags(tmp_path, run_cli):
    src = tmp_path / "M"
    (src / "bathtub" / "test").mkdir(parents=True)
    shutil.copy(BATHTUBS[1], src / "bathtub" / "test")
    (src / "bathtub" / "test" / "bad.off").write_bytes(b"")
    out = tmp_path / "o"
    args = [f"--input={src}", f"--out={out}"]
    ok = run_cli("gvoxel.cli.voxelize", *args, "--resolution=16", timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "1 grids from 1 meshes" in ok.stdout and "bad.off: empty file" in ok.stdout
    assert "100%" in ok.stderr  # the progress bar
    assert load_voxels(str(out / "voxels.npz")).resolution == 16
    bad = run_cli("gvoxel.cli.voxelize", *args, "--margin=9", "--resolution=16")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("error: margin 9.0 leaves no room")
