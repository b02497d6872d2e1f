"""Multi-grid modelling and sampling (Algorithm 2, §6.6) on the bundled ModelNet10 beds (64³).

    python -m gvoxel.main --config=configs/multigrid.py:cpu --workdir=runs/mg_bed
    python -m gvoxel sample --workdir=runs/mg_bed --num=16 --out=runs/mg_bed/fresh
    python -m gvoxel.main --config=configs/multigrid.py:single_grid --workdir=runs/sg_bed
    python benchmarks/multigrid.py --seconds=600

Grid 0 (1³) is a histogram of the shapes' occupied fractions; every finer grid has its own
descriptor, trained together in one step: each shape starts from its own 1³ value, is
up-scaled (block replication) and revised by K Langevin steps grid after grid. Chains restart
every iteration, so Langevin noise stays on throughout (without it every chain from the same
1³ value would end as the same shape). Sampling writes every grid's montage.

Presets:
  paper        §6.6: grids 1 → 4 → 16 → 32 → 64; nets 4³: 128@4³/1; 16³: 256@8³/2; 32³ and
               64³: 256@16³/3, 128@6³/2; each + fc. K = 20, Δτ = 0.01 (δ = 0.1) on every
               grid, batch 40, Adam lr 0.001.
  paper128     the same grids → 128 (net 256@16³/4, 128@8³/2) for a GPU. The bundled beds are
               64³, so this up-samples them (block copies; for timing): for real 128³ shapes
               voxelize ModelNet at 128 and set --config.data.path.
  cpu          64³ beds, grids 1 → 4 → 16 → 32 → 64 with narrow nets for a 2-core CPU,
               Langevin temperature 0.1 (at T = 1 both this and single_grid_cpu kept
               drawing noise-filled cubes), Adam lr 0.0003 (at 0.001 it degenerated),
               every layer's largest singular value capped at 8 (unbounded, the 64³
               grid's f ran off by ~800; capped, it ran 4× without a rollback and scored
               nearer the real beds at 4× than at 1×), 600 iterations (~45 min on one
               core). Bed slabs, no headboards. Results in docs/experiments.md.
  cpu_chairs   the bundled chairs at 32³, grids 1 → 4 → 16 → 32, nets 32@4³/1; 32@8³/2;
               32@8³/2, 64@4³/2, batch 16, Y blurred by [1, 2, 1] before each net (fewer
               loose pieces from scratch: docs/experiments.md), every layer's largest
               singular value capped at 8 (unbounded, the 32³ grid's f ran off at ~850;
               capped, it ran 4× without a rollback), 300 iterations (~16 min on 2 cores);
               fresh draws refined by bundled:chair_recovery (binary shapes, uncertain
               voxels and the gaps between pieces redrawn); the shipped
               bundled:chair_multigrid and the README's main job.
    python -m gvoxel.main --config=configs/multigrid.py:cpu_chairs --workdir=runs/mg_chair
  single_grid  the §6.6 baseline at the same final resolution: the plain `synthesis`
               variant at 64³, 5 layers 128@16³/4, 128@8³/2, 256@4³/2, 512@4³/2, fc;
               Δτ = 0.0025 (δ = 0.05), batch 40.
  single_grid_cpu  that baseline with narrow nets, sized like `cpu` (benchmarks/multigrid.py).
  smoke        seconds; for tests: grids 1 → 4 → 8 on 8³ beds, tiny nets.
"""

from gvoxel.experiment.config import base_config
from gvoxel.variants.multigrid import PAPER_NETS

PRESETS = ("paper", "paper128", "cpu", "cpu_chairs", "single_grid", "single_grid_cpu", "smoke")


def _common(c, batch):
    c.data.path = "bundled:bed64"
    c.train.batch_size = batch
    c.sampler.num_chains = batch  # multigrid: one chain per training example
    c.sampler.steps = 20  # K on every grid
    c.sampler.step_size = 0.1  # δ; Δτ = δ² = 0.01
    c.optim.lr = 0.001
    return c


