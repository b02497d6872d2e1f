"""Progress on long loops: a rich bar (rate, ETA) when stderr is a terminal; in logs and pipes
a line at each tenth once the loop has run `quiet_s` seconds (quick loops, such as the
montages a training run writes, stay quiet), so a batch job's output shows progress without
carriage returns."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def _tty(stream) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def track(
    items: Iterable,
    description: str,
    total: int | None = None,
    enabled: bool = True,
    stream=None,
    quiet_s: float = 2.0,
) -> Iterator:
    """Yield `items`, showing how far along they are."""
    stream = stream or sys.stderr
    total = len(items) if total is None and hasattr(items, "__len__") else total
    if not enabled:
        yield from items
        return
    if _tty(stream):
        columns = (
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(),
        )  # fmt: skip
        with Progress(*columns, console=Console(file=stream), transient=False) as bar:
            task = bar.add_task(description, total=total)
            for item in items:
                yield item
                bar.advance(task)
        return
    start, last_tenth, done = time.monotonic(), 0, 0
    for item in items:
        yield item
        done += 1
        tenth = 10 * done // total if total else -1
        late = time.monotonic() - start >= quiet_s
        if total and late and (tenth != last_tenth or done == total):
            last_tenth = tenth
            rate = done / max(time.monotonic() - start, 1e-9)
            eta = (total - done) / rate
            stream.write(
                f"{description}: {done}/{total} {100 * done // total:3d}% "
                f"{rate:.1f}/s ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}\n"
            )
            stream.flush()


@contextmanager
def status(description: str, enabled: bool = True, stream=None):
    """A spinner with the elapsed time while one long call (a jitted sampler) runs."""
    stream = stream or sys.stderr
    if not enabled:
        yield
        return
    if _tty(stream):
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=Console(file=stream), transient=True) as bar:
            bar.add_task(description, total=None)
            yield
        return
    start = time.monotonic()
    yield
    stream.write(f"{description}: done in {time.monotonic() - start:.1f} s\n")
    stream.flush()
