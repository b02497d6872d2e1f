"""What several benchmarks share: this checkout on sys.path, the PyTorch peer (its script and
a python with torch), comma-separated lists as argparse types, config presets, a run's split,
a freshly compiled training step and a trained conditional run.

gvoxel is imported inside the functions, never here: train_rate.py puts another checkout's
gvoxel first on sys.path after importing this module.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # this checkout's gvoxel, installed or not
    sys.path.insert(1, str(ROOT))

# The peer: the same nets and Langevin sampler in plain PyTorch, kept beside the repository.
PEER_SCRIPT = ROOT.parent / "shared" / "peers" / "torch_langevin.py"


def add_peer_flags(parser: argparse.ArgumentParser):
    """--peer (the peer script) and --torch (a python that has torch); see Peer."""
    parser.add_argument(
        "--peer",
        default=os.environ.get("GVOXEL_TORCH_PEER") or str(PEER_SCRIPT),
        help="the PyTorch peer script (default: $GVOXEL_TORCH_PEER, else %(default)s)",
    )
    parser.add_argument(
        "--torch",
        default=os.environ.get("TORCH_PYTHON") or sys.executable,
        help="a python with torch for the peer (default: $TORCH_PYTHON, else this python)",
    )


class Peer:
    """The PyTorch peer as --peer and --torch name it; `problem` says in one line why it
    cannot run (no script, no torch), else None."""

    def __init__(self, args):
        self.python, self.script = args.torch, args.peer
        self.problem = self._problem()

    def _problem(self) -> str | None:
        if not os.path.isfile(self.script):
            return f"no peer script {self.script} (set --peer or GVOXEL_TORCH_PEER)"
        try:
            found = subprocess.run([self.python, "-c", "import torch"], capture_output=True)
        except OSError as e:
            return f"cannot run {self.python}: {e}"
        if found.returncode:
            return f"{self.python} has no torch (set --torch or TORCH_PYTHON)"
        return None

    def __str__(self):
        return self.problem or f"{self.python} {self.script}"

    def run(self, timeout: float, **flags) -> dict | None:
        """One run with `--flag value` for each keyword: its JSON result line, or None (why
        on stderr when it failed)."""
        if self.problem:
            return None
        cmd = [self.python, self.script]
        for key, value in flags.items():
            cmd += [f"--{key}", str(value)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
        except subprocess.CalledProcessError as e:
            print(f"# torch peer failed: {e.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return None
        except (subprocess.SubprocessError, OSError) as e:
            print(f"# torch peer failed: {e}", file=sys.stderr)
            return None
        return json.loads(out.stdout.strip().splitlines()[-1])


def int_list(text: str) -> list[int]:
    """argparse type: '8,16,32' → [8, 16, 32]; anything else is a one-line usage error."""
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 8,16,32, got {text!r}")
    return values


def name_list(choices):
    """argparse type: 'a,b' → ['a', 'b'], each one of `choices`."""

    def parse(text: str) -> list[str]:
        names = [x for x in text.split(",") if x]
        unknown = [x for x in names if x not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown)}; choose from {', '.join(choices)}"
            )
        return names

    return parse


def preset(file: str, name: str, **overrides):
    """configs/FILE.py:NAME of this checkout with dotted-key overrides (experiment.config.load;
    the full path, so a same-named file in the working directory is never taken instead)."""
    from gvoxel.experiment import config

    return config.load(f"{ROOT / 'configs' / file}.py:{name}", **overrides)


def run_split(data_cfg):
    """(training shapes, held-out shapes) of a run's config.data, exactly as the training loop
    splits them: the training set capped at data.max_examples, and the validation set."""
    from gvoxel.data import split

    return split.training_set(data_cfg).voxels, split.train_val(data_cfg)[1].voxels


def fresh_run(cfg, voxels, devices=1):
    """A freshly initialised run of `cfg` on `voxels`, its jitted step compiled by one
    training step: (experiment, state after that step, jitted step, batches, compile seconds).
    """
    import jax

    from gvoxel.experiment import batches as pipeline
    from gvoxel.experiment.run import Experiment
    from gvoxel.variants.base import DataInfo

    mean = pipeline.data_mean(voxels, cfg.data.mean)
    batches = pipeline.Batches(voxels - mean, cfg.train.batch_size, cfg.seed)
    exp = Experiment(cfg, DataInfo(voxels.shape[-1], len(voxels), batches.steps_per_epoch), devices)
    state = exp.init_state(cfg.seed, mean, batches.data)
    step = exp.jit_train_step()
    t = time.perf_counter()
    state, metrics = step(state, batches.batch(0))
    jax.block_until_ready(metrics)
    return exp, state, step, batches, time.perf_counter() - t


def trained_run(config, workdir: str, train_first: bool, variant: str | None = None):
    """(experiment, state, step, training seconds) of the run in `workdir`, trained (or
    resumed) to the config's iterations first when `train_first`; with `variant`, a one-line
    error unless the run is that conditional variant (recovery, superres). A model bundle
    (`bundled:NAME` or an exported folder) is finished: it is loaded, never trained."""
    from gvoxel.experiment import bundle, completion
    from gvoxel.experiment.run import load_experiment
    from gvoxel.train import train_and_evaluate

    t0 = time.time()
    if train_first and not bundle.is_bundle(workdir):
        train_and_evaluate(config, workdir)
    seconds = time.time() - t0
    exp, state, step = load_experiment(workdir)
    if variant:
        completion.check_variant(exp, variant)
    return exp, state, step, seconds
