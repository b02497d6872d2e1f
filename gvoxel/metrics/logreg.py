"""Multinomial logistic regression on fixed features, hyper-parameters chosen on a validation
split only (the test split is scored once, with the chosen model).

The choice minimises validation cross-entropy, not validation accuracy: on easy category sets
accuracy saturates (the same near-100% at many settings) and its earliest tie picked badly
under-fitted models; cross-entropy still ranks them (docs/experiments.md)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gvoxel.errors import ConfigError


def standardize(fit, *others, stats=None):
    """Scale by the statistics of `stats` (default: the fitting set; features of a 0.001-std
    init are tiny)."""
    ref = fit if stats is None else stats
    mu, sd = ref.mean(0), ref.std(0) + 1e-6
    return [(x - mu) / sd for x in (fit, *others)]


@functools.partial(jax.jit, static_argnames=("num_classes", "steps"))
def _train_path(x, xt, y, x_val, y_val, l2, lr, num_classes: int, steps: int):
    params = (jnp.zeros((x.shape[1], num_classes)), jnp.zeros((num_classes,)))
    tx = optax.adam(lr)
    onehot = jax.nn.one_hot(y, num_classes)

    def step(carry, _):
        p, opt = carry
        # the cross-entropy's gradient by hand, so the (D, N) @ (N, C) product reads a
        # pre-transposed copy of x: XLA's x.T @ g is much slower on the CPU
        # (docs/performance.md)
        d = (jax.nn.softmax(x @ p[0] + p[1]) - onehot) / x.shape[0]
        g = (xt @ d + l2 * p[0], jnp.sum(d, axis=0))
        upd, opt = tx.update(g, opt, p)
        p = optax.apply_updates(p, upd)
        logits = x_val @ p[0] + p[1]
        acc = jnp.mean(jnp.argmax(logits, -1) == y_val)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, y_val).mean()
        return (p, opt), (acc, ce, p)

    _, (accs, ces, path) = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
    return accs, ces, path


def train_path(x, y, x_val, y_val, l2, lr, num_classes: int, steps: int):
    """Full-batch Adam on cross-entropy + l2/2 ‖W‖² for `steps` steps; returns every step's
    validation accuracy and cross-entropy and the weights themselves (stacked), so the best
    step can be picked."""
    x = np.asarray(x, np.float32)
    xt = np.ascontiguousarray(x.T)
    return _train_path(x, xt, y, x_val, y_val, l2, lr, num_classes=num_classes, steps=steps)


def select_and_test(
    fit, val, test, num_classes: int, l2_grid, lr: float, steps: int, stats=None
) -> dict:
    """fit/val/test: (features, labels). Picks (l2, step) by validation cross-entropy, then
    reports that one model's test accuracy. `stats`: features to standardize by (default
    fit's)."""
    if not l2_grid or steps < 1:
        raise ConfigError("logreg needs a non-empty l2 grid and steps >= 1")
    xf, xv, xt = standardize(fit[0], val[0], test[0], stats=stats)
    best = None
    for l2 in sorted(float(v) for v in l2_grid):
        accs, ces, path = train_path(xf, fit[1], xv, val[1], l2, lr, num_classes, steps)
        ces = np.nan_to_num(np.asarray(ces), nan=np.inf)
        i = int(np.argmin(ces))
        if best is None or ces[i] < best[0]:
            best = (float(ces[i]), float(accs[i]), l2, i + 1, (path[0][i], path[1][i]))
    val_ce, val_acc, l2, n, (w, b) = best
    test_acc = float(np.mean(np.argmax(xt @ np.asarray(w) + np.asarray(b), -1) == test[1]))
    return {
        "val_accuracy": val_acc, "val_cross_entropy": val_ce, "test_accuracy": test_acc,
        "l2": l2, "steps": n,
    }  # fmt: skip


def few_labels(fit, val, test, num_classes: int, per_class: int, draws: int, seed: int, **kw):
    """Mean test accuracy over `draws` fits on `per_class` labelled shapes of each class
    (drawn from `fit`; `val` still selects the settings): how far few labels go. Features
    are standardized by all of `fit` (its labels unused): the statistics of 2 shapes per
    class are noise, and scale every feature by it."""
    x, y = fit
    counts = np.bincount(y, minlength=num_classes)
    if draws < 1:
        raise ConfigError(f"label_draws must be >= 1, got {draws}")
    if per_class < 1 or counts.min() < per_class:
        raise ConfigError(
            f"labels_per_class {per_class}: needs 1 to {counts.min()} (the smallest class's "
            "fitting shapes)"
        )
    rng = np.random.default_rng(seed)
    accs = []
    for _ in range(draws):
        idx = np.concatenate([
            rng.choice(np.flatnonzero(y == c), per_class, replace=False)
            for c in range(num_classes)
        ])  # fmt: skip
        accs.append(
            select_and_test((x[idx], y[idx]), val, test, num_classes, stats=x, **kw)[
                "test_accuracy"
            ]
        )
    return float(np.mean(accs))
