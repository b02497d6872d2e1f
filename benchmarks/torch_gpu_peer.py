"""The PyTorch peer on a GPU: the paper's nets with SAME padding and the same K-step Langevin
loop as ../shared/peers/torch_langevin.py (a CPU script), on CUDA, with cudnn autotuning.

    python benchmarks/torch_gpu_peer.py --net synthesis --size 32 --batch 25 [--bf16]
        [--channels-last] [--device cuda]

Prints one JSON line: chain-steps/s = batch·steps / median seconds of --repeats runs (after
one warm-up run), synchronised.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

NETS = {  # (filters, kernel, stride) per layer, as gvoxel.core.nets.NET_PRESETS
    "synthesis": ((200, 16, 3), (100, 6, 2)),
    "cooperative": ((64, 9, 2), (128, 7, 2), (256, 4, 2)),
    "tiny": ((8, 4, 2), (8, 3, 2)),
}


def same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class EnergyNet(nn.Module):
    def __init__(self, net, size):
        super().__init__()
        self.convs, cin, n = nn.ModuleList(), 1, size
        for cout, k, s in NETS[net]:
            self.convs.append(nn.Conv3d(cin, cout, k, stride=s))
            cin, n = cout, -(-n // s)
        self.fc = nn.Linear(cin * n**3, 1)

    def forward(self, y):
        for conv in self.convs:
            pads = []
            for dim, k, s in zip((4, 3, 2), conv.kernel_size[::-1], conv.stride[::-1]):
                pads.extend(same_pads(y.shape[dim], k, s))
            y = F.relu(conv(F.pad(y, pads)))
        return self.fc(y.flatten(1)).squeeze(1)


def langevin(net, y, steps, device, bf16, delta=0.1, s=0.5):
    for _ in range(steps):
        y = y.detach().requires_grad_(True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            f = net(y).float().sum()
        (grad,) = torch.autograd.grad(f, y)
        with torch.no_grad():
            y = y - 0.5 * delta**2 * (y / s**2 - grad) + delta * torch.randn_like(y)
    return y.detach()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", choices=sorted(NETS), default="synthesis")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--batch", type=int, default=25)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args()
    device = torch.device(a.device)
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    net = EnergyNet(a.net, a.size).to(device).eval()
    for prm in net.parameters():
        prm.requires_grad_(False)
    y0 = torch.zeros(a.batch, 1, a.size, a.size, a.size, device=device)
    if a.channels_last:
        net = net.to(memory_format=torch.channels_last_3d)
        y0 = y0.contiguous(memory_format=torch.channels_last_3d)

    def timed():
        t = time.perf_counter()
        y = langevin(net, y0, a.steps, device, a.bf16)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t, y

    warm, _ = timed()
    times = []
    for _ in range(a.repeats):
        t, y = timed()
        times.append(t)
    assert torch.isfinite(y).all()
    med = statistics.median(times)
    print(json.dumps(dict(
        impl="torch", net=a.net, size=a.size, batch=a.batch, steps=a.steps, bf16=a.bf16,
        channels_last=a.channels_last, device=str(device), warmup_s=round(warm, 3),
        median_s=round(med, 4), chain_steps_per_s=round(a.batch * a.steps / med, 2),
        torch=torch.__version__,
    )))  # fmt: skip


if __name__ == "__main__":
    main()
