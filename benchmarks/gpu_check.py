"""One run that measures what matters on a GPU host, prepared so that GPU minutes go to
measuring: numerics of the energy gradient, the fast tests on the GPU backend, sampler
throughput per convolution path and dtype beside PyTorch on the same GPU, and the paper
presets' training rate beside the paper's Titan Xp (Table 6).

    python benchmarks/gpu_check.py --out results/gpu          # on the GPU host (~8 min)
    python benchmarks/gpu_check.py --out /tmp/dry --dry-run   # anywhere: tiny sizes, CPU

Each stage runs in its own process with a time limit, so one failing or slow stage does not
cost the others; every stage's output is kept in OUT/NAME.log, the results in
OUT/gpu_check.json and a table in OUT/gpu_check.md (with the fastest path per net and size,
for `gvoxel.core.conv.choose_impl`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import _common

HERE = Path(__file__).resolve().parent
# The paper's Titan Xp, seconds per epoch (Table 6): multi-grid 793-1,650, single-grid 349-632.
PAPER_S_PER_EPOCH = {"synthesis:paper": (349, 632), "multigrid:paper": (793, 1650)}


def plan(dry: bool) -> dict:
    if dry:
        return dict(
            platform="cpu", nets="tiny", sizes="8", batches="2", steps=2, repeats=1,
            impls="xla,fft,dft", dtypes="float32,bfloat16", iters=1,
            presets=("synthesis:smoke", "multigrid:smoke"),
            tests=["tests/core/test_projections.py"],
            numerics_size=8, numerics_net="tiny",
        )  # fmt: skip
    return dict(
        platform="cuda", nets="synthesis,cooperative", sizes="32,64", batches="25,50",
        steps=20, repeats=3, impls="xla,fft,dft", dtypes="float32,bfloat16", iters=5,
        presets=tuple(PAPER_S_PER_EPOCH), tests=["tests/core"], numerics_size=32,
        numerics_net="synthesis",
    )  # fmt: skip


def stage(out: Path, name: str, cmd: list[str], timeout: int, env: dict) -> tuple[int, str]:
    t = time.time()
    try:
        p = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=_common.ROOT
        )
        rc, text = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc, text = 124, f"{e.stdout or ''}{e.stderr or ''}\n(timed out after {timeout} s)"
    (out / f"{name}.log").write_text(text if isinstance(text, str) else text.decode())
    print(f"[{name}] rc {rc} in {time.time() - t:.0f} s", flush=True)
    return rc, text if isinstance(text, str) else text.decode()


def json_lines(text: str) -> list[dict]:
    rows = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def numerics(net_name: str, size: int) -> dict:
    """∂f/∂Y of a net at the backend's default precision against 'highest' (GPUs compute f32
    convolutions in TF32 by default)."""
    import jax
    import numpy as np

    from gvoxel.core import nets

    net = nets.Descriptor(layers=nets.resolve_layers(net_name), init_std=0.0, conv_impl="xla")
    y = jax.random.normal(jax.random.PRNGKey(0), (2, size, size, size)) * 0.5
    params = net.init(jax.random.PRNGKey(1), y)

    def grad(precision):
        with jax.default_matmul_precision(precision):
            return np.asarray(jax.jit(jax.grad(lambda y: net.apply(params, y).sum()))(y))

    default, highest = grad("default"), grad("highest")
    rel = float(np.linalg.norm(default - highest) / np.linalg.norm(highest))
    return {"backend": jax.default_backend(), "grad_rel_err_default_vs_highest": rel}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="folder for logs, JSON and the table")
    p.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU")
    p.add_argument("--stage", help=argparse.SUPPRESS)  # internal: one stage in this process
    p.add_argument("--budget-s", type=int, default=480, help="time limit of the whole check")
    a = p.parse_args()
    cfg = plan(a.dry_run)
    if a.stage == "numerics":
        print(json.dumps(numerics(cfg["numerics_net"], cfg["numerics_size"])))
        return
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, JAX_PLATFORMS=cfg["platform"])
    env.pop("XLA_FLAGS", None)
    py, t0 = sys.executable, time.time()
    left = lambda share: max(30, int((a.budget_s - (time.time() - t0)) * share))  # noqa: E731
    res: dict = {"dry_run": a.dry_run, "started": time.strftime("%Y-%m-%d %H:%M:%S")}

    rc, text = stage(out, "device", [py, "-c", (
        "import jax, json; d = jax.devices()[0]; print(json.dumps({'backend': "
        "jax.default_backend(), 'device': d.device_kind, 'count': jax.device_count(), "
        "'jax': jax.__version__}))")], 120, env)  # fmt: skip
    res["device"] = (json_lines(text) or [{"error": text[-500:]}])[0]

    rc, text = stage(out, "numerics", [py, __file__, "--out", str(out), "--stage", "numerics"]
                     + (["--dry-run"] if a.dry_run else []), left(0.1), env)  # fmt: skip
    res["numerics"] = (json_lines(text) or [{"error": text[-500:]}])[0]

    rc, text = stage(out, "tests", [py, "-m", "pytest", "-o", "addopts=", "-q", "-x",
                     "-p", "no:cacheprovider", *cfg["tests"]], left(0.25), env)  # fmt: skip
    res["tests"] = {"rc": rc, "summary": (text.strip().splitlines() or [""])[-1]}

    rc, text = stage(out, "sampler", [
        py, str(HERE / "sampler_throughput.py"), "--nets", cfg["nets"], "--sizes", cfg["sizes"],
        "--batches", cfg["batches"], "--steps", str(cfg["steps"]), "--repeats",
        str(cfg["repeats"]), "--rounds", "1", "--impls", cfg["impls"], "--dtypes",
        cfg["dtypes"], "--peer", "none", "--json"], left(0.45), env)  # fmt: skip
    res["sampler"] = json_lines(text)

    peers = []
    torch_ok = subprocess.run([py, "-c", "import torch"], capture_output=True).returncode == 0
    if torch_ok:
        for net in cfg["nets"].split(","):
            for size in cfg["sizes"].split(","):
                for batch in cfg["batches"].split(","):
                    for extra in ([], ["--bf16"], ["--channels-last"]):
                        name = f"torch_{net}_{size}_{batch}{''.join(extra)}"
                        rc, text = stage(out, name, [
                            py, str(HERE / "torch_gpu_peer.py"), "--net", net, "--size", size,
                            "--batch", batch, "--steps", str(cfg["steps"]), "--repeats",
                            str(cfg["repeats"]), *extra], min(120, left(0.1)), env)  # fmt: skip
                        peers += json_lines(text)
    res["torch"] = peers if torch_ok else "torch not installed: peer not measured"

    res["presets"] = []
    for preset in cfg["presets"]:
        variant, name = preset.split(":")
        rc, text = stage(out, f"preset_{variant}_{name}", [
            py, str(HERE / "train_rate.py"), f"--config=configs/{variant}.py:{name}",
            f"--iters={cfg['iters']}", "--json"], left(0.5), env)  # fmt: skip
        for r in json_lines(text):
            r["s_per_epoch"] = round(r["s_per_iter"] * r["steps_per_epoch"], 1)
            if preset in PAPER_S_PER_EPOCH:
                lo, hi = PAPER_S_PER_EPOCH[preset]
                r["speedup_vs_titan_xp"] = [round(lo / r["s_per_epoch"], 1),
                                            round(hi / r["s_per_epoch"], 1)]  # fmt: skip
            res["presets"].append(r)
    res["seconds"] = round(time.time() - t0)
    (out / "gpu_check.json").write_text(json.dumps(res, indent=1))
    (out / "gpu_check.md").write_text(table(res))
    print(table(res))


def table(res: dict) -> str:
    dev = res["device"]
    lines = [f"# gpu_check on {dev.get('device', '?')} ({dev.get('backend', '?')}), "
             f"{res['seconds']} s", "", f"numerics: {res['numerics']}",
             f"tests: {res['tests']['summary']}", "",
             "| net | size | batch | ours | chain-steps/s | best torch | ratio |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    torch_rows = res["torch"] if isinstance(res["torch"], list) else []
    best = {}
    for r in res["sampler"]:
        key = (r["net"], r["size"], r["batch"])
        peer = [t["chain_steps_per_s"] for t in torch_rows
                if (t["net"], t["size"], t["batch"]) == key]  # fmt: skip
        top = max(peer) if peer else None
        ratio = f"{r['chain_steps_per_s'] / top:.2f}" if top else "n/a"
        lines.append(f"| {r['net']} | {r['size']} | {r['batch']} | {r['impl']} | "
                     f"{r['chain_steps_per_s']} | {top or 'n/a'} | {ratio} |")  # fmt: skip
        if r["chain_steps_per_s"] > best.get(key, ("", 0))[1]:
            best[key] = (r["impl"], r["chain_steps_per_s"])
    lines += ["", "fastest path: " + "; ".join(f"{k[0]} {k[1]}³ b{k[2]}: {v[0]}"
                                               for k, v in best.items()), ""]  # fmt: skip
    lines += ["| preset | s/iteration | s/epoch | vs Titan Xp (Table 6) |", "|---|---|---|---|"]
    for r in res["presets"]:
        lines.append(f"| {r['config']} | {r['s_per_iter']} | {r['s_per_epoch']} | "
                     f"{r.get('speedup_vs_titan_xp', 'n/a')} |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
