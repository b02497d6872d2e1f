"""`gvoxel COMMAND [--flags]` (or `python -m gvoxel COMMAND`): one entry point for every
command in gvoxel.cli; `gvoxel COMMAND --help` lists a command's flags."""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "train": "train any variant (same as python -m gvoxel.main)",
    "sample": "draw fresh samples from a trained run",
    "generate": "shapes from a cooperative run's generator; interpolation, arithmetic",
    "recover": "fill in the missing voxels of shapes (a recovery run)",
    "superres": "up-scale low-resolution shapes (a superres run)",
    "evaluate": "sample-quality scores against real shapes",
    "classify": "classification with learned descriptor features (§6.5)",
    "voxelize": "turn a ModelNet-style mesh folder into a training archive",
    "render": "draw a voxel file as a montage, export meshes",
    "export": "a trained run's model as a small bundle (parameters only) to share or ship",
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    return "usage: gvoxel COMMAND [--flags]   (gvoxel COMMAND --help)\n" + "\n".join(lines)


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help", "help"):
        print(usage())
        return
    name = sys.argv[1]
    if name not in COMMANDS:
        sys.stderr.write(f"error: unknown command {name!r}; choose one of {', '.join(COMMANDS)}\n")
        sys.exit(2)
    from gvoxel.cli import common

    module = importlib.import_module(f"gvoxel.cli.{name}")
    sys.argv = [f"gvoxel {name}", *sys.argv[2:]]
    common.run(module.main, module.REQUIRED)


if __name__ == "__main__":
    main()
