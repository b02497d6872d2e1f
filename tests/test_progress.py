"""Progress on long loops: every item passes through; tenths as lines in logs; a bar on a tty."""

import io

from gvoxel import progress


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_items_pass_through_unchanged():
    for enabled in (True, False):
        assert list(progress.track(iter(range(7)), "x", total=7, enabled=enabled)) == list(
            range(7)
        )


def test_log_lines_at_each_tenth():
    out = io.StringIO()
    list(progress.track(range(20), "meshes", stream=out, quiet_s=0.0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("meshes: 20/20 100%")
    assert "\r" not in out.getvalue()


def test_quick_loops_stay_quiet():
    out = io.StringIO()
    list(progress.track(range(20), "meshes", stream=out))
    assert out.getvalue() == ""


def test_bar_on_a_terminal():
    out = Tty()
    list(progress.track(range(5), "rendering", stream=out))
    assert "rendering" in out.getvalue() and "5/5" in out.getvalue()


def test_status_reports_the_time_in_logs():
    out = io.StringIO()
    with progress.status("drawing 4 samples", stream=out):
        pass
    assert out.getvalue().startswith("drawing 4 samples: done in ")
