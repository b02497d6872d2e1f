"""`gvoxel generate`: shapes from a cooperative run's generator, interpolation and latent
arithmetic; bad latent files and runs without a generator are one error line."""

import os
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gvoxel.cli import generate
from gvoxel.errors import InputError
from gvoxel.experiment import run as run_lib


def test_interpolation_endpoints_are_the_generated_endpoints(trained_run):
    smoke_run = trained_run("cooperative")
    exp, state, _ = run_lib.load_experiment(str(smoke_run), num_devices=1)
    v = exp.variant
    z = v.latents(jax.random.PRNGKey(3), 2)
    strip = jax.jit(v.generate)(state, generate.interpolation_latents(z[0], z[1], 5))
    ends = jax.jit(v.generate)(state, z)
    np.testing.assert_allclose(strip[0], ends[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(strip[-1], ends[1], rtol=1e-5, atol=1e-7)
    apart = float(jnp.mean(jnp.abs(ends[1] - ends[0])))
    assert float(jnp.mean(jnp.abs(strip[2] - ends[0]))) > 0.2 * apart  # the middle is between


def test_arithmetic_keeps_the_direction_at_the_inputs_mean_norm():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 100)).astype(np.float32)
    out = generate.arithmetic_latents(a, b, c)
    plain = a - b + c
    norm = np.mean([np.linalg.norm(x) for x in (a, b, c)])
    np.testing.assert_allclose(np.linalg.norm(out), norm, rtol=1e-5)
    np.testing.assert_allclose(out / np.linalg.norm(out), plain / np.linalg.norm(plain), rtol=1e-5)
    assert np.linalg.norm(plain) > 1.5 * norm  # what the scaling undoes (√3 for independent z)


def test_generate_cli_samples_does_arithmetic_and_rejects_bad_input(trained_run, run_cli, tmp_path):
    smoke_run = trained_run("cooperative")
    out = tmp_path / "gen"
    proc = run_cli(
        "gvoxel.cli.generate",
        f"--workdir={smoke_run}",
        f"--out={out}",
        "--num=3",
        "--langevin_steps=2",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    with np.load(out / "refined.npz") as f:
        grids = f["voxels"]
    assert grids.shape == (3, 16, 16, 16) and grids.min() >= 0 and grids.max() <= 1
    with np.load(out / "latents.npz") as f:
        assert f["z"].shape == (3, 8)

    # Arithmetic from given latents: one row a, b, c, a − b + c.
    z = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    np.savez(tmp_path / "z.npz", z=z)
    proc = run_cli(
        "gvoxel.cli.generate",
        f"--workdir={smoke_run}",
        f"--out={out}",
        "--arithmetic",
        f"--latents={tmp_path / 'z.npz'}",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    with np.load(out / "arithmetic.npz") as f:
        row = f["voxels"]
    assert row.shape == (1, 4, 16, 16, 16) and os.path.exists(out / "arithmetic.png")
    exp, state, _ = run_lib.load_experiment(str(smoke_run), num_devices=1)
    v = exp.variant
    want = jax.jit(lambda s, z: v.postprocess(s, v.generate(s, z)))(
        state, jnp.asarray(generate.arithmetic_latents(*z))[None]
    )
    np.testing.assert_allclose(row[0, 3], np.asarray(want)[0], atol=1e-5)

    # Bad input: one line, exit 2.
    proc = run_cli(
        "gvoxel.cli.generate", f"--workdir={smoke_run}", f"--out={out}", "--interpolate=1"
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "error: --interpolate needs at least 2" in proc.stderr


def test_bad_latent_files_are_input_errors(tmp_path):
    np.savez(tmp_path / "wrong.npz", z=np.zeros((3, 5)))
    np.savez(tmp_path / "noz.npz", w=np.zeros((3, 8)))
    np.savez(tmp_path / "nan.npz", z=np.full((3, 8), np.nan))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    for name, needle in [
        ("wrong.npz", "must be (N, 8)"),
        ("noz.npz", "no array 'z'"),
        ("nan.npz", "NaN"),
        ("junk.npz", "not a readable"),
        ("nope.npz", "no such file"),
    ]:
        with pytest.raises(InputError, match=re.escape(needle)):
            generate.load_latents(str(tmp_path / name), 8)


def test_generate_on_a_synthesis_run_is_one_error_line(
    trained_run, run_cli, assert_one_line_error, tmp_path
):
    """A synthesis run has no generator (`base.require`). (cli/test_sample.py runs this check
    through both entry points, `python -m gvoxel.cli.X` and `python -m gvoxel X`.)"""
    workdir = trained_run("synthesis")
    proc = run_cli("gvoxel.cli.generate", f"--workdir={workdir}", f"--out={tmp_path / 'o'}")
    assert_one_line_error(proc, "cannot generate from latents", returncode=2)
    assert not (tmp_path / "o").exists()
