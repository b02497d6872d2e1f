"""3D object super-resolution (Algorithm 5, §6.3) on the bundled ModelNet10 beds.

    python -m gvoxel.main --config=configs/superres.py:cpu --workdir=runs/superres
    python -m gvoxel superres --workdir=runs/superres --input=low16.npz --out=sr

Each iteration down-scales every training shape by block averages (C, factor d), starts the
chain from C⁻CY (superres.start = 'block', Algorithm 5) or from trilinear up-sampling
corrected to the same block averages ('trilinear'), and runs K Langevin steps projected onto
the null space of C (the low-resolution version never changes), then one mode-shifting step
on θ. data.mean = 'none'.

Presets:
  paper   §6.3, 16³ → 64³: 2-layer net 200@16³/3 + fc, K = 90, Δτ = 0.0001 (δ = 0.01), factor 4.
  cpu     beds at 32³, 8³ → 32³ (factor 4) for a 2-core CPU: 16@6³/3, 16@4³/2, fc (LeCun
          init), trilinear start, K = 20 noise-free steps of δ = 0.1, lr 0.002, batch 8,
          400 iterations (~6 min on one core), every layer's largest singular value capped at
          8 (unbounded, f ran off three times in 4× the iterations; capped, never). δ = 0.1
          because larger steps diverged, 32³ because 64³ at a CPU budget lost to trilinear
          (docs/experiments.md). Results are the mean of 8 chains on the input shifted by
          one low-resolution cell along each axis (sampler.view_shifts): with it the binary
          error at 4× the iterations is below the 1× error; with one chain it was above.
  smoke   seconds; for tests (32³ → 16³ data, factor 2).
"""

from gvoxel.experiment.config import base_config

PRESETS = ("paper", "cpu", "smoke")


def get_config(preset: str = "cpu"):
    c = base_config("superres")
    c.data.path = "bundled:bed64"
    c.superres.factor = 4
    if preset == "paper":
        c.model.net = "200@16/3"
        c.train.batch_size = 20
        c.sampler.steps = 90
        c.sampler.step_size = 0.01
        c.train.num_iters = 1000
    elif preset == "cpu":
        c.data.resolution = 32  # 8³ → 32³: 64³ is 8x the voxels per Langevin step
        c.model.net = "16@6/3,16@4/2"
        c.model.init_std = 0.0  # LeCun normal: f starts O(1)
        c.model.spectral_norm = 8.0  # unbounded, f ran off at 657, 948, 1,345 of 1,600
        c.superres.start = "trilinear"
        c.optim.lr = 0.002
        c.train.batch_size = 8
        c.sampler.steps = 20
        c.sampler.step_size = 0.1
        c.sampler.view_shifts = True  # 1,600 iterations: 0.0302 → 0.0284 thresholded
        c.train.num_iters = 400
        c.train.sample_every = 100
        c.train.checkpoint_every = 100
    elif preset == "smoke":
        c.model.net = "tiny"
        c.data.resolution = 16
        c.data.max_examples = 16
        c.superres.factor = 2
        c.train.batch_size = 4
        c.sampler.steps = 3
        c.train.num_iters = 4
        c.train.log_every = 1
        c.train.sample_every = 2
        c.train.checkpoint_every = 2
    else:
        raise ValueError(f"unknown preset {preset!r}; choose {', '.join(PRESETS)}")
    c.sampler.num_chains = c.train.batch_size  # one chain per training shape
    return c
