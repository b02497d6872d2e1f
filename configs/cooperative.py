"""Cooperative learning (Algorithm 3, §6.4): the descriptor teaches a 3D generator by MCMC.

    python -m gvoxel.main --config=configs/cooperative.py:cpu --workdir=runs/coop_chair
    python -m gvoxel generate --workdir=runs/coop_chair --num=16 --out=runs/coop_chair/gen

The generator works in [−1, 1] (tanh); the descriptor in the core model's domain
(occupancies minus data.mean); δ is in the descriptor's units, where the paper's δ = 0.3 on
[−1, 1] data is δ = 0.15 (see gvoxel/variants/cooperative.py).

Presets:
  paper  §6.4: descriptor 64@9³/2, 128@7³/2, 256@4³/2, fc; generator fc → 4³ kernels,
         up-sampling {1, 2, 2, 2}, channels 256, 128, 64, 1; batch 50, 50 chains, K = 20,
         Δτ = 0.09 (δ = 0.3); Adam lr 0.001 β1 0.4 (descriptor), 0.0003 β1 0.6 (generator).
  cpu    a 2-core CPU, chairs at 16³ (block maximum of the 32³ grids, so legs survive):
         descriptor 32@4³/2, 64@3³/2, fc (LeCun init); generator widths 64, 32, 16 (init
         std 0.1); 16 chains × K = 20, δ = 0.1, temperature 0.005, reference s = 2; Adam
         β1 0.5, descriptor lr 0.002, generator lr 0.0002 (the descriptor must learn 10×
         faster, else g draws one shape for every Z); every descriptor layer's largest
         singular value capped at 8 (stable past 2× the iterations, better shapes);
         1,250 iterations, ~9 min on one core.
         g(Z) alone then draws rough, diverse chairs.
  cpu32  the `cpu` settings on the chairs at 32³: descriptor 32@8³/4, 64@4³/2, fc, the
         generator's base grid 4³ instead of 2³; g draws with a moving average of its
         weights (decay 0.995; training unchanged); 2,500 iterations (~40 min on 2 cores;
         run 4×: no rollback, 1-NNA better, more loose voxels, worse FID). Fresh draws are
         refined by bundled:chair_recovery (uncertain voxels and the gaps between pieces
         redrawn; binary shapes). Chairs with backs and four legs or a pedestal, most legs
         joined: the best fresh 32³ chairs so far (docs/results.md); shipped as
         bundled:chair_cooperative32. Unbounded at 32³ it drew thin seat-and-back silhouettes.
    python -m gvoxel.main --config=configs/cooperative.py:cpu32 --workdir=runs/coop_chair32
  smoke  seconds; for tests.
"""

from gvoxel.experiment.config import base_config

PRESETS = ("paper", "cpu", "cpu32", "smoke")


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
    elif preset in ("cpu", "cpu32"):
        c.data.resolution = 16
        c.data.downscale = "max"  # a block average drops the legs below 0.5 at 16³
        c.model.net = "32@4/2,64@3/2"
        c.model.init_std = 0.0  # LeCun normal: f starts O(1)
        c.model.spectral_norm = 8.0  # without a bound f ran off by ~1,400 iterations
        c.generator.channels = (64, 32, 16)
        c.generator.init_std = 0.1  # at 0.02 g(Z) barely depends on Z and g lost it at once
        c.sampler.step_size = 0.1
        c.sampler.temperature = 0.005  # near-deterministic revisions: g can learn Z → Ỹ
        c.sampler.reference_std = 2.0  # s = 0.5: 20 steps keep 40% of g(Z) − mean, g collapsed
        c.optim.lr = 0.002  # the descriptor must lead: at 0.0005 g collapsed to one shape
        c.optim.b1 = 0.5
        c.generator.lr = 0.0002
        c.generator.b1 = 0.5
        c.train.batch_size = 16
        c.sampler.num_chains = 16
        c.train.num_iters = 1250
        c.train.log_every = 10
        c.train.sample_every = 250
        c.train.checkpoint_every = 250
        if preset == "cpu32":
            c.data.resolution = 32
            c.model.net = "32@8/4,64@4/2"
            c.train.num_iters = 2500  # 1-NNA 85% → 76%, MMD 0.748 → 0.732 from 1,250
            c.generator.ema = 0.995  # outside the largest piece 8.9% → 4.6%, FID 8 (docs)
            # fresh draws refined by the shipped 32³ chair recovery net (stride 2: finer
            # detail than this descriptor): 9 pieces, 4.6% outside → 2, 1.4% (docs)
            c.refine.model = "bundled:chair_recovery"
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
