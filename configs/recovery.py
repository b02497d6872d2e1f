"""3D object recovery (Algorithm 4, §6.2) on the bundled ModelNet10 chairs.

    python -m gvoxel.main --config=configs/recovery.py:cpu --workdir=runs/recovery
    python -m gvoxel recover --workdir=runs/recovery --input=shapes.npz --corrupt=0.7 --out=rec

Each iteration hides rho = 70% of every training shape's voxels, starts the chain from the
corrupted shape (missing voxels = the visible mean), runs K Langevin steps with the visible
voxels fixed and takes one mode-shifting step on θ. data.mean = 'none': chains stay in
occupancy units.

Presets:
  paper   §6.2: 3-layer net (200@16³/3, 100@6³/2, fc; 'paper2' the 2-layer 100@16³/3, fc),
          batch 50, K = 90, Δτ = 0.0049 (δ = 0.07), 1,000 iterations.
  cpu     a 2-core CPU: one layer 32@4³/2 + fc (LeCun init), batch 8, K = 20 noise-free
          steps of δ = 0.25, lr 0.005, 400 iterations (~9 min on one core). Noise-free,
          because Langevin noise in training taught θ to remove noise rather than fill in
          shapes (see gvoxel/variants/conditional.py; scores in docs/experiments.md). The
          one-layer net's energy depends on the stride's phase, so each result is the mean
          of two noise-free chains, on the input and its left-right mirror
          (sampler.view_mirror), that move on f̄, f averaged over the state's 8 one-voxel
          rolls (sampler.energy_shifts); hidden voxels are on above 0.6
          (recovery.threshold, the threshold 160 training chairs pick).
  smoke   seconds; for tests.
"""

from gvoxel.experiment.config import base_config

PRESETS = ("paper", "paper2", "cpu", "smoke")


def get_config(preset: str = "cpu"):
    c = base_config("recovery")
    c.data.path = "bundled:chair32"
    if preset in ("paper", "paper2"):
        c.model.net = "recovery3" if preset == "paper" else "recovery2"
        c.train.batch_size = 50
        c.sampler.steps = 90
        c.sampler.step_size = 0.07
        c.train.num_iters = 1000
    elif preset == "cpu":
        c.model.net = "32@4/2"
        c.model.init_std = 0.0  # LeCun normal: f starts O(1), learns in hundreds of steps
        c.optim.lr = 0.005
        c.train.batch_size = 8
        c.sampler.steps = 20
        c.sampler.step_size = 0.25
        # Binary error: one chain 0.0194; 8 shifts × mirror 0.0153; these 0.0146.
        c.sampler.energy_shifts = True
        c.sampler.view_mirror = 0  # the chairs' left-right mirror
        c.recovery.threshold = 0.6
        c.train.num_iters = 400
        c.train.sample_every = 100
        c.train.checkpoint_every = 100
    elif preset == "smoke":
        c.model.net = "tiny"
        c.data.resolution = 16
        c.data.max_examples = 16
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