def get_config(preset: str = "cpu"):
    if preset.startswith("single_grid"):
        return single_grid(preset)
    c = _common(base_config("multigrid"), 40)
    c.sampler.noise_off_iter = -1  # chains restart every iteration: noise is the diversity
    c.sampler.persistent = False
    if preset in ("paper", "paper128"):
        grids = (1, 4, 16, 32, 64) + ((128,) if preset == "paper128" else ())
        c.multigrid.grids = grids
        c.multigrid.nets = tuple(PAPER_NETS[r] for r in grids[1:])
        c.data.resolution = grids[-1]
        c.train.num_iters = 2000
        c.train.sample_every = 200
        c.train.checkpoint_every = 200
    elif preset in ("cpu", "cpu_chairs"):
        c.model.init_std = 0.0  # LeCun normal: f starts O(1), so Adam can't blow it up
        c.sampler.temperature = 0.1  # at T = 1 every grid's shapes stayed noise-filled cubes
        c.optim.lr = 0.0003  # at 0.001 (the paper's) degenerate period-4 slab cubes
        c.sampler.polish_steps = 30  # written samples only; they score better polished
        c.train.log_every = 10
        c.train.sample_every = 50
        c.train.checkpoint_every = 50
        if preset == "cpu":
            c.multigrid.grids = (1, 4, 16, 32, 64)
            c.multigrid.nets = ("32@4/1", "32@8/2", "16@8/4,32@4/2", "16@8/4,32@4/2")
            c.train.batch_size = c.sampler.num_chains = 8  # 64³ Langevin is most of the time
            c.model.spectral_norm = 8.0  # unbounded, the 64³ grid's f ran off by ~800
            c.train.num_iters = 600
        else:
            c.data.path = "bundled:chair32"
            c.data.resolution = 32
            c.multigrid.grids = (1, 4, 16, 32)
            c.multigrid.nets = ("32@4/1", "32@8/2", "32@8/2,64@4/2")
            c.model.input_blur = 1  # fewer loose pieces drawn from scratch
            c.model.spectral_norm = 8.0  # unbounded, the 32³ grid's f ran off by ~850
            c.train.batch_size = c.sampler.num_chains = 16
            c.train.num_iters = 300
            # fresh draws refined by the shipped 32³ chair recovery net: 11 pieces, 14.4%
            # outside the largest → 3, 4.1% (docs)
            c.refine.model = "bundled:chair_recovery"
    elif preset == "smoke":
        c.multigrid.grids = (1, 4, 8)
        c.multigrid.nets = ("4@2/1", "4@4/2")
        c.data.resolution = 8
        c.data.max_examples = 16
        c.train.batch_size = c.sampler.num_chains = 4
        c.sampler.steps = 3
        c.train.num_iters = 4
        c.train.log_every = 1
        c.train.sample_every = 2
        c.train.checkpoint_every = 2
    else:
        raise ValueError(f"unknown preset {preset!r}; choose {', '.join(PRESETS)}")
    return c


def single_grid(preset):
    """The single-grid baseline: Algorithm 1 (variant `synthesis`) at the final resolution."""
    c = _common(base_config("synthesis"), 40)
    c.sampler.step_size = 0.05  # Δτ = 0.0025
    if preset == "single_grid":
        c.model.net = "128@16/4,128@8/2,256@4/2,512@4/2"
        c.train.num_iters = 2000
        c.train.sample_every = 200
        c.train.checkpoint_every = 200
    elif preset == "single_grid_cpu":
        c.model.net = "16@8/4,32@4/2"  # the cpu preset's 64³ net
        c.model.init_std = 0.0
        c.sampler.temperature = 0.1  # as `cpu`
        c.model.spectral_norm = 8.0  # as `cpu`
        c.train.batch_size = c.sampler.num_chains = 8
        c.sampler.noise_off_iter = -1
        c.optim.lr = 0.0003  # as `cpu`: the comparison differs only in the grid ladder
        c.sampler.polish_steps = 30
        c.train.num_iters = 300
        c.train.log_every = 10
        c.train.sample_every = 50
        c.train.checkpoint_every = 50
    else:
        raise ValueError(f"unknown preset {preset!r}; choose {', '.join(PRESETS)}")
    return c
