"""Robust mesh reading: the ModelNet OFF header quirk and bad files with reasons."""

import numpy as np
import pytest

from gvoxel.data.meshio import parse_off, read_mesh
from gvoxel.errors import InputError
from tests.helpers import BATHTUBS


def test_bundled_bathtubs_present():
    assert len(BATHTUBS) == 5


def _quirk_copy(src, dst):
    # ModelNet's quirk: keyword and counts on one line, e.g. "OFF3514 3546 0"
    with open(src) as f:
        lines = f.read().split("\n")
    assert lines[0].strip() == "OFF"
    with open(dst, "w") as f:
        f.write("\n".join(["OFF" + lines[1].strip()] + lines[2:]))


def test_header_quirk_reads_identically(tmp_path):
    src = BATHTUBS[0]
    quirk = tmp_path / "quirk.off"
    _quirk_copy(src, quirk)
    assert open(quirk).readline().startswith("OFF3514 3546 0")
    with open(src, "rb") as f:
        v0, f0 = parse_off(f.read())
    with open(quirk, "rb") as f:
        v1, f1 = parse_off(f.read())
    np.testing.assert_array_equal(v0, v1)
    np.testing.assert_array_equal(f0, f1)
    a, b = read_mesh(src), read_mesh(str(quirk))
    np.testing.assert_array_equal(a.vertices, b.vertices)
    np.testing.assert_array_equal(a.faces, b.faces)


def test_off_polygons_comments_and_colors():
    text = (
        b"# a comment\nCOFF\n4 1 0\n0 0 0 255 0 0\n1 0 0 255 0 0\n1 1 0\n0 1 0\n4 0 1 2 3 9 9 9\n"
    )
    verts, faces = parse_off(text)
    assert verts.shape == (4, 3)
    np.testing.assert_array_equal(faces, [[0, 1, 2], [0, 2, 3]])  # quad -> two triangles


def _write(path, data: bytes):
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("empty.off", b"", "empty file"),
        ("blank.off", b"\n\n  \n", "empty file"),
        ("garbage.off", bytes(range(256)) * 4, "binary or corrupt"),
        ("noheader.off", b"3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n", "not an OFF file"),
        ("nofaces.off", b"OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n", "no faces"),
        ("novertices.off", b"OFF\n0 0 0\n", "no vertices"),
        ("badindex.off", b"OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", "face index"),
        ("nan.off", b"OFF\n3 1 0\n0 0 nan\n1 0 0\n0 1 0\n3 0 1 2\n", "NaN"),
        ("flat.off", b"OFF\n3 1 0\n0 0 0\n1 0 0\n2 0 0\n3 0 1 2\n", "degenerate"),
        ("point.off", b"OFF\n3 1 0\n1 1 1\n1 1 1\n1 1 1\n3 0 1 2\n", "degenerate"),
        ("garbage.stl", bytes(range(256)) * 3, "not a valid binary STL"),
        ("empty.obj", b"", "empty file"),
        ("garbage.obj", bytes(range(256)) * 4, "binary or corrupt"),
        ("points.obj", b"v 0 0 0\nv 1 0 0\n", "no vertices"),
        ("garbage.ply", b"\xff" * 500, "unreadable mesh"),
        ("shape.xyz", b"1 2 3\n", "unsupported mesh extension"),
    ],
)
def test_bad_files_fail_with_one_line_reason(tmp_path, name, data, reason):
    path = _write(tmp_path / name, data)
    with pytest.raises(InputError) as err:
        read_mesh(path)
    msg = str(err.value)
    assert reason in msg and path in msg and "\n" not in msg


def test_truncated_file(tmp_path):
    with open(BATHTUBS[0], "rb") as f:
        data = f.read()
    path = _write(tmp_path / "trunc.off", data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_mesh(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_mesh(str(tmp_path / "nope.off"))


def test_other_formats_via_trimesh(tmp_path):
    mesh = read_mesh(BATHTUBS[1])
    for ext in ("obj", "stl", "ply"):
        path = str(tmp_path / f"tub.{ext}")
        mesh.export(path)
        again = read_mesh(path)
        np.testing.assert_allclose(again.bounds, mesh.bounds, rtol=1e-5, atol=1e-4)
        assert abs(again.area - mesh.area) < 1e-3 * mesh.area
