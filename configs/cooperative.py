"""Cooperative learning (Algorithm 3, §6.4): the descriptor teaches a 3D generator by MCMC.

    python -m gvoxel.main --config=configs/cooperative.py:cpu --workdir=runs/coop_chair
    python -m gvoxel.generate --workdir=runs/coop_chair --num=16 --out=runs/coop_chair/gen

Data are rescaled to [−1, 1] inside the step, so data.mean is 'none' (any value works).

Presets:
  paper  §6.4: descriptor 64@9³/2, 128@7³/2, 256@4³/2, fc; generator fc → 4³ kernels,
         up-sampling {1, 2, 2, 2}, channels 256, 128, 64, 1; batch 50, 50 chains, K = 20,
         Δτ = 0.09 (δ = 0.3); Adam lr 0.001 β1 0.4 (descriptor), 0.0003 β1 0.6 (generator).
  cpu    a stride-3 descriptor and a narrow generator for a 2-core CPU (about 15 minutes).
  smoke  seconds; for tests.
"""

from gvoxel.default_config import base_config


def get_config(preset: str = "cpu"):
    c = base_config("cooperative")
    c.data.mean = "none"
    c.sampler.step_size = 0.3  # δ; Δτ = δ² = 0.09
    c.sampler.steps = 20
    c.sampler.noise_off_iter = -1  # Langevin noise on throughout
    c.sampler.persistent = False  # chains start from g(Z) every iteration
    c.sampler.reference_std = 1.0
    c.optim.lr = 0.001
    c.optim.b1 = 0.4
    c.generator.lr = 0.0003
    c.generator.b1 = 0.6
    if preset == "paper":
        c.model.net = "cooperative"
        c.train.batch_size = 50
        c.sampler.num_chains = 50
        c.train.num_iters = 3000
    elif preset == "cpu":
        c.model.net = "32@9/3,64@4/2"
        c.generator.channels = (64, 32, 16)
        c.train.batch_size = 16
        c.sampler.num_chains = 16
        c.train.num_iters = 600
        c.train.log_every = 10
        c.train.sample_every = 100
        c.train.checkpoint_every = 100
    elif preset == "smoke":
        c.model.net = "tiny"
        c.data.resolution = 16
        c.data.max_examples = 16
        c.generator.latent_dim = 8
        c.generator.channels = (8, 8, 4)
        c.train.batch_size = 4
        c.sampler.num_chains = 4
        c.sampler.steps = 3
        c.train.num_iters = 4
        c.train.log_every = 1
        c.train.sample_every = 2
        c.train.checkpoint_every = 2
    else:
        raise ValueError(f"unknown preset {preset!r}; choose paper, cpu or smoke")
    return c
