"""A stall watchdog for multi-process runs.

When one process of a run dies, the others block inside a collective (gloo on CPU, NCCL on
GPU) that never returns and that Python cannot interrupt; JAX's heartbeat does not reach
them there. The loop calls `beat()` after each dispatch; a thread that sees no beat for
`timeout_s` prints one error line and ends the process (checkpoints already on disk stay)."""

from __future__ import annotations

import os
import sys
import threading
import time


class Watchdog:
    def __init__(self, timeout_s: float, what: str = "training", exit_code: int = 1):
        self.timeout_s, self.what, self.exit_code = timeout_s, what, exit_code
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        if self.timeout_s > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()
        return self

    def beat(self):
        self._last = time.monotonic()

    def stop(self):
        self._stop.set()

    def _watch(self):
        while not self._stop.wait(min(self.timeout_s / 4, 5.0)):
            idle = time.monotonic() - self._last
            if idle > self.timeout_s:
                sys.stderr.write(
                    f"error: {self.what} made no progress for {idle:.0f} s "
                    "(train.stall_timeout_s): another process of this run has probably "
                    "died; the workdir's last checkpoint is kept\n"
                )
                sys.stderr.flush()
                os._exit(self.exit_code)  # the main thread is stuck in a collective
