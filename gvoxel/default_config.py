"""Keys every config has; configs/*.py start from this and set their presets."""

import ml_collections

from gvoxel import variants
from gvoxel.metrics import evaluators


def base_config(variant: str = "synthesis") -> ml_collections.ConfigDict:
    """The keys shared by all variants plus those `variant` adds (its `extend_config`)."""
    c = ml_collections.ConfigDict()
    c.variant = variant
    c.seed = 0

    c.data = ml_collections.ConfigDict()
    c.data.path = "bundled:chair32"  # .npz/.npy/.binvox/.mat, or bundled:NAME
    c.data.category = ""  # filter an archive with several categories ("" = all)
    c.data.resolution = 0  # resample to this resolution (0 = as stored)
    c.data.downscale = "mean"  # to a coarser resolution: block "mean" (soft) or "max"
    c.data.val_fraction = 0.1  # held out with data.seed; training never sees it
    c.data.seed = 0
    c.data.max_examples = 0  # 0 = all training shapes
    c.data.mean = "voxel"  # subtracted before training, added back to samples

    c.model = ml_collections.ConfigDict()
    c.model.net = "synthesis"  # a preset of gvoxel.nets.NET_PRESETS or ((filters, k, stride), ...)
    c.model.init_std = 0.001
    c.model.conv_impl = "auto"
    c.model.dtype = "float32"
    c.model.head = "fc"  # "fc" (the paper) or "sum" (translation-invariant sum of local terms)
    c.model.activation = "relu"  # the paper; "swish"/"softplus" give a smooth energy
    c.model.init_from = ""  # a trained run's workdir: start from its descriptor θ

    c.sampler = ml_collections.ConfigDict()
    c.sampler.num_chains = 25
    c.sampler.steps = 20  # K
    c.sampler.step_size = 0.1  # δ; the paper's Δτ = δ²
    c.sampler.temperature = 1.0
    c.sampler.noise_off_iter = 100  # Langevin noise off from this iteration on (-1: never)
    c.sampler.mala = False
    c.sampler.persistent = True  # False: chains re-initialised every iteration
    c.sampler.init_std = 1.0  # chains start from N(0, init_std²)
    c.sampler.reference_std = 0.5  # s
    c.sampler.polish_steps = 0  # noise-free steps on the written samples (chains untouched)

    c.optim = ml_collections.ConfigDict()
    c.optim.lr = 0.001
    c.optim.b1 = 0.5
    c.optim.b2 = 0.999
    c.optim.accumulate = 1  # k: one Adam step per k iterations' gradients; 0: one per epoch

    c.train = ml_collections.ConfigDict()
    c.train.batch_size = 20
    c.train.num_iters = 1000
    c.train.log_every = 10
    c.train.sample_every = 100
    c.train.checkpoint_every = 100
    c.train.keep_checkpoints = 3
    c.train.num_devices = 0  # 0 = all devices
    c.train.steps_per_dispatch = 1  # >1: a lax.scan over this many iterations per dispatch

    # Divergence guard: roll back to the last checkpoint and retry with step size and
    # learning rate times `backoff`, at most `max_retries` times.
    c.guard = ml_collections.ConfigDict()
    c.guard.max_retries = 3
    c.guard.backoff = 0.5
    c.guard.max_sample_rms = 20.0  # per-voxel RMS of a chain beyond which it has exploded

    c.output = ml_collections.ConfigDict()
    c.output.formats = ("obj",)  # mesh formats written with every sample montage
    evaluators.extend_config(c)  # evals.*: periodic sample-quality scores (off by default)
    return variants.extend_config(variant, c)
