"""Views of a voxel grid that a completion is averaged over (a test-time ensemble).

A descriptor whose first layer has stride 2 sees a shape differently when it moves by one
voxel (the stride's phase), so chains run on shifted copies of one input make different
errors near the 0.5 threshold, and the mean of their results, each moved back, cancels part
of them. A mirror that is a symmetry of the data gives another view.

A view is a shift (in cells of the array it is applied to, one per axis of the last three)
followed by an optional mirror; `apply` and `invert` are exact inverses (rolls and flips).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

SHIFTS = tuple(itertools.product((0, 1), repeat=3))  # the 2³ one-cell shifts, identity first


class View(NamedTuple):
    shift: tuple[int, int, int]
    mirror: bool


def views(shifts: bool, mirror_axis: int) -> list[View]:
    """The identity first; with `shifts` the 2³ one-cell shifts; with `mirror_axis` ≥ 0 each
    of those also mirrored along that grid axis (0–2)."""
    offsets = SHIFTS if shifts else SHIFTS[:1]
    mirrors = (False, True) if mirror_axis >= 0 else (False,)
    return [View(tuple(s), m) for m in mirrors for s in offsets]


def apply(x: np.ndarray, view: View, mirror_axis: int, unit: int = 1) -> np.ndarray:
    """`x` (..., R, R, R) rolled by `unit`·shift cells, then mirrored along `mirror_axis`."""
    x = np.roll(x, tuple(unit * s for s in view.shift), axis=(-3, -2, -1))
    return np.flip(x, mirror_axis - 3) if view.mirror else x


def invert(x: np.ndarray, view: View, mirror_axis: int, unit: int = 1) -> np.ndarray:
    """The inverse of `apply`: maps a result on the view back onto the input's grid."""
    x = np.flip(x, mirror_axis - 3) if view.mirror else x
    return np.roll(x, tuple(-unit * s for s in view.shift), axis=(-3, -2, -1))
