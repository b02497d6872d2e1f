"""benchmarks/gpu_check.py's dry run: every stage runs (tiny sizes, CPU) and the results
hold what the GPU run will be read for."""

import json
import subprocess
import sys

from tests import helpers


def test_gpu_check_dry_run(tmp_path):
    p = subprocess.run(
        [sys.executable, str(helpers.ROOT / "benchmarks" / "gpu_check.py"), "--out",
         str(tmp_path), "--dry-run", "--budget-s", "300"],
        capture_output=True, text=True, timeout=400, cwd=helpers.ROOT,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    res = json.loads((tmp_path / "gpu_check.json").read_text())
    assert res["device"]["backend"] == "cpu"
    assert res["numerics"]["grad_rel_err_default_vs_highest"] < 1e-5
    assert res["tests"]["rc"] == 0 and "passed" in res["tests"]["summary"]
    impls = {r["impl"] for r in res["sampler"]}
    assert {"gvoxel[xla]", "gvoxel[xla,bf16]", "gvoxel[fft]", "gvoxel[dft]"} <= impls
    assert all(r["chain_steps_per_s"] > 0 for r in res["sampler"])
    assert [r["config"] for r in res["presets"]] == [
        "configs/synthesis.py:smoke", "configs/multigrid.py:smoke"
    ]  # fmt: skip
    assert all(r["s_per_iter"] > 0 for r in res["presets"])
    assert "fastest path: tiny 8³ b2:" in (tmp_path / "gpu_check.md").read_text()
