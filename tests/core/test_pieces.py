"""Hysteresis on occupancies: faint voxels join a shape only through faint voxels that touch
it; ridge candidates are each a plane's local maximum; bridging changes nothing else."""

import jax.numpy as jnp
import numpy as np
import scipy.ndimage as ndimage

from gvoxel.core import pieces


def beaded_leg(r=12):
    """A seat (0.9) with a leg below it drawn as beads: 0.7 and 0.35 alternating, then a
    0.2 gap and one last bead; a faint voxel (0.4) far from everything."""
    x = np.zeros((1, r, r, r), np.float32)
    x[0, 2:8, 2:8, 9] = 0.9  # seat, up axis last
    x[0, 3, 3, 1:9] = [0.7, 0.2, 0.7, 0.35, 0.7, 0.35, 0.7, 0.35]  # z = 1..8
    x[0, 10, 10, 2] = 0.4
    return x


def test_faint_voxels_join_through_faint_voxels_touching_the_shape():
    x = beaded_leg()
    joined = np.asarray(pieces.joined(jnp.asarray(x), 0.3))[0]
    leg = joined[3, 3, 1:9]
    np.testing.assert_array_equal(leg, [True, False, True, True, True, True, True, True])
    assert joined[x[0] > 0.5].all()  # every strong voxel stays
    assert not joined[10, 10, 2]  # a faint voxel alone joins nothing
    # above the beads' value the leg falls apart again: only strong voxels
    strict = np.asarray(pieces.joined(jnp.asarray(x), 0.4))[0]
    np.testing.assert_array_equal(strict, x[0] > 0.5)


def test_joined_is_scipy_hysteresis_on_random_fields():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3, 10, 10, 10)).astype(np.float32) ** 2
    for low, use_ridge in ((0.2, False), (0.1, True)):
        got = np.asarray(pieces.joined(jnp.asarray(x), low, use_ridge))
        ridge = np.asarray(pieces.ridge(jnp.asarray(x))) if use_ridge else True
        for g, want_in, c in zip(x, got, np.broadcast_to(ridge, x.shape), strict=True):
            labels, _ = ndimage.label((g > 0.5) | ((g > low) & c), np.ones((3, 3, 3), bool))
            keep = np.unique(labels[g > 0.5])
            np.testing.assert_array_equal(want_in, np.isin(labels, keep[keep > 0]))


def test_ridge_voxels_are_a_planes_local_maximum():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(2, 8, 8, 8)).astype(np.float32)
    got = np.asarray(pieces.ridge(jnp.asarray(x)))
    want = np.zeros_like(got)
    for axis in (1, 2, 3):
        size = [1, 3, 3, 3]
        size[axis] = 1
        want |= x >= ndimage.maximum_filter(x, size=size, mode="constant", cval=-1.0)
    np.testing.assert_array_equal(got, want)
    assert 0 < got.mean() < 1


def test_bridged_raises_joined_faint_voxels_and_leaves_the_rest_bit_exact():
    x = beaded_leg()
    out = np.asarray(pieces.bridged(jnp.asarray(x), 0.3, floor=0.6))
    joined = np.asarray(pieces.joined(jnp.asarray(x), 0.3))
    raised = joined & (x <= 0.5)
    assert raised.sum() == 3
    np.testing.assert_array_equal(out[raised], np.float32(0.6))
    np.testing.assert_array_equal(out[~raised], x[~raised])

    def count(y):
        return ndimage.label(y > 0.5, np.ones((3, 3, 3), bool))[1]

    assert count(x[0]) == 5  # the seat and four beads
    assert count(out[0]) == 2  # the seat with its leg, and the bead below the gap


def test_largest_piece_is_scipys_largest_component():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(4, 10, 10, 10)) < np.array([0.1, 0.2, 0.3, 0.0])[:, None, None, None]
    got = np.asarray(pieces.largest(jnp.asarray(x)))
    for occupied, keep in zip(x, got, strict=True):
        labels, n = ndimage.label(occupied, np.ones((3, 3, 3), bool))
        if n == 0:
            assert not keep.any()
            continue
        sizes = np.bincount(labels.ravel())[1:]
        assert keep.sum() == sizes.max()
        assert len(np.unique(labels[keep])) == 1  # one whole piece
        assert (labels == labels[keep][0]).sum() == keep.sum()


