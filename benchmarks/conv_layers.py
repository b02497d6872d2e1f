"""Per-layer and whole-net Langevin-step timings of gvoxel.core.conv.conv3d implementations.

    python benchmarks/conv_layers.py                    # all layers, all impls, nets, torch peer
    python benchmarks/conv_layers.py --layers paper1,paper2 --impls xla,fft --steps 5
    python benchmarks/conv_layers.py --json out.json --torch /path/to/python-with-torch

Everything is timed inside a `lax.scan` of K Langevin-like steps (forward + grad to the input,
no weight gradients), as the sampler runs it: a standalone jit of the same gradient can pick a
very different (much slower) layout on CPU. Numbers are ms per step for the whole batch; the
machine is shared and noisy, so compare ratios from one invocation only. The nets also run in
the PyTorch peer (--peer, --torch) when it can.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import _common
import jax
import jax.numpy as jnp

from gvoxel.core.conv import IMPLS, choose_impl, conv3d
from gvoxel.errors import ConfigError

# name: (input res, Cin, Cout, kernel, stride, batch)
LAYERS = {
    "paper1": (32, 1, 200, 16, 3, 25),
    "paper2": (11, 200, 100, 6, 2, 25),
    "coop1": (32, 1, 64, 9, 2, 50),
    "coop2": (16, 64, 128, 7, 2, 50),
    "coop3": (8, 128, 256, 4, 2, 50),
    "rec1": (32, 1, 100, 16, 3, 25),
    "small1": (32, 1, 32, 8, 2, 25),
    "small2": (16, 32, 64, 4, 2, 25),
    "mid1": (32, 1, 64, 16, 3, 25),
    "mid2": (11, 64, 64, 6, 2, 25),
    "big1": (64, 1, 200, 16, 3, 10),
    "big2": (22, 200, 100, 6, 2, 10),
    "mg8": (16, 1, 256, 8, 2, 25),
    "mg4": (4, 1, 128, 4, 1, 25),
    "mg64a": (64, 1, 256, 16, 3, 10),
    "mg64b": (22, 256, 128, 6, 2, 10),
    "coop64a": (64, 1, 64, 9, 2, 5),
    "coop64b": (32, 64, 128, 7, 2, 5),
    "coop64c": (16, 128, 256, 4, 2, 5),
}
# (filters, kernel, stride) per conv layer, then fc -> 1 (same nets as the torch peer)
NETS = {
    "paper": ([(200, 16, 3), (100, 6, 2)], 25),
    "coop": ([(64, 9, 2), (128, 7, 2), (256, 4, 2)], 50),
}
DELTA, SREF = 0.1, 0.5


def _timeit(fn, args, repeats):
    jax.block_until_ready(fn(*args))  # compile + warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _langevin(energy, y0, steps):
    """K Langevin steps Y <- Y - d^2/2 (Y/s^2 - dE/dY) + d eps inside one lax.scan."""
    grad = jax.grad(lambda y: jnp.sum(energy(y)))

    def step(y, key):
        g = grad(y)
        y = y - 0.5 * DELTA**2 * (y / SREF**2 - g) + DELTA * jax.random.normal(key, y.shape)
        return y, None

    keys = jax.random.split(jax.random.PRNGKey(1), steps)
    y, _ = jax.lax.scan(step, y0, keys)
    return y


def _forward_only(energy, y0, steps):
    def step(y, _):
        e = jnp.sum(energy(y))
        return y * (1.0 - 1e-6 * jnp.tanh(e)), None  # keep it data-dependent (no hoisting)

    y, _ = jax.lax.scan(step, y0, None, length=steps)
    return y


def bench_layer(name, impl, steps, repeats, batch=None):
    n, cin, cout, k, s, b = LAYERS[name]
    b = batch or b
    kx, kw, kg = jax.random.split(jax.random.PRNGKey(0), 3)
    y0 = jax.random.normal(kx, (b, n, n, n, cin)) * 0.5
    w = jax.random.normal(kw, (k, k, k, cin, cout)) / (k**3 * cin) ** 0.5
    o = -(-n // s)
    gout = jax.random.normal(kg, (1, o, o, o, cout))

    def energy(y, w, gout):
        return jnp.sum(jax.nn.relu(conv3d(y, w, s, impl)) * gout, axis=(1, 2, 3, 4))

    lg = jax.jit(lambda y, w, g: _langevin(lambda v: energy(v, w, g), y, steps))
    fw = jax.jit(lambda y, w, g: _forward_only(lambda v: energy(v, w, g), y, steps))
    t_step = _timeit(lg, (y0, w, gout), repeats) / steps * 1e3
    t_fwd = _timeit(fw, (y0, w, gout), repeats) / steps * 1e3
    return dict(layer=name, impl=impl, batch=b, step_ms=round(t_step, 2), fwd_ms=round(t_fwd, 2))


def net_energy(params, y, convs, impl):
    for (w, bias), (_, _, s) in zip(params["convs"], convs):
        y = jax.nn.relu(conv3d(y, w, s, impl) + bias)
    return y.reshape(y.shape[0], -1) @ params["fc"]


def bench_net(net, impl, steps, repeats, size=32, batch=None):
    convs, b = NETS[net]
    b = batch or b
    key = jax.random.PRNGKey(0)
    params, cin, n = {"convs": []}, 1, size
    for cout, k, s in convs:
        key, sub = jax.random.split(key)
        w = jax.random.normal(sub, (k, k, k, cin, cout)) / (k**3 * cin) ** 0.5
        params["convs"].append((w, jnp.zeros((cout,))))
        cin, n = cout, -(-n // s)
    params["fc"] = jax.random.normal(key, (cin * n**3,)) * 1e-3
    y0 = jnp.zeros((b, size, size, size, 1))
    fn = jax.jit(lambda p, y: _langevin(lambda v: net_energy(p, v, convs, impl), y, steps))
    t = _timeit(fn, (params, y0), repeats)
    return dict(
        net=net,
        impl=impl,
        batch=b,
        step_ms=round(t / steps * 1e3, 1),
        chain_steps_per_s=round(b * steps / t, 2),
    )


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--layers", type=_common.name_list(LAYERS), default=",".join(LAYERS))
    impls = IMPLS + ("auto",)
    p.add_argument("--impls", type=_common.name_list(impls), default=",".join(impls))
    p.add_argument("--nets", type=_common.name_list(NETS), default=",".join(NETS))
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--net-steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=None, help="override every batch size")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    _common.add_peer_flags(p)
    p.add_argument("--json", default=None, help="also write the results here")
    a = p.parse_args()
    impls = a.impls
    peer = None if a.no_torch else _common.Peer(a)
    res = {"backend": jax.default_backend(), "layers": [], "nets": [], "torch": []}

    print(
        f"backend {jax.default_backend()}, ms per Langevin step (fwd + grad to input) "
        f"in a scan of {a.steps}; fwd = forward alone"
    )
    print(
        f"{'layer':8} {'shape (n,Cin->Cout,k/s) batch':32} {'impl':5} {'auto':5} "
        f"{'step ms':>9} {'fwd ms':>9} {'x xla':>7}"
    )
    for name in a.layers:
        n, cin, cout, k, s, b = LAYERS[name]
        auto = choose_impl(n, cin, cout, k, s, jax.default_backend())
        ref = None
        for impl in impls:
            try:
                r = bench_layer(name, impl, a.steps, a.repeats, a.batch)
            except ConfigError as e:  # "dft" on a big grid
                print(f"{name:8} {impl:5} skipped: {e}")
                continue
            r["auto_choice"] = auto
            res["layers"].append(r)
            ref = r["step_ms"] if impl == "xla" else ref
            ratio = f"{ref / r['step_ms']:.2f}" if ref else "-"
            desc = f"({n},{cin}->{cout},{k}/{s}) b{r['batch']}"
            print(
                f"{name:8} {desc:32} {impl:5} {auto:5} {r['step_ms']:9.1f} "
                f"{r['fwd_ms']:9.1f} {ratio:>7}",
                flush=True,
            )

    for net in a.nets:
        b = a.batch or NETS[net][1]
        peer_args = dict(net=net, batch=b, steps=a.net_steps, repeats=a.repeats)
        tr = peer.run(timeout=900, **peer_args) if peer else None
        if tr:
            res["torch"].append(tr)
            print(
                f"net {net:6} torch  batch {b}: {tr['chain_steps_per_s']:8.2f} chain-steps/s",
                flush=True,
            )
        elif not a.no_torch:
            print(f"net {net:6} torch peer skipped ({peer.problem or 'it failed'})")
        ref = None
        for impl in impls:
            r = bench_net(net, impl, a.net_steps, a.repeats, batch=b)
            res["nets"].append(r)
            ref = r["chain_steps_per_s"] if impl == "xla" else ref
            vs = [f"{r['chain_steps_per_s'] / ref:.2f}x xla" if ref else ""]
            if tr:
                vs.append(f"{r['chain_steps_per_s'] / tr['chain_steps_per_s']:.2f}x torch")
            print(
                f"net {net:6} {impl:6} batch {b}: {r['chain_steps_per_s']:8.2f} chain-steps/s "
                f"({r['step_ms']:.0f} ms/step)  {', '.join(vs)}",
                flush=True,
            )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
