"""`gvoxel sample`: fresh samples from a trained run (every grid of a multi-grid run); a
workdir without checkpoints, or of a variant that cannot draw samples, is one error line."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel.experiment import completion
from gvoxel.experiment import run as run_lib


def test_sample_without_checkpoint(tmp_path, run_cli, assert_one_line_error):
    proc = run_cli("gvoxel.cli.sample", f"--workdir={tmp_path}", f"--out={tmp_path / 'o'}")
    assert_one_line_error(proc, "no checkpoints")


def test_sample_cli_draws_every_grid_of_a_multigrid_run_from_scratch(
    trained_run, run_cli, tmp_path
):
    smoke_run = trained_run("multigrid")
    out = tmp_path / "fresh"
    proc = run_cli("gvoxel.cli.sample", f"--workdir={smoke_run}", f"--out={out}", "--num=3")
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name, r in (("grid4", 4), ("samples", 8)):
        with np.load(out / f"{name}.npz") as f:
            grids = f["voxels"]
        assert grids.shape == (3, r, r, r) and grids.min() >= 0 and grids.max() <= 1
        assert os.path.exists(out / f"{name}.png")

    # In-process: every level comes back, and different keys give different samples.
    exp, state, _ = run_lib.load_experiment(str(smoke_run), num_devices=1)
    synth = jax.jit(exp.variant.synthesize, static_argnums=(2, 3))
    a = synth(state, jax.random.PRNGKey(0), 2, 3)
    b = synth(state, jax.random.PRNGKey(1), 2, 3)
    assert {k: v.shape for k, v in a.items()} == {"grid4": (2, 4, 4, 4), "samples": (2, 8, 8, 8)}
    assert float(jnp.abs(a["samples"] - b["samples"]).max()) > 0


@pytest.mark.parametrize("command", [("gvoxel.cli.sample",), ("gvoxel", "sample")])
def test_sample_on_a_recovery_run_is_one_error_line(
    command, trained_run, run_cli, assert_one_line_error, tmp_path
):
    """A recovery run completes inputs; it cannot draw fresh samples (`base.require`)."""
    workdir = trained_run("recovery")
    proc = run_cli(*command, f"--workdir={workdir}", f"--out={tmp_path / 'o'}")
    assert_one_line_error(proc, "cannot draw fresh samples", returncode=2)
    assert not (tmp_path / "o").exists()


def test_sample_refined_by_a_recovery_model_is_binary_and_keeps_the_raw_draws(
    trained_run, run_cli, tmp_path
):
    out = tmp_path / "fresh"
    proc = run_cli(
        "gvoxel.cli.sample",
        f"--workdir={trained_run('synthesis')}",
        f"--out={out}",
        "--num=3",
        f"--refine_with={trained_run('recovery')}",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "refined by" in proc.stdout
    with np.load(out / "samples.npz") as f, np.load(out / "unrefined.npz") as g:
        refined, raw = f["voxels"], g["voxels"]
    assert refined.shape == raw.shape == (3, 16, 16, 16)
    assert set(np.unique(refined)) <= {0, 1}
    sure = ~np.asarray(completion.uncertain(raw))
    # sure voxels stay as decoded at 0.5 (checked exactly in tests/experiment), but for
    # the gaps between pieces, which the second round may fill
    np.testing.assert_array_equal(refined[sure & (raw > 0.5)], 1)
    assert np.mean(refined[sure] == (raw[sure] > 0.5)) > 0.99
