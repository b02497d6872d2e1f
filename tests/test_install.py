"""A built wheel, installed outside the checkout, runs the documented commands from an empty
folder: configs resolve by name from the package, data and the reference classifier ship."""

import os
import subprocess
import sys
import zipfile

import pytest

from tests import helpers


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("install")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"),
         str(helpers.ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (base / "dist").glob("gvoxel-*.whl")
    target = base / "site"
    inst = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert inst.returncode == 0, inst.stderr[-3000:]
    return wheel, target


def run_outside(target, cwd, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLA_FLAGS")}
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(target))
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env
    )


def test_wheel_holds_configs_and_assets(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    for f in sorted(helpers.CONFIGS.glob("*.py")):
        assert f"gvoxel/configs/{f.name}" in names
    assert "gvoxel/assets/chair32.npz" in names
    assert any(n.startswith("gvoxel/assets/reference_classifier/checkpoints/") for n in names)
    assert os.path.getsize(wheel) < 15e6


def test_documented_commands_from_an_empty_folder(installed, tmp_path):
    _, target = installed
    where = run_outside(target, tmp_path, "-c", "import gvoxel; print(gvoxel.__file__)")
    assert where.stdout.startswith(str(target)), where.stdout + where.stderr
    train = run_outside(
        target, tmp_path, "-m", "gvoxel", "train", "--config=synthesis:smoke", "--workdir=w"
    )
    assert train.returncode == 0, train.stderr[-3000:]
    sample = run_outside(
        target, tmp_path, "-m", "gvoxel", "sample", "--workdir=w", "--num=2", "--out=s"
    )
    assert sample.returncode == 0, sample.stderr[-3000:]
    assert (tmp_path / "s" / "samples.png").is_file()
    assert sorted(os.listdir(tmp_path)) == ["s", "w"]  # nothing else written
