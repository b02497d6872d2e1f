"""Shipped models: a run exported as a bundle (parameters only) behaves as the run itself, is
checked on load, and every model shipped with the package loads and draws."""

import json

import numpy as np
import pytest

import gvoxel
from gvoxel.errors import InputError
from gvoxel.experiment import bundle
from gvoxel.experiment import run as run_lib


def outputs(model, name):
    """What the variant makes, the same way for the run and its bundle."""
    r = model.exp.info.resolution
    rng = np.random.default_rng(0)
    if name == "cooperative":
        return model.generate(model.latents(3, seed=1))
    if name == "recovery":
        y = (rng.random((2, r, r, r)) > 0.7).astype(np.float32)
        visible = (rng.random((2, r, r, r)) > 0.5).astype(np.float32)
        return model.recover(y, visible, seed=1)
    if name == "superres":
        f = model.exp.config.superres.factor
        low = rng.random((2, r // f, r // f, r // f)).astype(np.float32)
        return model.superres(low, seed=1)
    return model.sample(3, seed=1)


@pytest.mark.parametrize("name", ["synthesis", "recovery", "superres", "cooperative", "multigrid"])
def test_a_bundle_behaves_as_its_run(name, trained_run, tmp_path):
    run = trained_run(name)
    out = run_lib.export(str(run), str(tmp_path / "b"))
    np.testing.assert_array_equal(
        outputs(gvoxel.load(str(run)), name), outputs(gvoxel.load(out), name)
    )
    kept = np.load(tmp_path / "b" / "model.npz").files
    assert not any(k.startswith(("['opt_state']", "['chains']")) for k in kept)  # params only


def test_a_bundle_keeps_gs_moving_average_once_as_its_weights(trained_run, tmp_path):
    run = trained_run("cooperative", **{"generator.ema": 0.5})
    out = run_lib.export(str(run), str(tmp_path / "b"))
    kept = np.load(tmp_path / "b" / "model.npz").files
    assert any(k.startswith("['gen_params']") for k in kept)
    assert not any(k.startswith("['gen_ema_params']") for k in kept)
    np.testing.assert_array_equal(
        outputs(gvoxel.load(str(run)), "cooperative"), outputs(gvoxel.load(out), "cooperative")
    )


def test_a_changed_bundle_is_refused(trained_run, tmp_path):
    out = tmp_path / "b"
    run_lib.export(str(trained_run("synthesis")), str(out))
    meta = json.loads((out / "model.json").read_text())
    meta["step"] += 1
    (out / "model.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="model.json fails its SHA-256 check"):
        gvoxel.load(str(out))
    with pytest.raises(InputError, match="no bundled model 'nope'"):
        gvoxel.load("bundled:nope")


def test_shipped_models_load_and_draw_from_any_command(run_cli, tmp_path):
    names = bundle.names()
    shipped = {
        "chair", "chair_recovery", "bed_superres", "chair_cooperative", "chair_cooperative32",
        "chair_multigrid",
    }  # fmt: skip
    assert shipped <= set(names)
    for name in names:
        model = gvoxel.load(f"bundled:{name}")
        assert model.step > 0
        if "draw fresh samples" in model.capabilities:
            s = model.sample(2, seed=0, refine=False)
            assert s.shape[0] == 2 and np.isfinite(s).all()
    # a shipped recipe that refines its draws: binary shapes from the shipped recovery model
    model = gvoxel.load("bundled:chair_cooperative32")
    assert model.exp.config.refine.model == "bundled:chair_recovery"
    s = model.sample(2, seed=0)
    assert s.shape == (2, 32, 32, 32) and set(np.unique(s)) <= {0.0, 1.0}
    proc = run_cli("gvoxel", "sample", "--workdir=bundled:chair", f"--out={tmp_path}", "--num=2",
                   "--refine_with=none")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "samples.png").is_file()


def test_bundle_file_sizes_keep_the_wheel_small():
    assert bundle.MODELS.is_dir()
    total = sum(p.stat().st_size for p in bundle.MODELS.rglob("*") if p.is_file())
    assert total < 10e6  # with the bundled data, the wheel stays under test_install's 15 MB
