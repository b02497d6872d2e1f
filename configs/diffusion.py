"""Diffusion recovery likelihood (variant `diffusion`, beyond the paper) on the bundled chairs.

    python -m gvoxel.main --config=configs/diffusion.py:cpu --workdir=runs/drl_chair
    python -m gvoxel sample --workdir=runs/drl_chair --num=64 --out=runs/drl_chair/fresh

One descriptor f(y, t) over T = 6 noise levels, each level learned on the recovery of x_t
from x_{t+1} (short chains that start near data); fresh samples descend the levels from
noise, K steps each. At the cpu preset's size it does not yet draw shapes from noise: each
level's recovery plateaus at 60-80% of the noise left by doing nothing and the six levels
compound it (docs/experiments.md); the multi-grid chairs preset is the one that draws chairs.

Presets:
  cpu    32³ chairs, net 32@8³/2, 64@4³/2 with per-level gains, biases and heads, swish,
         T = 6, K = 30 per level, b² = 2·10⁻⁴ (the paper's), batch 16, Adam lr 0.0005,
         300 iterations (~24 min on 2 cores).
  smoke  seconds; for tests: 8³, tiny net, T = 3, K = 3.
"""

from gvoxel.experiment.config import base_config

PRESETS = ("cpu", "smoke")


def get_config(preset: str = "cpu"):
    c = base_config("diffusion")
    c.data.path = "bundled:chair32"
    c.model.init_std = 0.0  # LeCun normal
    c.model.activation = "swish"  # f's y-gradient is each step's move: keep it smooth
    c.train.log_every = 10
    if preset == "cpu":
        c.model.net = "32@8/2,64@4/2"
        c.train.batch_size = c.sampler.num_chains = 16
        c.optim.lr = 0.0005
        c.train.num_iters = 300
        c.train.sample_every = 50
        c.train.checkpoint_every = 50
    elif preset == "smoke":
        c.model.net = "4@4/2,4@3/2"
        c.data.resolution = 8
        c.data.max_examples = 16
        c.diffusion.levels = 3
        c.sampler.steps = 3
        c.train.batch_size = c.sampler.num_chains = 4
        c.train.num_iters = 4
        c.train.log_every = 1
        c.train.sample_every = 2
        c.train.checkpoint_every = 2
    else:
        raise ValueError(f"unknown preset {preset!r}; choose {', '.join(PRESETS)}")
    return c
