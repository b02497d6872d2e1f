"""Resolution changes on the last three axes of (..., R, R, R) grids.

`downscale` is the paper's C (block average, soft occupancy) and `upscale` its
pseudo-inverse C^- (block replication), so upscale(downscale(x)) is a projection and
downscale(upscale(y)) == y. Both use only reshape/mean/broadcast, so they take numpy
and jax arrays alike and trace under jax.jit (factor must be a static Python int).
`upscale_trilinear` is a smooth alternative to C^- with the same C·up(y) == y (jax only).
"""

import jax
import numpy as np

from gvoxel.errors import InputError


class ResampleError(InputError, ValueError):
    """A factor that does not divide the grid; catchable as either base class."""


def _check_factor(factor: int) -> None:
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
        raise ResampleError(f"scale factor must be a positive int, got {factor!r}")


def _check(shape: tuple, factor: int) -> tuple[int, ...]:
    _check_factor(factor)
    if len(shape) < 3:
        raise ResampleError(f"expected a grid (..., R, R, R), got shape {tuple(shape)}")
    r = shape[-3:]
    if any(n % factor for n in r):
        raise ResampleError(f"scale factor {factor} does not divide the grid size {tuple(r)}")
    return tuple(shape[:-3])


def _blocks(x, factor: int):
    """(..., R, R, R) as (..., R/f, f, R/f, f, R/f, f) and the three block axes."""
    lead = _check(x.shape, factor)
    a, b, c = (n // factor for n in x.shape[-3:])
    n = len(lead)
    return x.reshape(lead + (a, factor, b, factor, c, factor)), (n + 1, n + 3, n + 5)


def downscale(x, factor: int):
    """Block average over `factor`^3 blocks: (..., R, R, R) -> (..., R/f, R/f, R/f)."""
    blocks, axes = _blocks(x, factor)
    if factor == 1:
        return x
    # bool/int grids average to float32 (numpy would pick float64: 2x memory and time)
    dtype = None if np.issubdtype(x.dtype, np.floating) else np.float32
    return blocks.mean(axis=axes, dtype=dtype)


def downscale_max(x, factor: int):
    """Block maximum (a block is occupied if any of its voxels is): keeps the thin parts,
    e.g. chair legs, that a block average drops below the 0.5 threshold."""
    blocks, axes = _blocks(x, factor)
    return x if factor == 1 else blocks.max(axis=axes)


def downscale_rms(x, factor: int):
    """Block root mean square, √(mean y²): a binary block's √(occupied share), between the
    block average and the maximum (a leg filling 1/4 of a block gives 0.5, not 0.25), and
    1 or 0 on full or empty blocks as both."""
    return x if factor == 1 else downscale(x * x, factor) ** 0.5


def upscale(x, factor: int):
    """Block replication: (..., R, R, R) -> (..., R*f, R*f, R*f)."""
    _check(x.shape, 1)
    _check_factor(factor)
    if factor == 1:
        return x
    # ndarray.repeat exists on numpy and jax arrays alike and keeps the dtype
    return x.repeat(factor, axis=-1).repeat(factor, axis=-2).repeat(factor, axis=-3)


def upscale_trilinear(x, factor: int):
    """Trilinear up-sampling corrected by C⁻(x − C·trilinear), so that its block averages
    are x exactly, like block replication's, without the blocks' steps."""
    _check(x.shape, 1)
    _check_factor(factor)
    if factor == 1:
        return x
    high = x.shape[:-3] + tuple(n * factor for n in x.shape[-3:])
    smooth = jax.image.resize(x, high, "trilinear")
    return smooth + upscale(x - downscale(smooth, factor), factor)


DOWNSCALES = {"mean": downscale, "max": downscale_max, "rms": downscale_rms}
UPSCALES = {"block": upscale, "trilinear": upscale_trilinear}


def resize(x, resolution: int, down: str = "mean"):
    """Change the grid size to `resolution` by an integer factor (down: `down`, "mean",
    "max" or "rms" over blocks; up: copy)."""
    r = x.shape[-1]
    if resolution == r:
        return x
    if resolution < r:
        if r % resolution:
            raise ResampleError(f"cannot resize {r}^3 to {resolution}^3: not an integer ratio")
        if down not in DOWNSCALES:
            raise ResampleError(f"downscale must be one of {sorted(DOWNSCALES)}, got {down!r}")
        return DOWNSCALES[down](x, r // resolution)
    if resolution % r:
        raise ResampleError(f"cannot resize {r}^3 to {resolution}^3: not an integer ratio")
    return upscale(x, resolution // r)
