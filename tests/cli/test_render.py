"""`gvoxel render`: a missing input is one error line."""


def test_render_cli_missing_input_is_one_error_line(tmp_path, run_cli):
    proc = run_cli(
        "gvoxel.cli.render", f"--input={tmp_path / 'nope.npz'}", f"--out={tmp_path / 'x'}",
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == f"error: {tmp_path / 'nope.npz'}: no such file"
    assert "Traceback" not in proc.stderr


def test_render_writes_a_picture_and_meshes_into_the_out_folder(tmp_path, run_cli):
    proc = run_cli(
        "gvoxel.cli.render", "--input=bundled:chair32", f"--out={tmp_path / 'r'}", "--num=2",
        "--meshes", timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "r" / "render.png").is_file()
    assert sorted(p.suffix for p in (tmp_path / "r" / "meshes").iterdir()) == [".obj", ".obj"]
