"""Algorithm 2: multi-grid modelling and sampling (§4.3, §6.6; Gao et al., CVPR 2018).

Grids s = 0…S have resolutions r_0 = 1 < r_1 < … < r_S = R, each dividing the next, and
Y⁽ˢ⁾ = C Y is the block average of a shape at grid s. Grid 0, the 1³ mean (the shape's
occupied fraction), is modelled by a 1-D histogram; every grid s ≥ 1 by its own descriptor
f_s(·; θ_s) with its own parameters and Adam state (`multigrid.nets`, one spec per grid).

One learning iteration (modified contrastive divergence), all grids in one jitted step: each
training example starts from its own observed 1³ value, is up-scaled (C⁻) to grid 1 and moved
by K Langevin steps under θ_1 (Synthesis's sampler: one `lax.scan`), the result up-scaled to
grid 2, K steps under θ_2, …; then every θ_s takes one eq. (7) step with the observed Y⁽ˢ⁾
against the grid-s chains. Chains restart every iteration (nothing persists). Sampling from
scratch is the same ladder from a histogram draw.

Units. The loop hands batches with `data.mean` m removed at the finest grid. C is linear, so
C(Y − m) = CY − Cm: grid s works in occupancy minus m_s = C m, where its Gaussian reference
sits at the block-averaged mean shape, for any data.mean. Up-scaling goes through occupancy,
start_s = C⁻(Y_{s−1} + m_{s−1}) − m_s, so C(start_s + m_s) = Y_{s−1} + m_{s−1} exactly (C C⁻
= I). The K Langevin steps are not projected: a chain's block average is free to move away
from the coarser result (unlike super-resolution's chains). With `multigrid.pool = "max"`
or "rms", C is the block maximum or root mean square instead: not linear, so grid s sees
C(occupancy) − m_s with m_s = C m as its offset; C C⁻ = I still holds on occupancies ≥ 0.

Conditional ladder (`multigrid.conditional`, beyond the paper). Grid s ≥ 1 refines the
coarser result as super-resolution does: its Langevin changes are projected onto C's null
space, so the chain keeps the coarser grid's block averages, and in training each grid starts
from the observed shape one grid coarser (every grid a super-resolution model of the next
coarser one, trained on real shapes); sampling chains them from the histogram draw.

Histogram. The loop hands a variant batches, never the whole training set, so the train step
counts the observed 1³ values of every batch it sees: an epoch counts each training shape once
(bar the few left over when the batch does not divide the set), so the histogram is that of
the training set's 1³ values. Before the first step it is empty and draws are uniform.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import optax

from gvoxel.core import ebm, projections, resample
from gvoxel.errors import ConfigError
from gvoxel.variants import base

# §6.6 descriptor of each grid by its resolution: filters@kernel/stride, then fc.
PAPER_NETS = {
    4: "128@4/1",
    16: "256@8/2",
    32: "256@16/3,128@6/2",
    64: "256@16/3,128@6/2",
    128: "256@16/4,128@8/2",  # first-layer stride 4, second-layer 8³ filters
}


def extend_config(c: ml_collections.ConfigDict) -> None:
    m = ml_collections.ConfigDict()
    m.grids = (1, 4, 16, 32, 64)  # resolutions r_0 = 1 < … < r_S = data resolution
    m.nets = tuple(PAPER_NETS[r] for r in m.grids[1:])  # one descriptor per grid s ≥ 1
    m.histogram_bins = 100  # grid 0: equal-width bins of the 1³ value on [0, 1]
    # C, how a shape is seen at a coarser grid: the paper's block "mean", block "max"
    # (occupied if any voxel is; keeps thin parts above 0.5 and connected shapes connected),
    # or block "rms" (√ of the occupied share: a thin part filling 1/4 of a block gives 0.5)
    m.pool = "mean"
    # C⁻, how a coarser result starts the next grid: the paper's "block" replication, or
    # "trilinear" up-sampling with the same block averages (no block steps)
    m.upscale = "block"
    # True: each grid refines the coarser result as super-resolution does (ΔY projected onto
    # C's null space, so the block averages stay) and learns from the observed coarser shapes
    m.conditional = False
    c.multigrid = m


def check_grids(grids, resolution: int) -> tuple[int, ...]:
    """The validated grid list; a ConfigError names the first problem."""
    if isinstance(grids, (str, bytes)) or not hasattr(grids, "__iter__"):
        raise ConfigError(f"multigrid.grids must be a list of resolutions, got {grids!r}")
    g = tuple(grids)
    if not all(isinstance(r, int) and not isinstance(r, bool) and r >= 1 for r in g):
        raise ConfigError(f"multigrid.grids must be positive ints, got {g}")
    if len(g) < 2 or g[0] != 1:
        raise ConfigError(
            f"multigrid.grids must start at 1 (grid 0 is the 1³ mean) and name at least one "
            f"finer grid, got {g}"
        )
    for a, b in zip(g, g[1:]):
        if b <= a:
            raise ConfigError(f"multigrid.grids must be increasing, got {g} ({a} then {b})")
        if b % a:
            raise ConfigError(f"multigrid.grids ratios must be integers, got {g} ({b}/{a})")
    if g[-1] != resolution:
        raise ConfigError(
            f"multigrid.grids ends at {g[-1]} but the data are {resolution}³; the finest grid "
            "must be the data resolution (see data.resolution)"
        )
    return g


# -- grid 0: the histogram of 1³ values ---------------------------------------------------


def add_to_histogram(counts, values):
    """`counts` (bins,) plus the number of `values` (occupied fractions in [0, 1]) per bin."""
    bins = counts.shape[0]
    idx = jnp.clip(jnp.floor(values.reshape(-1) * bins).astype(jnp.int32), 0, bins - 1)
    return counts.at[idx].add(1)


def draw_from_histogram(rng, counts, n: int):
    """n values: a bin with probability ∝ its count (uniform if all are 0), uniform inside it."""
    bins = counts.shape[0]
    k_bin, k_pos = jax.random.split(rng)
    c = counts.astype(jnp.float32)
    p = jnp.where(jnp.sum(c) > 0, c, 1.0)
    idx = jax.random.choice(k_bin, bins, (n,), p=p / jnp.sum(p))
    return (idx + jax.random.uniform(k_pos, (n,))) / bins


@dataclasses.dataclass(frozen=True)
class MultiGrid:
    levels: tuple[ebm.EnergyModel, ...]  # grid s = 1…S: descriptor f_s, sampler, optimizer
    grids: tuple[int, ...]  # r_0 = 1, …, r_S = R
    num_bins: int
    batch_size: int  # one chain per training example
    pool: str = "mean"  # C: block "mean", "max" or "rms"
    upscale: str = "block"  # C⁻: "block" replication or "trilinear"
    conditional: bool = False  # grids keep the coarser result's block averages
    # chains: the finest grid's last chains (gvoxel sample --init=chains continues them);
    # coarse_chains: the coarser grids', by name. Both one per example, split over devices.
    sharded_keys = ("chains", "coarse_chains")

    @classmethod
    def from_config(cls, config, info: base.DataInfo) -> MultiGrid:
        m = config.multigrid
        grids = check_grids(m.grids, info.resolution)
        specs = (m.nets,) if isinstance(m.nets, str) else tuple(m.nets)
        if len(specs) != len(grids) - 1:
            raise ConfigError(
                f"multigrid.nets has {len(specs)} entries for the {len(grids) - 1} grids above "
                f"1³ {grids[1:]}; give one net per grid"
            )
        bins = m.histogram_bins
        if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
            raise ConfigError(f"multigrid.histogram_bins must be a positive int, got {bins!r}")
        batch = int(config.train.batch_size)
        if int(config.sampler.num_chains) != batch:
            raise ConfigError(
                f"multigrid runs one chain per training example: sampler.num_chains "
                f"({config.sampler.num_chains}) must equal train.batch_size ({batch})"
            )
        pool = m.get("pool", "mean")
        if pool not in resample.DOWNSCALES:
            raise ConfigError(
                f"multigrid.pool must be one of {sorted(resample.DOWNSCALES)}, got {pool!r}"
            )
        up = m.get("upscale", "block")
        if up not in resample.UPSCALES:
            raise ConfigError(
                f"multigrid.upscale must be one of {sorted(resample.UPSCALES)}, got {up!r}"
            )
        conditional = bool(m.get("conditional", False))
        if conditional and pool != "mean":
            raise ConfigError(
                "multigrid.conditional keeps block averages: it needs multigrid.pool='mean', "
                f"got {pool!r}"
            )
        levels = tuple(
            base.energy_model(config, info, net=net, resolution=r)
            for r, net in zip(grids[1:], specs)
        )
        return cls(
            levels=levels,
            grids=grids,
            num_bins=bins,
            batch_size=batch,
            pool=pool,
            upscale=up,
            conditional=conditional,
        )

    # -- pure functions -------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"grid{r}" for r in self.grids[1:])

    def coarse(self, y, r):
        """C: occupancies `y` at the finest grid seen at grid resolution r."""
        return resample.DOWNSCALES[self.pool](y, self.grids[-1] // r)

    def means(self, data_mean):
        """m_s = C m at every grid s = 0…S (m_0 is (1, 1, 1)): each grid's offset."""
        return [self.coarse(data_mean, r) for r in self.grids]

    def init(self, rng, data_mean):
        keys = jax.random.split(rng, len(self.levels) + 1)
        inits = {n: lvl.init(k) for n, lvl, k in zip(self.names, self.levels, keys)}
        zeros = lambda lvl: jnp.zeros(lvl.shape(self.batch_size), jnp.float32)  # noqa: E731
        state = {
            "step": jnp.zeros((), jnp.int32),
            **{k: {n: v[k] for n, v in inits.items()} for k in inits[self.names[0]]},
            "histogram": jnp.zeros((self.num_bins,), jnp.int32),
            "chains": zeros(self.levels[-1]),
            "rng": keys[-1],
            "data_mean": jnp.asarray(data_mean, jnp.float32),
        }
        if len(self.levels) > 1:  # no empty subtree in the checkpoint for a single grid
            state["coarse_chains"] = {
                n: zeros(lvl) for n, lvl in zip(self.names[:-1], self.levels[:-1])
            }
        return state

    def _factor(self, s):
        return self.grids[s] // self.grids[s - 1]

    def _keep(self, s):
        """Grid s's projection of ΔY: the coarser block averages stay (conditional) or none."""
        return projections.downscale_null_space(self._factor(s)) if self.conditional else None

    def ladder(self, params, rng, top, means, num_steps, noise=True, given=None):
        """Up the grids from 1³ values `top` (N, 1, 1, 1) (occupied fractions): at grid s,
        start_s = C⁻(previous result + m_{s−1}) − m_s, then K Langevin steps under θ_s.
        `given` (occupancies at grids 0…S−1) replaces the previous results: each grid then
        starts from its own coarser input (training a conditional ladder on observed shapes).
        Returns per grid s ≥ 1 (starts, chain states, infos), mean-removed at their grid."""
        starts, chains, infos = [], [], []
        previous = top  # occupancy at grid s − 1
        keys = jax.random.split(rng, len(self.levels))
        for s, (name, lvl, key) in enumerate(zip(self.names, self.levels, keys), start=1):
            if given is not None:
                previous = given[s - 1]
            start = resample.UPSCALES[self.upscale](previous, self._factor(s)) - means[s]
            chain, info = lvl.langevin(params[name], key, start, num_steps, noise, self._keep(s))
            previous = chain.position + means[s]
            starts.append(start)
            chains.append(chain)
            infos.append(info)
        return starts, chains, infos

    def train_step(self, state, batch):
        """batch: {"voxels": observed, mean-removed (B, R, R, R), "labels": (B,)}."""
        means = self.means(state["data_mean"])
        rng, k_lang = jax.random.split(state["rng"])
        observed = self.levels[-1].augment(jax.random.fold_in(k_lang, 7), batch["voxels"])
        occupancy = observed + state["data_mean"]
        top = self.coarse(occupancy, 1)  # Y⁽⁰⁾
        finest = self.levels[-1]
        noise = finest.noise_on(state["step"])
        given = None
        if self.conditional:  # every grid refines the observed coarser shape
            given = [top] + [self.coarse(occupancy, r) for r in self.grids[1:-1]]
        _, chains, infos = self.ladder(
            state["params"], k_lang, top, means, finest.sampler.num_steps, noise, given
        )

        learners, metrics, all_grads, rms = {}, {}, {}, []
        for i, (name, lvl, r, m, chain, info) in enumerate(
            zip(self.names, self.levels, self.grids[1:], means[1:], chains, infos, strict=True)
        ):
            obs = self.coarse(occupancy, r) - m  # Y⁽ˢ⁾ − m_s
            mine = {k: v[name] for k, v in ebm.EnergyModel.learner(state).items()}
            learners[name], all_grads[name], grid_metrics = lvl.mode_shifting(
                mine, obs, chain.position, rng=jax.random.fold_in(k_lang, 8 + i)
            )
            rms.append(jnp.sqrt(jnp.mean(jnp.square(chain.position))))
            grid_metrics.update(rms=rms[-1], acceptance=jnp.mean(info.acceptance_rate))
            metrics.update({f"{name}/{k}": v for k, v in grid_metrics.items()})
        finest = chains[-1].position
        metrics.update(
            loss=sum(metrics[f"{n}/loss"] for n in self.names),
            grad_norm=optax.global_norm(all_grads),
            # read by the loop's guard as √(R³)·RMS: the worst grid's per-voxel RMS
            sample_norm=jnp.max(jnp.stack(rms)) * jnp.sqrt(float(self.grids[-1] ** 3)),
            occupancy_syn=jnp.mean(finest + means[-1] > 0.5),
            occupancy_obs=jnp.mean(occupancy > 0.5),
        )
        new_state = dict(
            state,
            **{k: {n: learners[n][k] for n in self.names} for k in learners[self.names[0]]},
            step=state["step"] + 1,
            histogram=add_to_histogram(state["histogram"], top),
            chains=finest,
            rng=rng,
        )
        if len(self.levels) > 1:
            new_state["coarse_chains"] = {
                n: c.position for n, c in zip(self.names[:-1], chains[:-1])
            }
        return new_state, metrics

    # -- sampling (gvoxel sample) -----------------------------------------------------------

    def synthesize(self, state, rng, num, num_steps, noise=True):
        """From scratch: histogram draw → grid 1 → … → finest. Returns every grid's result
        {"grid4": …, …, "samples": finest} as soft occupancies in [0, 1]."""
        k_top, k_lang = jax.random.split(rng)
        top = draw_from_histogram(k_top, state["histogram"], num).reshape(num, 1, 1, 1)
        means = self.means(state["data_mean"])
        params = ebm.EnergyModel.sampling_params(state)
        _, chains, _ = self.ladder(params, k_lang, top, means, num_steps, noise)
        return self._levels(state, [c.position for c in chains])

    def continue_chains(self, state, rng, y, num_steps, noise=True):
        """Runs finest-grid chains (mean-removed) further under θ_S (a conditional ladder
        keeps their coarser block averages); post-processed grids."""
        chain, _ = self.levels[-1].langevin(
            state["params"][self.names[-1]], rng, y, num_steps, noise, self._keep(len(self.levels))
        )
        return self.postprocess(state, chain.position)

    def outputs(self, state):
        """Every grid's chains of the last iteration; the finest as "samples"."""
        coarse = state.get("coarse_chains", {})
        return self._levels(state, [coarse[n] for n in self.names[:-1]] + [state["chains"]])

    def _levels(self, state, ys):
        """Post-processed grids; the finest first takes `sampler.polish_steps` noise-free
        steps (what is written only: T = 0.1 noise leaves rough surfaces and stray voxels)."""
        means = self.means(state["data_mean"])
        finest = self.levels[-1]
        ys = [*ys[:-1], finest.polish(state["params"][self.names[-1]], ys[-1])]
        out = {
            n: jnp.clip(y + m, 0.0, 1.0) for n, y, m in zip(self.names[:-1], ys[:-1], means[1:-1])
        }
        out["samples"] = self.postprocess(state, ys[-1])
        return out

    @staticmethod
    def postprocess(state, y):
        """Finest grid: add the data mean back; soft occupancies (threshold 0.5 for shapes)."""
        return ebm.postprocess(y, state["data_mean"])
