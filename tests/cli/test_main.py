"""`python -m gvoxel COMMAND`: one entry point for every command."""

from gvoxel.__main__ import COMMANDS, usage


def test_no_command_prints_the_usage(run_cli):
    proc = run_cli("gvoxel", timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == usage().strip()
    assert proc.stdout.startswith("usage: gvoxel COMMAND")
    for name in COMMANDS:  # every command listed, one per line
        assert any(line.split()[:1] == [name] for line in proc.stdout.splitlines()[1:]), name


def test_a_bad_command_is_one_error_line(run_cli, assert_one_line_error):
    proc = run_cli("gvoxel", "smaple", "--workdir=x", timeout=60)
    assert_one_line_error(proc, "unknown command 'smaple'", "sample", returncode=2)
    assert proc.stdout == ""
