"""Metric writers: readable log lines, TensorBoard event files and a JSON-lines file.

clu's writers need TensorFlow for event files; tensorboardX writes the same format without
it. Only process 0 writes.
"""

from __future__ import annotations

import json
import math
import os

import jax
from absl import logging


class MetricWriter:
    def __init__(self, logdir: str, enabled: bool | None = None):
        self.enabled = jax.process_index() == 0 if enabled is None else enabled
        self._tb = None
        self._jsonl = None
        if self.enabled:
            os.makedirs(logdir, exist_ok=True)
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(logdir)
            self._jsonl = open(os.path.join(logdir, "metrics.jsonl"), "a")

    def write_scalars(self, step: int, scalars: dict, log: bool = True):
        if not self.enabled:
            return
        scalars = {k: float(v) for k, v in scalars.items()}
        for k, v in scalars.items():
            self._tb.add_scalar(k, v, step)
        self._jsonl.write(json.dumps({"step": step, **scalars}) + "\n")
        self._jsonl.flush()
        if log:
            logging.info("[%d] %s", step, ", ".join(f"{k}={_fmt(v)}" for k, v in scalars.items()))

    def write_image(self, step: int, tag: str, png_path: str):
        """A written PNG (a sample montage) as a TensorBoard image."""
        if not self.enabled:
            return
        import matplotlib.image

        image = matplotlib.image.imread(png_path)  # float RGB(A) in [0, 1]
        self._tb.add_image(tag, image[..., :3], step, dataformats="HWC")
        self._tb.flush()

    def write_text(self, tag: str, text: str, step: int = 0):
        """Text (the resolved config) in TensorBoard's text tab, as preformatted markdown."""
        if self.enabled:
            indented = "\n".join("    " + line for line in text.splitlines())
            self._tb.add_text(tag, indented, step)

    def flush(self):
        if self.enabled:
            self._tb.flush()
            self._jsonl.flush()

    def close(self):
        if self.enabled:
            self._tb.close()
            self._jsonl.close()
            self.enabled = False


def _fmt(v: float) -> str:
    if math.isfinite(v) and v != 0 and (abs(v) >= 1e4 or abs(v) < 1e-3):
        return f"{v:.3e}"
    return f"{v:.4g}"
