"""Kill-and-resume cycles at random moments, and the bad-input table, as a report.

    python benchmarks/reliability.py [--cycles 5] [--iters 12] [--seed 0]

Each cycle starts the `smoke` synthesis run, SIGKILLs it at a random moment, restarts the same
command until it finishes, and compares the final parameters and chains bit for bit with an
uninterrupted run. Work lost = iterations done before the kill minus the checkpoint resumed
from. Then every bad input of the table must end in exit code 2 with one `error:` line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import _common
import numpy as np

ROOT = str(_common.ROOT)
SMOKE = os.path.join(ROOT, "configs", "synthesis.py") + ":smoke"


def cmd(workdir, iters):
    return [
        sys.executable,
        "-m",
        "gvoxel.main",
        f"--config={SMOKE}",
        f"--workdir={workdir}",
        f"--config.train.num_iters={iters}",
        "--config.train.num_devices=1",
        "--config.train.checkpoint_every=2",
        "--config.train.log_every=1",
    ]


def logged_steps(workdir):
    path = os.path.join(workdir, "metrics", "metrics.jsonl")
    if not os.path.exists(path):
        return 0
    steps = [json.loads(x)["step"] for x in open(path) if x.strip()]
    return max(steps, default=0)


def final_state(workdir):
    import jax

    from gvoxel.experiment.run import load_experiment

    _, state, step = load_experiment(workdir)
    return step, [np.asarray(x) for x in jax.tree.leaves(jax.device_get(state))]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=5)
    p.add_argument("--iters", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    tmp = tempfile.mkdtemp(prefix="gvoxel-reliability-")

    ref_dir = os.path.join(tmp, "reference")
    subprocess.run(cmd(ref_dir, a.iters), env=env, cwd=ROOT, check=True, capture_output=True)
    _, ref = final_state(ref_dir)

    exact, lost = 0, []
    for c in range(a.cycles):
        wd = os.path.join(tmp, f"cycle{c}")
        proc = subprocess.Popen(
            cmd(wd, a.iters),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Kill at a random point of the training itself (not its start-up): once iteration
        # `target` is logged, plus a random part of an iteration (saves included).
        target = int(rng.integers(1, a.iters))
        while proc.poll() is None and logged_steps(wd) < target:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = logged_steps(wd)
        from gvoxel.experiment import checkpoint

        mngr = checkpoint.manager(wd)
        resumed_from = mngr.latest_step() or 0
        mngr.close()
        lost.append(max(done - resumed_from, 0))
        subprocess.run(cmd(wd, a.iters), env=env, cwd=ROOT, check=True, capture_output=True)
        step, state = final_state(wd)
        same = step == a.iters and all(np.array_equal(x, y) for x, y in zip(state, ref))
        exact += same
        print(
            f"cycle {c}: killed after {done} logged iterations, resumed from {resumed_from}, "
            f"{'exact' if same else 'DIFFERENT'}",
            flush=True,
        )
    print(
        f"kill-and-resume: {exact}/{a.cycles} resumed exactly; "
        f"work lost {np.mean(lost):.1f} iterations on average (checkpoint every 2)"
    )

    bad = bad_input_table(tmp)
    clean = 0
    for name, args in bad:
        out = subprocess.run(
            [sys.executable, "-m", *args], env=env, cwd=ROOT, capture_output=True, text=True
        )
        errs = [x for x in out.stderr.splitlines() if x.startswith(("error:", "FATAL"))]
        ok = out.returncode == 2 and len(errs) == 1 and "Traceback" not in out.stderr
        clean += ok
        print(f"  {'ok ' if ok else 'BAD'} {name}: {errs[0] if errs else out.stderr[-200:]}")
    print(f"bad inputs: {clean}/{len(bad)} handled cleanly")


def bad_input_table(tmp):
    np.savez(os.path.join(tmp, "rank3.npz"), voxels=np.zeros((2, 8, 8), bool))
    np.savez(os.path.join(tmp, "nan.npz"), voxels=np.full((2, 8, 8, 8), np.nan, np.float32))
    open(os.path.join(tmp, "junk.npz"), "wb").write(b"junk")
    open(os.path.join(tmp, "afile"), "w").write("x")
    main_ = ["gvoxel.main", f"--config={SMOKE}"]
    return [
        ("missing data", main_ + [f"--workdir={tmp}/w1", "--config.data.path=/nope.npz"]),
        ("wrong rank", main_ + [f"--workdir={tmp}/w2", f"--config.data.path={tmp}/rank3.npz"]),
        ("NaN data", main_ + [f"--workdir={tmp}/w3", f"--config.data.path={tmp}/nan.npz"]),
        ("not an npz", main_ + [f"--workdir={tmp}/w4", f"--config.data.path={tmp}/junk.npz"]),
        ("config typo", main_ + [f"--workdir={tmp}/w5", "--config.sampler.stepz=1"]),
        ("wrong type", main_ + [f"--workdir={tmp}/w6", "--config.sampler.steps=many"]),
        ("unknown preset", ["gvoxel.main", f"--config={SMOKE[:-6]}:nope", f"--workdir={tmp}/w7"]),
        ("workdir is a file", main_ + [f"--workdir={tmp}/afile"]),
        ("sample w/o checkpoint", ["gvoxel.cli.sample", f"--workdir={tmp}/w8", f"--out={tmp}/o"]),
        ("render missing file", ["gvoxel.cli.render", "--input=/nope.npz", f"--out={tmp}/x"]),
    ]


if __name__ == "__main__":
    main()
