"""Cooperative learning (Algorithm 3, §6.4): the descriptor teaches a 3D generator by MCMC.

    python -m gvoxel.main --config=configs/cooperative.py:cpu --workdir=runs/coop_chair
    python -m gvoxel.generate --workdir=runs/coop_chair --num=16 --out=runs/coop_chair/gen

The generator works in [−1, 1] (tanh); the descriptor in the core model's domain
(occupancies minus data.mean); δ is in the descriptor's units, where the paper's δ = 0.3 on
[−1, 1] data is δ = 0.15 (see gvoxel/variants/cooperative.py).

Presets:
  paper  §6.4: descriptor 64@9³/2, 128@7³/2, 256@4³/2, fc; generator fc → 4³ kernels,
         up-sampling {1, 2, 2, 2}, channels 256, 128, 64, 1; batch 50, 50 chains, K = 20,
         Δτ = 0.09 (δ = 0.3); Adam lr 0.001 β1 0.4 (descriptor), 0.0003 β1 0.6 (generator).
  cpu    a 2-core CPU: descriptor 32@8³/4, 64@4³/2, fc (LeCun init), generator widths
         64, 32, 16 (init std 0.1, so g(Z) starts Z-dependent); 16 chains × K = 20, δ = 0.1,
         temperature 0.05 throughout, reference s = 2 (s = 0.5 contracts every revision
         towards the data mean and g regressed every Z onto it); Adam lr 0.0005 / 0.0006,
         β1 0.5; 200 iterations (~17 min at 0.19 it/s on the shared, loaded 2-core CPU,
         2026-11-29). NOT A WORKING PRESET YET: g(Z) shows a chair silhouette (seat + back,
         banded texture) around iterations 175–225, but nearly the same one for every Z
         (pairwise IoU 0.74 at 200, nearest training IoU 0.25); by 300 it had become a lumpy
         block (pairwise IoU 0.83). With --config.generator.optimizer=sgd
         --config.generator.lr=0.00001 (eq. 17 as written) g drew diverse seat-and-back
         chairs at 400 (pairwise IoU 0.44) but near-empty grids by 500. Longer runs, a stride-2
         descriptor and a trained teacher (--config.model.init_from=runs/chair) did not
         help either (README).
  smoke  seconds; for tests.
"""

from gvoxel.default_config import base_config

PRESETS = ("paper", "cpu", "smoke")


def get_config(preset: str = "cpu"):
    c = base_config("cooperative")
    c.sampler.step_size = 0.15  # δ = 0.3 (Δτ = 0.09) on [−1, 1] data
    c.sampler.steps = 20
    c.sampler.noise_off_iter = -1  # Langevin noise on throughout
    c.sampler.persistent = False  # chains start from g(Z) every iteration
    c.sampler.reference_std = 0.5
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
        c.model.net = "32@8/4,64@4/2"
        c.model.init_std = 0.0  # LeCun normal: f starts O(1)
        c.generator.channels = (64, 32, 16)
        c.generator.init_std = 0.1  # at 0.02 g(Z) barely depends on Z and g lost it at once
        c.sampler.step_size = 0.1
        c.sampler.temperature = 0.05  # at T = 1 revisions are noise that g averages to the mean
        c.sampler.reference_std = 2.0  # s = 0.5: 20 steps keep 40% of g(Z) − mean, g collapsed
        c.optim.lr = 0.0005
        c.optim.b1 = 0.5
        c.generator.lr = 0.0006
        c.generator.b1 = 0.5
        c.train.batch_size = 16
        c.sampler.num_chains = 16
        c.train.num_iters = 200  # one run: chair-like at 200, a block by 300
        c.train.log_every = 10
        c.train.sample_every = 25
        c.train.checkpoint_every = 50
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
        raise ValueError(f"unknown preset {preset!r}; choose {', '.join(PRESETS)}")
    return c
