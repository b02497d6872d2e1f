"""A trained run's model as a bundle: parameters (and their moving average), the data mean and
the config, without optimizer moments or chains, SHA-256 summed; loads anywhere a workdir does
(`gvoxel sample --workdir=BUNDLE`, `gvoxel.load(BUNDLE)`).

    python -m gvoxel export --workdir=runs/chair --out=chair_model
"""

from __future__ import annotations

from gvoxel.cli import common
from gvoxel.cli import flags as shared
from gvoxel.experiment import run as run_lib


def main(argv):
    del argv
    out = run_lib.export(shared.WORKDIR.value, shared.OUT.value, shared.CHECKPOINT.value)
    print(f"wrote the model of {shared.WORKDIR.value} to {out}")


REQUIRED = ("workdir", "out")

if __name__ == "__main__":
    common.run(main, REQUIRED)
