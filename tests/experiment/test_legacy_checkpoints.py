"""Checkpoints written before the package was layered (tests/assets/legacy, see its README)
restore with today's code, and the variants that draw samples draw the same ones."""

import shutil

import jax
import numpy as np
import pytest

from gvoxel.experiment import run as run_lib
from tests.helpers import ASSETS

LEGACY = ASSETS / "legacy"
VARIANTS = ["synthesis", "recovery", "superres", "cooperative", "multigrid"]
DRAWS = ["synthesis", "cooperative", "multigrid"]


def restore(name, tmp_path):
    workdir = tmp_path / name
    shutil.copytree(LEGACY / name, workdir)  # orbax may write next to what it restores
    return run_lib.load_experiment(str(workdir), num_devices=1)


@pytest.mark.parametrize("name", VARIANTS)
def test_legacy_checkpoint_restores(name, tmp_path):
    exp, state, step = restore(name, tmp_path)
    assert step == 4 and exp.config.variant == name
    state = jax.device_get(state)
    assert int(state["step"]) == 4
    assert jax.tree.structure(state) == jax.tree.structure(exp.abstract_state)
    for x, want in zip(jax.tree.leaves(state), jax.tree.leaves(exp.abstract_state), strict=True):
        assert x.shape == want.shape and x.dtype == want.dtype
        assert np.all(np.isfinite(x))


@pytest.mark.parametrize("name", DRAWS)
def test_legacy_checkpoint_draws_the_samples_it_drew_before(name, tmp_path):
    """As `gvoxel sample --num=4 --langevin_steps=3 --seed=0` on one device did then: noise on (that
    code's default; today's draws as at the end of training unless told)."""
    exp, state, step = restore(name, tmp_path)
    grids, steps, noise = run_lib.draw(exp, state, step, 4, seed=0, steps=3, noise=True)
    assert (steps, noise) == (3, True)
    levels = jax.device_get(grids)
    levels = levels if isinstance(levels, dict) else {"samples": levels}
    expected = sorted((LEGACY / name / "expected_samples").glob("*.npz"))
    assert sorted(p.stem for p in expected) == sorted(levels)
    for path in expected:
        with np.load(path) as f:
            want = f["voxels"]
        got = np.asarray(levels[path.stem])
        assert got.shape == want.shape, path.stem
        # bit-exact on the host that wrote them; a tolerance for other CPUs
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0, err_msg=path.stem)
