"""Every command's bad inputs: one `error:` line naming the problem, exit code 2, no traceback,
through the `gvoxel COMMAND` dispatcher users call."""

import numpy as np
import pytest

BAD = {  # name -> (command and flags, what the error line must say); {tmp}, {synthesis}, ...
    "train: config path typo": (
        ["train", "--config=configs/synthesiss.py:smoke", "--workdir={tmp}/w"],
        "config file 'configs/synthesiss.py' not found",
    ),
    "train: unknown preset": (["train", "--config=synthesis:nope", "--workdir={tmp}/w"], "nope"),
    "train: negative batch": (
        ["train", "--config=synthesis:smoke", "--workdir={tmp}/w", "--config.train.batch_size=-4"],
        "batch_size",
    ),
    "train: config key typo": (
        ["train", "--config=synthesis:smoke", "--workdir={tmp}/w", "--config.sampler.stepz=1"],
        "stepz",
    ),
    "train: missing data": (
        ["train", "--config=synthesis:smoke", "--workdir={tmp}/w", "--config.data.path=/no.npz"],
        "/no.npz",
    ),
    "train: NaN data": (
        [
            "train",
            "--config=synthesis:smoke",
            "--workdir={tmp}/w",
            "--config.data.path={tmp}/nan.npz",
        ],
        "NaN",
    ),  # fmt: skip
    "train: a refine.model that is not there": (
        ["train", "--config=synthesis:smoke", "--workdir={tmp}/w", "--config.refine.model={tmp}/x"],
        "x holds no checkpoints",
    ),
    "train: missing --workdir": (["train", "--config=synthesis:smoke"], "--workdir is required"),
    "sample: recovery run": (
        ["sample", "--workdir={recovery}", "--out={tmp}/o"],
        "cannot draw fresh samples",
    ),
    "sample: no checkpoints": (["sample", "--workdir={tmp}", "--out={tmp}/o"], "no checkpoints"),
    "sample: a checkpoint the run did not keep": (
        ["sample", "--workdir={synthesis}", "--out={tmp}/o", "--checkpoint=3"],
        "no checkpoint 3 in",
    ),
    "sample: --num=0": (
        ["sample", "--workdir={synthesis}", "--out={tmp}/o", "--num=0"],
        "--num must be positive",
    ),
    "sample: --refine_with a model that completes nothing": (
        ["sample", "--workdir={synthesis}", "--out={tmp}/o", "--refine_with={synthesis}"],
        "cannot complete a partial input",
    ),
    "sample: --refine_with a model of another size": (
        ["sample", "--workdir={synthesis}", "--out={tmp}/o",
         "--refine_with=bundled:chair_recovery"],
        "works on 32³ grids; the shapes are 16³",
    ),  # fmt: skip
    "sample: --refine_band past 0.5": (
        ["sample", "--workdir={synthesis}", "--out={tmp}/o", "--refine_with={recovery}",
         "--refine_band=0.7"],
        "refine.band must be in [0, 0.5]",
    ),  # fmt: skip
    "generate: no generator": (
        ["generate", "--workdir={synthesis}", "--out={tmp}/o"],
        "cannot generate",
    ),
    "generate: negative steps": (
        ["generate", "--workdir={cooperative}", "--out={tmp}/o", "--langevin_steps=-1"],
        "--langevin_steps must be >= 0",
    ),
    "recover: wrong grid size": (
        [
            "recover",
            "--workdir={recovery}",
            "--input={tmp}/big.npz",
            "--out={tmp}/o",
            "--corrupt=0.5",
        ],
        "32",
    ),  # fmt: skip
    "recover: not an npz": (
        [
            "recover",
            "--workdir={recovery}",
            "--input={tmp}/junk.npz",
            "--out={tmp}/o",
            "--corrupt=0.5",
        ],
        "junk.npz",
    ),
    "superres: zero steps": (
        [
            "superres",
            "--workdir={superres}",
            "--input={tmp}/small.npz",
            "--out={tmp}/o",
            "--langevin_steps=0",
        ],
        "steps must be >= 1",
    ),  # fmt: skip
    "evaluate: missing samples": (["evaluate", "--input={tmp}/none.npz"], "no such file"),
    "evaluate: wrong rank": (
        ["evaluate", "--input={tmp}/rank3.npz", "--workdir={synthesis}"],
        "not cubic",
    ),
    "classify: cooperative run": (["classify", "--workdir={cooperative}"], "cannot"),
    "voxelize: missing folder": (["voxelize", "--input={tmp}/nothing", "--out={tmp}/v"], "nothing"),
    "voxelize: bad margin": (
        ["voxelize", "--input={tmp}", "--out={tmp}/v", "--margin=9", "--resolution=16"],
        "margin 9.0 leaves no room",
    ),
    "render: missing file": (["render", "--input={tmp}/none.npz", "--out={tmp}/r"], "no such"),
    "render: bad threshold": (
        ["render", "--input=bundled:chair32", "--out={tmp}/r", "--threshold=2"],
        "threshold",
    ),
}


@pytest.fixture(scope="module")
def places(trained_run, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    np.savez(tmp / "nan.npz", voxels=np.full((4, 16, 16, 16), np.nan, np.float32))
    np.savez(tmp / "rank3.npz", voxels=np.zeros((2, 8, 8), bool))
    np.savez(tmp / "big.npz", voxels=np.zeros((2, 32, 32, 32), bool))
    np.savez(tmp / "small.npz", voxels=np.zeros((2, 8, 8, 8), bool))
    (tmp / "junk.npz").write_bytes(b"junk")
    runs = {v: trained_run(v) for v in ("synthesis", "recovery", "superres", "cooperative")}
    return dict(tmp=tmp, **runs)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_one_error_line(name, places, run_cli, assert_one_line_error):
    args, needle = BAD[name]
    proc = run_cli("gvoxel", *(a.format(**places) for a in args), timeout=180)
    assert_one_line_error(proc, needle, returncode=2)
