"""Recovery and super-resolution: smoke runs train, checkpoint, resume bit-exactly and write
outputs; trained chains keep their condition; the CLIs write results and refuse bad input."""

import os
import sys

import jax
import numpy as np
import pytest

from gvoxel import data, train
from gvoxel.core import corruption
from gvoxel.experiment import completion
from gvoxel.experiment import run as run_lib
from gvoxel.metrics.conditional import iou, recovery_error, voxel_error

sys.path.insert(0, os.path.dirname(__file__))
from test_cli_errors import assert_one_line_error, run_cli  # noqa: E402
from test_train import assert_states_equal, final_state, smoke_config  # noqa: E402

VARIANTS = ["recovery", "superres"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished smoke run per variant (4 iterations), shared by the tests below."""
    out = {}
    for name in VARIANTS:
        workdir = tmp_path_factory.mktemp(name)
        train.train_and_evaluate(smoke_config(name, **{"train.num_devices": 1}), str(workdir))
        out[name] = workdir
    return out


@pytest.mark.parametrize("name", VARIANTS)
def test_smoke_trains_writes_outputs_and_resumes_bit_exactly(trained, tmp_path, name):
    full = trained[name]
    for part in ("original", "input", "result"):
        assert os.path.exists(full / "samples" / f"iter_000004_{part}.png")
        assert os.path.exists(full / "samples" / f"iter_000004_{part}.npz")
    part = tmp_path / "part"
    train.train_and_evaluate(
        smoke_config(name, **{"train.num_iters": 2, "train.num_devices": 1}), str(part)
    )
    train.train_and_evaluate(smoke_config(name, **{"train.num_devices": 1}), str(part))
    step_a, a = final_state(full)
    step_b, b = final_state(part)
    assert step_a == step_b == 4
    assert_states_equal(a, b)


def test_trained_recovery_keeps_visible_voxels_and_superres_keeps_low_res(trained):
    shapes = data.load_voxels("bundled:chair32", resolution=16).voxels[:6].astype(np.float32)
    exp, state, _ = run_lib.load_experiment(str(trained["recovery"]))
    visible = np.asarray(corruption.visible_mask(jax.random.PRNGKey(0), 6, 16, "box", 0.5))
    start, res = completion.complete(exp, state, visible, shapes, noise=True, num_steps=10)
    assert np.array_equal(res[visible], shapes[visible])
    assert np.array_equal(start[visible], shapes[visible])
    assert np.any(res[~visible] != start[~visible])

    exp, state, _ = run_lib.load_experiment(str(trained["superres"]))
    low = np.asarray(data.downscale(shapes, 2))
    start, res = completion.complete(exp, state, low, None, noise=True, num_steps=10)
    # results are clipped to [0, 1]; where no voxel of a block was clipped CY is exact
    raw_ok = np.all((res > 0) & (res < 1), axis=None)
    if raw_ok:
        np.testing.assert_allclose(data.downscale(res, 2), low, atol=1e-5)
    np.testing.assert_allclose(data.downscale(start, 2), low, atol=1e-6)
    assert np.abs(res - start).max() > 0


def test_metrics_on_known_cases():
    y = np.zeros((2, 4, 4, 4), np.float32)
    y[:, :2] = 1
    visible = np.ones_like(y, bool)
    visible[:, 0] = False  # 16 hidden voxels, all occupied
    rec = y.copy()
    rec[0, 0, :2] = 0  # 8 of them wrong in shape 0
    rec[1, 3] = 1  # wrong, but visible: not counted
    np.testing.assert_allclose(recovery_error(rec, y, visible), [0.5, 0.0])
    np.testing.assert_allclose(voxel_error(rec, y), [8 / 64, 16 / 64])
    np.testing.assert_allclose(iou(rec, y), [24 / 32, 32 / 48])
    assert float(iou(np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 2, 2)))[0]) == 1.0


def test_recover_and_superres_clis_write_results(trained, tmp_path):
    shapes = data.load_voxels("bundled:chair32", resolution=16).voxels[:3]
    data.save_voxels(tmp_path / "in.npz", shapes)
    out = tmp_path / "rec"
    proc = run_cli(
        "gvoxel.cli.recover", f"--workdir={trained['recovery']}", f"--input={tmp_path / 'in.npz'}",
        "--corrupt=0.6", "--kind=half", f"--out={out}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "recovery error" in proc.stdout
    for f in ("recovered.npz", "recovered.png", "input.npz", "mask.npz", "comparison.png"):
        assert os.path.exists(out / f), f
    rec = data.load_voxels(str(out / "recovered.npz")).voxels
    vis = data.load_voxels(str(out / "mask.npz")).voxels.astype(bool)
    assert np.array_equal(rec[vis], shapes[vis].astype(np.float32))
    binary = data.load_voxels(str(out / "recovered_binary.npz")).voxels
    assert set(np.unique(binary[~vis])) <= {0.0, 1.0}  # visible voxels stay as given
    assert np.array_equal(binary[vis], shapes[vis].astype(np.float32))

    # the written mask drives a second recovery of the same inputs
    proc = run_cli(
        "gvoxel.cli.recover", f"--workdir={trained['recovery']}", f"--input={tmp_path / 'in.npz'}",
        f"--mask={out / 'mask.npz'}", f"--out={tmp_path / 'rec2'}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]

    data.save_voxels(tmp_path / "low.npz", data.downscale(shapes.astype(np.float32), 2))
    out = tmp_path / "sr"
    proc = run_cli(
        "gvoxel.cli.superres", f"--workdir={trained['superres']}",
        f"--input={tmp_path / 'low.npz'}", f"--out={out}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert data.load_voxels(str(out / "superres.npz")).voxels.shape == (3, 16, 16, 16)
    assert os.path.exists(out / "comparison.png")
    # the binary result keeps every block's voxel count: it down-scales to the input
    binary = data.load_voxels(str(out / "superres_binary.npz")).voxels
    assert set(np.unique(binary)) <= {0.0, 1.0}
    low = data.load_voxels(str(tmp_path / "low.npz")).voxels
    np.testing.assert_allclose(data.downscale(binary, 2), np.rint(low * 8) / 8, atol=1e-6)


def test_clis_refuse_bad_input_in_one_line(trained, tmp_path):
    data.save_voxels(tmp_path / "r8.npz", np.zeros((2, 8, 8, 8), bool))
    data.save_voxels(tmp_path / "r16.npz", np.zeros((2, 16, 16, 16), bool))
    data.save_voxels(tmp_path / "m.npz", np.zeros((3, 16, 16, 16), bool))
    rec, sr = trained["recovery"], trained["superres"]
    cases = [
        ("gvoxel.cli.recover", [f"--workdir={rec}", f"--input={tmp_path}/r16.npz"], "exactly one"),
        ("gvoxel.cli.recover", [f"--workdir={rec}", f"--input={tmp_path}/r8.npz", "--corrupt=.5"],
         "trained at 16^3"),
        ("gvoxel.cli.recover", [f"--workdir={rec}", f"--input={tmp_path}/r16.npz", "--corrupt=1.5"],
         "rho"),
        ("gvoxel.cli.recover", [f"--workdir={rec}", f"--input={tmp_path}/r16.npz",
                            f"--mask={tmp_path}/m.npz"], "does not fit"),
        ("gvoxel.cli.recover", [f"--workdir={sr}", f"--input={tmp_path}/r16.npz", "--corrupt=.5"],
         "needs a 'recovery' model"),
        ("gvoxel.cli.superres", [f"--workdir={sr}", f"--input={tmp_path}/r8.npz.x"], "no such"),
        ("gvoxel.cli.superres", [f"--workdir={sr}", f"--input={tmp_path}/m.npz", "--num=-1"],
         "--num"),
        ("gvoxel.cli.superres", [f"--workdir={sr}", f"--input={tmp_path}/m.npz", "--steps=0"],
         "steps must be >= 1"),
    ]  # fmt: skip
    for module, args, needle in cases:
        proc = run_cli(module, *args, f"--out={tmp_path / 'o'}")
        assert_one_line_error(proc, needle)


def test_superres_factor_must_divide_the_resolution(tmp_path):
    from gvoxel.errors import ConfigError

    cfg = smoke_config("superres", **{"superres.factor": 3, "train.num_devices": 1})
    with pytest.raises(ConfigError, match="does not divide"):
        train.train_and_evaluate(cfg, str(tmp_path))


def random_boxes(rng, n, r=16):
    """Solid axis-aligned boxes, sides 4..9, anywhere in the grid: a toy shape distribution."""
    out = np.zeros((n, r, r, r), bool)
    for i in range(n):
        side = rng.integers(4, 10, 3)
        lo = [rng.integers(0, r - s + 1) for s in side]
        out[i, lo[0] : lo[0] + side[0], lo[1] : lo[1] + side[1], lo[2] : lo[2] + side[2]] = True
    return out


def test_briefly_trained_recovery_beats_zero_fill_on_boxes(tmp_path):
    """Noise-free training chains (as at test time) learn to fill in hidden box voxels: the
    recovered binary shapes beat filling with zeros (measured 0.026 vs 0.063)."""
    rng = np.random.default_rng(0)
    data.save_voxels(tmp_path / "boxes.npz", random_boxes(rng, 64))
    cfg = smoke_config(
        "recovery",
        **{
            "data.path": str(tmp_path / "boxes.npz"),
            "data.max_examples": 0,
            "data.val_fraction": 0.0,
            "train.num_devices": 1,
            "train.batch_size": 8,
            "train.num_iters": 80,
            "train.sample_every": 80,
            "train.checkpoint_every": 80,
            "train.log_every": 80,
            "sampler.num_chains": 8,
            "sampler.steps": 10,
            "sampler.step_size": 0.25,
            "model.init_std": 0.0,
            "optim.lr": 0.005,
        },
    )
    workdir = tmp_path / "run"
    train.train_and_evaluate(cfg, str(workdir))
    exp, state, _ = run_lib.load_experiment(str(workdir))
    test = random_boxes(np.random.default_rng(1), 16).astype(np.float32)
    visible = np.asarray(corruption.visible_mask(jax.random.PRNGKey(2), 16, 16, "random", 0.7))
    _, res = completion.complete(exp, state, visible, test)
    ours = float(np.mean(recovery_error(completion.binarize(exp, visible, res), test, visible)))
    zeros = float(np.mean(recovery_error(np.where(visible, test, 0.0), test, visible)))
    assert ours < 0.6 * zeros, (ours, zeros)


def test_trilinear_start_satisfies_the_condition_and_beats_block_copies():
    from gvoxel.variants.superres import SuperResolution

    shapes = data.load_voxels("bundled:bed64", resolution=32).voxels[:4].astype(np.float32)
    low = np.asarray(data.downscale(shapes, 4))
    starts = {
        kind: np.asarray(SuperResolution(None, 4, False, 4, kind).start(low))
        for kind in ("block", "trilinear")
    }
    for s in starts.values():
        np.testing.assert_allclose(data.downscale(s, 4), low, atol=1e-5)
    # as shapes (thresholded at 0.5), smooth starts are closer to the originals
    err = {k: float(np.abs((s > 0.5) - shapes).mean()) for k, s in starts.items()}
    assert err["trilinear"] < 0.9 * err["block"], err
