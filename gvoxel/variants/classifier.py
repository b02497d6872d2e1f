"""Reference voxel classifier: a small supervised VoxNet-style 3D CNN, trained by the shared loop.

It stands in for the paper's Torch7 reference network in the sample-quality metrics
(gvoxel.metrics): softmax probabilities give the Inception score and class probability, the
penultimate layer gives the features for FID. Unlike the paper's multi-view network it sees
the voxel grid itself (no rendering), is trained here on the bundled categories, and ships
with pinned weights (gvoxel/assets/reference_classifier).
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax

from gvoxel.core import draws
from gvoxel.errors import ConfigError
from gvoxel.variants import base


def extend_config(c):
    c.classifier = ml_collections.ConfigDict()
    c.classifier.categories = "chair,monitor,bed"  # label i is the i-th name
    c.classifier.width = 8  # filters of the first conv; later ones 2x and 4x
    c.classifier.hidden = 64  # the feature layer (FID features)
    c.classifier.dropout = 0.3
    c.classifier.jitter = 2  # random translation by up to this many voxels (augmentation)


def space_to_depth(h, f: int):
    """(N, R, R, R, C) -> (N, R/f, R/f, R/f, f³C): each f³ block becomes channels."""
    n, r, _, _, c = h.shape
    h = h.reshape(n, r // f, f, r // f, f, r // f, f, c)
    return h.transpose(0, 1, 3, 5, 2, 4, 6, 7).reshape(n, r // f, r // f, r // f, f**3 * c)


KERNEL_INIT = draws.flat_init(nn.initializers.lecun_normal())  # flax's default, compiles fast


class VoxelCNN(nn.Module):
    """space-to-depth 2, conv w@3, pool 2, conv 2w@3, pool 2, conv 4w@3, fc hidden (the
    features), fc classes.

    Space-to-depth instead of a strided first conv: XLA's CPU backward pass of strided and
    single-channel 3D convs is very slow, and a 2-core CPU must train this in minutes.
    """

    num_classes: int
    width: int = 8
    hidden: int = 64
    dropout: float = 0.3

    @nn.compact
    def __call__(self, y, train: bool = False):
        if y.shape[-1] % 8:
            raise ValueError(f"resolution must be a multiple of 8, got {y.shape[-1]}")
        h = space_to_depth((2.0 * y - 1.0)[..., None], 2)  # occupancies [0, 1] -> [-1, 1]
        h = nn.relu(nn.Conv(self.width, (3, 3, 3), padding="SAME", kernel_init=KERNEL_INIT)(h))
        h = nn.max_pool(h, (2, 2, 2), strides=(2, 2, 2))
        h = nn.relu(nn.Conv(2 * self.width, (3, 3, 3), padding="SAME", kernel_init=KERNEL_INIT)(h))
        h = nn.max_pool(h, (2, 2, 2), strides=(2, 2, 2))
        h = nn.relu(nn.Conv(4 * self.width, (3, 3, 3), padding="SAME", kernel_init=KERNEL_INIT)(h))
        h = h.reshape(h.shape[0], -1)
        feats = nn.relu(nn.Dense(self.hidden)(h))
        h = nn.Dropout(self.dropout, deterministic=not train)(feats)
        return nn.Dense(self.num_classes)(h), feats


def parse_categories(text) -> tuple[str, ...]:
    names = tuple(s.strip() for s in str(text).split(",") if s.strip())
    if len(names) < 2 or len(set(names)) != len(names):
        raise ConfigError(
            f"classifier.categories must name 2 or more distinct categories, got {text!r}"
        )
    return names


def translate(rng, y, max_shift: int):
    """Each grid rolled by its own random shift in [-max_shift, max_shift] along every axis."""
    shifts = jax.random.randint(rng, (y.shape[0], 3), -max_shift, max_shift + 1)
    return jax.vmap(lambda g, s: jnp.roll(g, s, axis=(0, 1, 2)))(y, shifts)


@dataclasses.dataclass(frozen=True)
class Classifier:
    net: VoxelCNN
    categories: tuple[str, ...]
    jitter: int
    tx: optax.GradientTransformation
    info: base.DataInfo
    sharded_keys = ()

    @classmethod
    def from_config(cls, config, info: base.DataInfo) -> Classifier:
        c = config.classifier
        categories = parse_categories(c.categories)
        if not 0.0 <= float(c.dropout) < 1.0:
            raise ConfigError(f"classifier.dropout must be in [0, 1), got {c.dropout}")
        if int(c.width) < 1 or int(c.hidden) < 1 or int(c.jitter) < 0:
            raise ConfigError("classifier.width and .hidden must be >= 1, .jitter >= 0")
        net = VoxelCNN(len(categories), int(c.width), int(c.hidden), float(c.dropout))
        return cls(
            net, categories, int(c.jitter), base.optimizer(config.optim, info.steps_per_epoch), info
        )

    # -- pure functions -------------------------------------------------------------------

    def init(self, rng, data_mean):
        k_params, rng = jax.random.split(rng)
        r = self.info.resolution
        params = self.net.init(k_params, jnp.zeros((1, r, r, r)))["params"]
        return {
            "step": jnp.zeros((), jnp.int32),
            "params": params,
            "opt_state": self.tx.init(params),
            "rng": rng,
            "data_mean": jnp.asarray(data_mean, jnp.float32),
        }

    def predict(self, params, voxels):
        """(softmax probabilities (N, C), features (N, hidden)) of grids in [0, 1]."""
        logits, feats = self.net.apply({"params": params}, voxels)
        return jax.nn.softmax(logits), feats

    def train_step(self, state, batch):
        """batch: {"voxels": (B, R, R, R) occupancies (data.mean='none'), "labels": (B,)}."""
        rng, k_shift, k_drop = jax.random.split(state["rng"], 3)
        y = batch["voxels"] + state["data_mean"]
        if self.jitter:
            y = translate(k_shift, y, self.jitter)
        labels = batch["labels"]

        def loss_fn(params):
            logits, _ = self.net.apply({"params": params}, y, train=True, rngs={"dropout": k_drop})
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
            return loss, logits

        (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
        updates, opt_state = self.tx.update(grads, state["opt_state"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        # Labels past classifier.categories would train silently wrong; NaN stops the loop.
        outside = jnp.sum((labels < 0) | (labels >= len(self.categories)))
        metrics = {
            "loss": loss,
            "accuracy": jnp.mean(jnp.argmax(logits, -1) == labels),
            "grad_norm": optax.global_norm(grads),
            "labels_outside_categories": jnp.where(outside > 0, jnp.nan, 0.0),
        }
        new_state = dict(state, step=state["step"] + 1, params=params, opt_state=opt_state, rng=rng)
        return new_state, metrics

    def outputs(self, state):
        return {}  # a classifier draws no samples
