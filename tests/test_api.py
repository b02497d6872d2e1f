"""The Python API: gvoxel.load gives a model with its variant's methods, numpy in and out;
examples/api.py runs; `python -m gvoxel` dispatches; configs are found by name anywhere."""

import subprocess
import sys

import numpy as np
import pytest

import gvoxel
from gvoxel.core import features as features_lib
from gvoxel.errors import GVoxelError
from gvoxel.experiment import completion
from tests import helpers


def test_a_synthesis_model_samples_scores_and_draws(trained_run, tmp_path):
    m = gvoxel.load(str(trained_run("synthesis")))
    assert m.capabilities == ["draw fresh samples", "give descriptor features"]
    a, b = m.sample(3, seed=1), m.sample(3, seed=1)
    assert a.shape == (3, 16, 16, 16) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)  # a seed fixes the draw
    m.sample(3, seed=2)
    assert m.exp.synthesize._cache_size() == 1  # repeated draws reuse one executable
    assert 0.0 <= a.min() and a.max() <= 1.0
    e = m.energy(a)
    assert e.shape == (3,) and np.isfinite(e).all()
    assert m.features(a).shape[0] == 3
    compiled = features_lib._extract_jit._cache_size()
    np.testing.assert_array_equal(m.features(a), m.features(a))
    assert compiled >= 1 and features_lib._extract_jit._cache_size() == compiled  # reused
    png = gvoxel.render(a, str(tmp_path / "s.png"))
    assert png.endswith("s.png") and (tmp_path / "s.png").stat().st_size > 0
    assert len(gvoxel.export_meshes(a, str(tmp_path / "m"))) >= 1
    with pytest.raises(GVoxelError, match="cannot complete a partial input"):
        m.recover(a, a > 0.5)
    with pytest.raises(GVoxelError, match="16"):
        m.energy(np.zeros((1, 8, 8, 8)))


def test_a_recovery_model_recovers_and_refuses_to_sample(trained_run):
    m = gvoxel.load(str(trained_run("recovery")))
    y = (np.random.default_rng(0).random((2, 16, 16, 16)) > 0.8).astype(np.float32)
    visible = np.random.default_rng(1).random(y.shape) > 0.5
    out = m.recover(y, visible, steps=2)
    np.testing.assert_array_equal(out[visible], y[visible])  # the known part stays
    assert set(np.unique(out)) <= {0.0, 1.0}
    with pytest.raises(GVoxelError, match="cannot draw fresh samples"):
        m.sample(2)
    soft = np.random.default_rng(2).random((2, 16, 16, 16)).astype(np.float32)
    refined = m.refine(soft, radius=0, reach=0)  # no gap round: the sure voxels as decoded
    sure = ~np.asarray(completion.uncertain(soft))
    assert sure.any()
    np.testing.assert_array_equal(refined[sure], (soft > 0.5)[sure])
    assert set(np.unique(m.refine(soft))) <= {0.0, 1.0}
    with pytest.raises(GVoxelError, match="refine.band must be in"):
        m.refine(soft, band=0.6)


def test_sample_refines_as_the_recipe_says(trained_run):
    m = gvoxel.load(str(trained_run("synthesis")))
    recovery = str(trained_run("recovery"))
    raw = m.sample(2, refine=False)
    assert not set(np.unique(raw)) <= {0.0, 1.0}  # soft draws
    by_hand = m.sample(2, refine=recovery)
    assert set(np.unique(by_hand)) <= {0.0, 1.0}
    np.testing.assert_array_equal(m.sample(2), raw)  # the run's recipe refines nothing
    with m.exp.config.unlocked():
        m.exp.config.refine.model = recovery
    m = gvoxel.api.Model(m.exp, m.state, m.step)
    np.testing.assert_array_equal(m.sample(2), by_hand)  # now it names the recovery model
    np.testing.assert_array_equal(m.sample(2, refine=False), raw)


def test_the_shipped_recovery_model_averages_its_views_unless_told_not_to():
    m = gvoxel.load("bundled:chair_recovery")  # its recipe: 8 shifts × the mirror
    y = gvoxel.data.load_voxels("bundled:chair32").voxels[:2].astype(np.float32)
    visible = np.random.default_rng(0).random(y.shape) > 0.7
    views, one = m.recover(y, visible), m.recover(y, visible, views=False)
    for out in (views, one):
        np.testing.assert_array_equal(out[visible], y[visible])
    assert not np.array_equal(views, one)


def test_example_script_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(helpers.ROOT / "examples" / "api.py"), str(tmp_path / "w")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "fresh shapes (8, 16, 16, 16)" in proc.stdout
    assert (tmp_path / "w" / "api_samples.png").is_file()


def test_commands_dispatch_and_configs_resolve_by_name_from_any_folder(tmp_path, run_cli):
    usage = subprocess.run(
        [sys.executable, "-m", "gvoxel"], capture_output=True, text=True, timeout=120
    )
    assert usage.returncode == 0 and "sample" in usage.stdout and "train" in usage.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "gvoxel", "smaple"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown command 'smaple'")
    proc = subprocess.run(
        [sys.executable, "-m", "gvoxel", "train", "--config=synthesis:smoke",
         f"--workdir={tmp_path / 'w'}", "--config.train.num_iters=1",
         "--config.train.num_devices=1"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    typo = subprocess.run(
        [sys.executable, "-m", "gvoxel", "train", "--config=synthesiss:smoke",
         f"--workdir={tmp_path / 'v'}"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert typo.returncode == 2 and "Traceback" not in typo.stderr
    assert "config file 'synthesiss' not found" in typo.stderr
