"""`gvoxel render`: a missing input is one error line."""


def test_render_cli_missing_input_is_one_error_line(tmp_path, run_cli):
    proc = run_cli(
        "gvoxel.cli.render", f"--input={tmp_path / 'nope.npz'}", f"--out={tmp_path / 'x.png'}",
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == f"error: {tmp_path / 'nope.npz'}: no such file"
    assert "Traceback" not in proc.stderr
