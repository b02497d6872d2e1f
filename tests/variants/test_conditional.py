"""Recovery and super-resolution (the conditional variants): smoke runs train, write their
outputs, checkpoint and resume bit-exactly."""

import os

import pytest

from gvoxel import train
from tests.helpers import final_state, smoke_config


@pytest.mark.parametrize("name", ["recovery", "superres"])
def test_smoke_trains_writes_outputs_and_resumes_bit_exactly(
    trained_run, assert_states_equal, tmp_path, name
):
    full = trained_run(name)
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
