"""Reference voxel classifier for the sample-quality metrics (gvoxel.metrics, gvoxel evaluate).

    python -m gvoxel.main --config=configs/reference_classifier.py:cpu --workdir=runs/refclf

Presets:
  cpu        the shipped weights (gvoxel/assets/reference_classifier): the bundled chair,
             monitor and bed (bed resampled 64³ -> 32³), 10% held out (data.seed 0).
  modelnet10 the same net, wider, on a ModelNet10 archive made by gvoxel voxelize; set
             --config.data.path=... and --config.classifier.categories=... (its 10 names).
  smoke      seconds; for tests.
"""

from gvoxel.experiment.config import base_config

PRESETS = ("cpu", "modelnet10", "smoke")


def get_config(preset: str = "cpu"):
    c = base_config("classifier")
    c.data.path = "bundled:chair32+monitor32+bed64"
    c.data.resolution = 32
    c.data.mean = "none"  # the classifier sees occupancies, not mean-removed grids
    c.optim.b1 = 0.9
    c.sampler.num_chains = 1  # unused; keeps the loop's divisibility check trivial
    c.output.formats = ()
    if preset == "cpu":
        c.train.batch_size = 32
        c.train.num_iters = 600  # about 13 epochs of 1501 shapes
        c.train.log_every = 20
        c.train.sample_every = 10**9
        c.train.checkpoint_every = 200
        c.train.keep_checkpoints = 1
    elif preset == "modelnet10":
        c.classifier.width = 32
        c.classifier.hidden = 128
        c.train.batch_size = 32
        c.train.num_iters = 6000
        c.train.log_every = 50
        c.train.sample_every = 10**9
        c.train.checkpoint_every = 500
        c.train.keep_checkpoints = 1
    elif preset == "smoke":
        c.data.resolution = 8  # the net's smallest grid: fast to compile and run
        c.classifier.width = 4
        c.classifier.hidden = 8
        c.train.batch_size = 8
        c.train.num_iters = 4
        c.train.log_every = 1
        c.train.sample_every = 2
        c.train.checkpoint_every = 2
    else:
        raise ValueError(f"unknown preset {preset!r}; choose {', '.join(PRESETS)}")
    return c
