"""Throughput of the jitted Langevin sampler per net preset, side by side with PyTorch.

    python benchmarks/sampler_throughput.py [--nets synthesis,cooperative] [--sizes 32,64]
        [--batches 25,50] [--steps 20] [--repeats 3] [--rounds 2] [--torch /path/to/python]
        [--peer /path/to/torch_langevin.py] [--devices 1,2]

Per (net, resolution, batch): compile time, chain-steps/s, voxel-steps/s, achieved GFLOP/s
from the analytic direct-convolution FLOP count ("effective" when the convolution does fewer
FLOPs), that as a fraction of the machine's fp32 matmul rate measured in the same run, and
our throughput ÷ PyTorch's (the peer, --peer and --torch) measured in the same run:
--rounds alternate the peer and ours (compiled once), and the ratio is the median of the
rounds' ratios, so the host's drift between runs does not enter it. --devices 1,2 also times
our sampler with its chains split over 2 CPU devices (one per core; the peer always runs one
process on all allowed cores), every row against the same peer measurement.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import time

import _common
import jax
import jax.numpy as jnp

from gvoxel.core import energy, langevin, nets
from gvoxel.experiment import sharding

TORCH_NETS = {"synthesis": "paper", "cooperative": "coop"}  # the peer's names


def same_out(n, s):
    return -(-n // s)


def flops_per_chain_step(layers, size):
    """Dense multiply-adds of forward + backward-to-input, ×2 FLOP/MAC (as peers/flops.py)."""
    macs, n, cin = 0, size, 1
    for cout, k, s, *pool in layers:
        o = same_out(n, s)
        macs += o**3 * k**3 * cin * cout
        n, cin = o // (pool[0] if pool else 1), cout
    macs += cin * n**3
    return 4.0 * macs


def matmul_gflops(n=2048, repeats=5):
    a = jnp.ones((n, n), jnp.float32)
    mm = jax.jit(lambda x, y: x @ y)
    mm(a, a).block_until_ready()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        mm(a, a).block_until_ready()
        ts.append(time.perf_counter() - t0)
    return 2.0 * n**3 / min(ts) / 1e9


def gvoxel_sampler(net_name, size, batch, steps, conv_impl="auto", devices=1, dtype="float32"):
    """Compiles our sampler once; returns (time_runs(repeats, seed) -> seconds each, compile_s).
    With devices > 1 the chains are split over that many devices (run under their mesh)."""
    layers = nets.resolve_layers(net_name)
    net = nets.Descriptor(layers=layers, conv_impl=conv_impl, dtype=jnp.dtype(dtype))
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, size, size, size)))["params"]
    fn = lambda p, y: net.apply({"params": p}, y)  # noqa: E731

    @jax.jit
    def run(params, key, y0):
        eg = functools.partial(energy.energy_and_grad, fn, params)
        # K gradient evaluations like the peer's loop: the last position's is not needed
        state, _ = langevin.sample(key, langevin.init(y0, eg), eg, steps, 0.1, final_grad=False)
        return state.position

    mesh = sharding.make_mesh(devices)
    sharding.check_divisible("batch", batch, mesh)
    y0 = jax.device_put(jnp.zeros((batch, size, size, size)), sharding.data_sharded(mesh))
    params = jax.device_put(params, sharding.replicated(mesh))
    run = sharding.under_mesh(mesh, run)

    def time_runs(repeats, seed):
        times = []
        for r in range(repeats):
            t0 = time.perf_counter()
            run(params, jax.random.PRNGKey(seed + r), y0).block_until_ready()
            times.append(time.perf_counter() - t0)
        return times

    first = time_runs(1, 0)[0]
    return time_runs, first


def row(net_name, size, batch, steps, conv_impl, med, compile_s, devices=1, dtype="float32"):
    cs = batch * steps / med
    return {
        "impl": f"gvoxel[{conv_impl}{',bf16' if dtype == 'bfloat16' else ''}]"
        + (f"x{devices}dev" if devices > 1 else ""),
        "net": net_name,
        "size": size,
        "batch": batch,
        "steps": steps,
        "compile_s": round(compile_s, 2),
        "median_s": round(med, 3),
        "chain_steps_per_s": round(cs, 2),
        "voxel_steps_per_s": round(cs * size**3, 0),
        "gflops": round(flops_per_chain_step(nets.resolve_layers(net_name), size) * cs / 1e9, 1),
    }


def bench_torch(peer, net_name, size, batch, steps, repeats):
    if net_name not in TORCH_NETS:
        return None
    # --threads: the cores this process may use (taskset), not the whole machine's
    threads = len(os.sched_getaffinity(0))
    flags = dict(net=TORCH_NETS[net_name], batch=batch, steps=steps, size=size, threads=threads)
    return peer.run(timeout=3600, repeats=repeats, **flags)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nets", default="synthesis,cooperative")
    p.add_argument("--sizes", type=_common.int_list, default="32")
    p.add_argument("--batches", type=_common.int_list, default="25")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2, help="alternating peer/ours rounds")
    p.add_argument("--impls", default="auto", help="conv impls to time, e.g. auto,xla")
    p.add_argument("--dtypes", default="float32", help="compute dtypes, e.g. float32,bfloat16")
    _common.add_peer_flags(p)
    p.add_argument(
        "--devices", type=_common.int_list, default="1", help="CPU devices to split chains over"
    )
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    devices = a.devices
    torch_peer = _common.Peer(a)
    if max(devices) > 1:  # only counts on a CPU host; before anything initialises a backend
        jax.config.update("jax_num_cpu_devices", max(devices))

    peak = matmul_gflops()
    rows = []
    for net_name in a.nets.split(","):
        for size in a.sizes:
            for batch in a.batches:
                variants = [
                    (i, d, t) for i in a.impls.split(",") for d in devices
                    for t in a.dtypes.split(",")
                    if t == "float32" or i in ("auto", "xla")  # FFTs are float32-only
                ]  # fmt: skip
                samplers = [
                    gvoxel_sampler(net_name, size, batch, a.steps, i, d, t)
                    for i, d, t in variants
                ]
                ours = [[] for _ in variants]
                peers, ratios = [], [[] for _ in variants]
                # rounds alternate peer and ours, so the host's drift cancels in each
                # round's ratio; the reported ratio is the median over rounds
                for k in range(a.rounds):
                    peer = bench_torch(torch_peer, net_name, size, batch, a.steps, a.repeats)
                    if peer:
                        peers.append(peer["chain_steps_per_s"])
                    for j, (time_runs, _) in enumerate(samplers):
                        ours[j].append(statistics.median(time_runs(a.repeats, 1 + k * a.repeats)))
                        if peer:
                            ratios[j].append(batch * a.steps / ours[j][-1] / peers[-1])
                for j, (impl, d, t) in enumerate(variants):
                    med = statistics.median(ours[j])
                    r = row(
                        net_name, size, batch, a.steps, impl, med, samplers[j][1] - med, d, t
                    )
                    r["frac_of_matmul_peak"] = round(r["gflops"] / peak, 3)
                    if ratios[j]:
                        r["torch_chain_steps_per_s"] = round(statistics.median(peers), 2)
                        r["ratio_vs_torch"] = round(statistics.median(ratios[j]), 3)
                        r["ratio_per_round"] = [round(x, 3) for x in ratios[j]]
                    rows.append(r)
                    print(json.dumps(r) if a.json else fmt(r), flush=True)
    if not a.json:
        print(
            f"# jax {jax.__version__} on {jax.devices()[0].platform}, "
            f"fp32 matmul {peak:.0f} GFLOP/s measured in this run; "
            f"torch peer: {torch_peer}"
        )


def fmt(r):
    ratio = "torch n/a"
    if "ratio_vs_torch" in r:
        each = "/".join(f"{x:.2f}" for x in r["ratio_per_round"])
        ratio = f"{r['ratio_vs_torch']:.2f}x torch (rounds {each})"
    return (
        f"{r['impl']:>14} {r['net']:>12} {r['size']:>3}^3 b{r['batch']:<3} "
        f"compile {r['compile_s']:6.1f}s  {r['chain_steps_per_s']:7.2f} chain-steps/s  "
        f"{r['gflops']:7.1f} GFLOP/s ({r['frac_of_matmul_peak']:.0%} of matmul)  {ratio}"
    )


if __name__ == "__main__":
    main()
