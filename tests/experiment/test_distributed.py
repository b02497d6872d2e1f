"""Multi-process runs on one machine: 2 processes × 2 CPU devices (gloo collectives) against
1 process × 4 devices, restores across process counts, a dead process, and the settings the
launch scripts hand to the code."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from gvoxel.errors import ConfigError
from gvoxel.experiment import distributed
from gvoxel.experiment import run as run_lib
from tests import helpers

SMOKE = ["--config=synthesis:smoke", "--config.train.sample_every=2"]


def free_port():
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "XLA_FLAGS"))}
    return dict(e, JAX_PLATFORMS="cpu", PYTHON=sys.executable, **extra)


def two_processes(workdir, *flags, timeout=240):
    """launch/local_processes.sh: 2 processes with 2 CPU devices each."""
    return subprocess.run(
        ["bash", str(helpers.ROOT / "launch" / "local_processes.sh"), "2", "2",
         "synthesis:smoke", str(workdir), *SMOKE[1:], *flags],
        capture_output=True, text=True, timeout=timeout, cwd=helpers.ROOT,
        env=env(GVOXEL_PORT=str(free_port())),
    )  # fmt: skip


def one_process(workdir, *flags, devices=4):
    return subprocess.run(
        [sys.executable, "-m", "gvoxel.main", *SMOKE, f"--workdir={workdir}",
         f"--cpu_devices={devices}", *flags],
        capture_output=True, text=True, timeout=240, cwd=helpers.ROOT, env=env(),
    )  # fmt: skip


def final_state(workdir):
    _, state, step = run_lib.load_experiment(str(workdir), num_devices=1)
    return step, state


def assert_close(a, b):
    import jax

    for (path, x), y in zip(
        jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b), strict=True
    ):
        np.testing.assert_allclose(
            np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-5, err_msg=jax.tree_util.keystr(path)
        )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("multiprocess")
    two, one = base / "two", base / "one"
    p2 = two_processes(two)
    assert p2.returncode == 0, p2.stderr[-3000:]
    p1 = one_process(one)
    assert p1.returncode == 0, p1.stderr[-3000:]
    return two, one, p2


def test_two_processes_equal_one(runs):
    two, one, _ = runs
    s2, state2 = final_state(two)
    s1, state1 = final_state(one)
    assert s2 == s1 == 4
    assert_close(state2["params"], state1["params"])
    assert_close(state2["chains"], state1["chains"])


def test_only_process_zero_writes(runs):
    two, _, proc = runs
    lines = [json.loads(x) for x in (two / "metrics" / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in lines if "loss" in r]
    assert steps == sorted(set(steps)) == [1, 2, 3, 4]  # one writer, not two
    assert len(list((two / "metrics").glob("events.out.tfevents.*"))) == 1
    assert sorted(p.name for p in (two / "samples").glob("*.png")) == [
        "iter_000002_samples.png", "iter_000004_samples.png"
    ]  # fmt: skip
    assert "Traceback" not in proc.stderr


def test_checkpoint_of_two_processes_continues_in_one(runs, tmp_path):
    two, one, _ = runs
    a, b = tmp_path / "from_two", tmp_path / "from_one"
    shutil.copytree(two, a)
    shutil.copytree(one, b)
    for w in (a, b):
        p = one_process(w, "--config.train.num_iters=6")
        assert p.returncode == 0, p.stderr[-3000:]
        assert "resumed from checkpoint at iteration 4" in p.stderr
    (sa, state_a), (sb, state_b) = final_state(a), final_state(b)
    assert sa == sb == 6
    assert_close(state_a["params"], state_b["params"])
    assert_close(state_a["chains"], state_b["chains"])


@pytest.mark.parametrize("when", ["mid-run", "mid-save"])
def test_dead_process_ends_the_other(tmp_path, when):
    """Killing process 1 mid-run (process 0 then waits in a collective) or while a checkpoint
    is being written (process 0's exchange then fails) ends process 0 with one error line,
    well before a hang, and keeps the last finished checkpoint."""
    port, procs = free_port(), []
    for i in range(2):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "gvoxel.main", *SMOKE, f"--workdir={tmp_path / 'w'}",
             "--cpu_devices=2", f"--coordinator_address=localhost:{port}",
             "--num_processes=2", f"--process_id={i}", "--config.train.num_iters=100000",
             "--config.train.sample_every=100000", "--config.train.checkpoint_every=20",
             "--config.train.stall_timeout_s=5", "--config.train.log_every=1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=helpers.ROOT,
            env=env(),
        ))  # fmt: skip
    try:
        deadline = time.time() + 180
        while not (tmp_path / "w" / "checkpoints" / "20").exists():
            assert time.time() < deadline and procs[0].poll() is None, "run did not start"
            time.sleep(0.5)
        while when == "mid-save" and not list((tmp_path / "w" / "checkpoints").glob("40*")):
            assert time.time() < deadline and procs[0].poll() is None, "no second checkpoint"
            time.sleep(0.002)
        procs[1].send_signal(signal.SIGKILL)
        killed = time.time()
        _, err = procs[0].communicate(timeout=120)
        assert time.time() - killed < 60
    finally:
        for p in procs:
            p.kill()
    assert procs[0].returncode not in (0, None)
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "another process" in errors[0], err[-2000:]
    assert (tmp_path / "w" / "checkpoints" / "20").exists()  # the last checkpoint stays


# -- settings: flags, environment, checks -----------------------------------------------------


def test_settings_from_flags_and_environment():
    e = {"JAX_COORDINATOR_ADDRESS": "h:1", "JAX_NUM_PROCESSES": "4", "JAX_PROCESS_ID": "3"}
    assert distributed.settings(environ=e)[:3] == ("h:1", 4, 3)
    # a flag wins over its variable
    assert distributed.settings(process_id=1, environ=e)[:3] == ("h:1", 4, 1)
    assert not distributed.settings(environ={}).explicit()  # auto-detection


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"coordinator_address": "h:1"}, "missing --num_processes, --process_id"),
        ({"coordinator_address": "h:1", "num_processes": 2, "process_id": 2}, "process_id"),
        ({"coordinator_address": "h", "num_processes": 2, "process_id": 0}, "HOST:PORT"),
        ({"coordinator_address": "h:1", "num_processes": "x", "process_id": 0}, "integers"),
    ],
)
def test_bad_settings(kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        distributed.settings(environ={}, **kwargs)


def test_bad_settings_on_the_command_line(run_cli, assert_one_line_error, tmp_path):
    proc = run_cli("gvoxel.main", *SMOKE, f"--workdir={tmp_path}", "--num_processes=2")
    assert_one_line_error(proc, "missing --coordinator_address", returncode=2)


def stub(folder, name, body):
    path = folder / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


def test_slurm_script_sets_what_the_code_reads(tmp_path):
    """The sbatch script with stand-ins for scontrol, srun and python: each task gets the
    coordinator on the first node, the task count and its own rank."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    stub(bin_, "scontrol", 'printf "node07\\nnode08\\n"\n')
    # srun: run the task command once per rank, as SLURM would
    stub(bin_, "srun", 'shift\nfor r in 0 1; do SLURM_PROCID=$r "$@"; done\n')
    stub(bin_, "fakepython", 'echo "$JAX_COORDINATOR_ADDRESS $JAX_NUM_PROCESSES '
         '$JAX_PROCESS_ID $*"\n')  # fmt: skip
    out = subprocess.run(
        ["bash", str(helpers.ROOT / "launch" / "slurm.sbatch"), "synthesis:paper", "runs/x",
         "--config.train.num_iters=5"],
        capture_output=True, text=True, timeout=30,
        env=dict(env(), PATH=f"{bin_}:{os.environ['PATH']}", PYTHON=str(bin_ / "fakepython"),
                 SLURM_JOB_NODELIST="node[07-08]", SLURM_NTASKS="2"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    tail = "-m gvoxel.main --config=synthesis:paper --workdir=runs/x --config.train.num_iters=5"
    assert out.stdout.splitlines() == [f"node07:29500 2 0 {tail}", f"node07:29500 2 1 {tail}"]
    # and those are exactly what settings() reads
    e = dict(JAX_COORDINATOR_ADDRESS="node07:29500", JAX_NUM_PROCESSES="2", JAX_PROCESS_ID="1")
    assert distributed.settings(environ=e)[:3] == ("node07:29500", 2, 1)


def test_tpu_script_runs_one_command_on_every_worker(tmp_path):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    stub(bin_, "gcloud", 'for a in "$@"; do echo "[$a]"; done\n')
    out = subprocess.run(
        ["bash", str(helpers.ROOT / "launch" / "tpu_pod.sh"), "pod", "zone-a",
         "synthesis:paper", "gs://b/run", "--config.seed=3"],
        capture_output=True, text=True, timeout=30,
        env=dict(env(), PATH=f"{bin_}:{os.environ['PATH']}"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "[--worker=all]" in out.stdout
    assert (
        "[GVOXEL_DISTRIBUTED=1 python -m gvoxel.main --config=synthesis:paper "
        "--workdir=gs://b/run --config.seed=3]" in out.stdout
    )