def test_main_piece_lowers_loose_voxels_only():
    x = beaded_leg()
    out = np.asarray(pieces.main_piece(jnp.asarray(x), ceiling=0.4))
    loose = np.zeros(x.shape, bool)
    loose[0, 3, 3, [1, 3, 5, 7]] = True  # the beads; the seat is the largest piece
    np.testing.assert_array_equal(out[loose], np.float32(0.4))
    np.testing.assert_array_equal(out[~loose], x[~loose])


def test_piece_size_counts_each_voxels_piece_and_despeckle_drops_small_ones():
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(2, 10, 10, 10)) < 0.15
    got = np.asarray(pieces.piece_size(jnp.asarray(x)))
    for occupied, size in zip(x, got, strict=True):
        labels, _ = ndimage.label(occupied, np.ones((3, 3, 3), bool))
        np.testing.assert_array_equal(size, np.bincount(labels.ravel())[labels] * occupied)
    soft = np.where(x, 0.8, 0.1).astype(np.float32)
    out = np.asarray(pieces.despeckled(jnp.asarray(soft), 2, ceiling=0.4))
    stray = x & (got <= 2)
    assert stray.any() and (x & ~stray).any()
    np.testing.assert_array_equal(out[stray], np.float32(0.4))
    np.testing.assert_array_equal(out[~stray], soft[~stray])


def test_gaps_are_the_empty_voxels_between_the_largest_piece_and_loose_ones():
    x = np.zeros((1, 16, 16, 16), bool)
    x[0, 2:12, 2:12, 10] = True  # a seat
    x[0, 3, 3, 2:6] = True  # a leg that stops 4 voxels short of it
    x[0, 14, 14, 1] = True  # a stray voxel: below min_piece, no gap
    got = np.asarray(pieces.gaps(jnp.asarray(x), radius=0, reach=8, min_piece=3))[0]
    want = np.zeros((16, 16, 16), bool)
    want[3, 3, 6:10] = True  # the column between the leg's top and the seat
    np.testing.assert_array_equal(got, want)
    short = np.asarray(pieces.gaps(jnp.asarray(x), radius=0, reach=3, min_piece=3))[0]
    want[3, 3, [6, 9]] = False  # within 3 steps of both ends: the middle two of the four
    np.testing.assert_array_equal(short, want)
    near = np.asarray(pieces.gaps(jnp.asarray(x), radius=2, reach=0, min_piece=3))[0]
    assert not near.any()  # 4 apart: no voxel within 2 of both
    x[0, 3, 3, 6:8] = True  # the leg now stops 2 short: within radius 2 of both
    near = np.asarray(pieces.gaps(jnp.asarray(x), radius=2, reach=0, min_piece=3))[0]
    assert near[3, 3, 8] and near[3, 3, 9] and not (near & x[0]).any()
    one = np.zeros((1, 8, 8, 8), bool)
    one[0, 2:5, 2:5, 2:5] = True
    assert not np.asarray(pieces.gaps(jnp.asarray(one))).any()  # one piece: no gaps


def test_gaps_match_a_voxel_by_voxel_reference():
    rng = np.random.default_rng(4)
    x = rng.uniform(size=(3, 12, 12, 12)) < np.array([0.04, 0.08, 0.12])[:, None, None, None]
    box = np.ones((3, 3, 3), bool)
    got = np.asarray(pieces.gaps(jnp.asarray(x), radius=1, reach=3, min_piece=2))
    mains = np.asarray(pieces.largest(jnp.asarray(x)))  # its tie rule; checked against scipy
    for occupied, main, gap in zip(x, mains, got, strict=True):
        labels, _ = ndimage.label(occupied, box)
        loose = occupied & ~main & (np.bincount(labels.ravel())[labels] >= 2)
        want = ndimage.binary_dilation(main, box) & ndimage.binary_dilation(loose, box)
        for v in zip(*np.nonzero(~occupied), strict=True):
            for axis in range(3):
                line = [tuple(v[:axis]) + (i,) + tuple(v[axis + 1 :]) for i in range(12)]
                back = [line[i] for i in range(max(0, v[axis] - 3), v[axis])]
                ahead = [line[i] for i in range(v[axis] + 1, min(12, v[axis] + 4))]
                if (any(main[b] for b in back) and any(loose[a] for a in ahead)) or (
                    any(loose[b] for b in back) and any(main[a] for a in ahead)
                ):
                    want[v] = True
        assert want.any()
        np.testing.assert_array_equal(gap, want & ~occupied)
