"""Throughput against batch size, resolution and device count.

    python benchmarks/scaling.py [--net small] [--batches 8,16,32] [--sizes 32,64]
        [--devices 1,2,4] [--steps 10]

Rows: chain-steps/s of the jitted sampler and training iterations/s of one full train step
(K Langevin steps + the θ update) with the data-parallel shardings the training loop uses.
On a CPU the device column simulates devices (XLA_FLAGS=--xla_force_host_platform_device_count)
on the same cores: it checks that the sharded program runs, it is not a speed claim.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import _common


def measure(net, size, batch, steps, devices, repeats=2):
    import jax
    import numpy as np

    from gvoxel.experiment import sharding
    from gvoxel.experiment.config import base_config
    from gvoxel.experiment.run import Experiment
    from gvoxel.variants.base import DataInfo

    c = base_config("synthesis")
    c.model.net = net
    c.train.batch_size = batch
    c.sampler.num_chains = batch
    c.sampler.steps = steps
    exp = Experiment(c, DataInfo(size, 10 * batch, 10), num_devices=devices)
    state = exp.init_state(0, np.zeros((size,) * 3, np.float32))
    step = exp.jit_train_step()
    bs = sharding.data_sharded(exp.mesh)
    rng = np.random.default_rng(0)
    host = {
        "voxels": (rng.random((batch,) + (size,) * 3) > 0.8).astype(np.float32),
        "labels": np.zeros(batch, np.int32),
    }
    batch_arr = jax.tree.map(lambda a: sharding.put_global(a, bs), host)
    t0 = time.perf_counter()
    state, m = step(state, batch_arr)
    jax.block_until_ready(m)
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        state, m = step(state, batch_arr)
        jax.block_until_ready(m)
        times.append(time.perf_counter() - t0)
    t = min(times)
    return {
        "net": net,
        "size": size,
        "batch": batch,
        "devices": exp.mesh.size,
        "platform": jax.devices()[0].platform,
        "compile_s": round(compile_s, 1),
        "iters_per_s": round(1 / t, 3),
        "chain_steps_per_s": round(batch * steps / t, 1),
        "voxel_steps_per_s": round(batch * steps * size**3 / t, 0),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", default="small")
    p.add_argument("--batches", type=_common.int_list, default="8,16,32")
    p.add_argument("--sizes", type=_common.int_list, default="32,64")
    p.add_argument("--devices", type=_common.int_list, default="1,2,4")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: a single JSON row
    a = p.parse_args()
    if a.one:
        net, size, batch, devices = a.one.split(":")
        print(json.dumps(measure(net, int(size), int(batch), a.steps, int(devices))))
        return
    print(
        f"{'net':>10} {'size':>5} {'batch':>5} {'dev':>3} {'compile s':>9} {'iter/s':>8} "
        f"{'chain-steps/s':>13} {'voxel-steps/s':>14}"
    )
    for devices in a.devices:
        for size in a.sizes:
            for batch in a.batches:
                if batch % devices:
                    continue
                env = dict(os.environ)
                if "cuda" not in env.get("JAX_PLATFORMS", "") and devices > 1:
                    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--one",
                        f"{a.net}:{size}:{batch}:{devices}",
                        "--steps",
                        str(a.steps),
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                if out.returncode:
                    print(
                        f"# {size}^3 b{batch} d{devices} failed: "
                        f"{out.stderr.strip().splitlines()[-1:]}"
                    )
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"{r['net']:>10} {r['size']:>5} {r['batch']:>5} {r['devices']:>3} "
                    f"{r['compile_s']:>9} {r['iters_per_s']:>8} {r['chain_steps_per_s']:>13} "
                    f"{r['voxel_steps_per_s']:>14.3g}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
