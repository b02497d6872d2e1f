"""Robust mesh reading: every failure is an `InputError` with a one-line reason.

OFF is parsed here rather than by trimesh because ModelNet ships files whose header
line glues the keyword to the counts (`OFF3514 3546 0`); other formats go through trimesh.
"""

import io
import os
import re

import numpy as np
import trimesh

from gvoxel.errors import InputError

MESH_EXTENSIONS = (".off", ".obj", ".stl", ".ply")

# keyword variants: OFF, COFF, NOFF, CNOFF, STOFF...; ModelNet may glue counts to it
_OFF_HEADER = re.compile(r"^\s*([A-Z]*OFF)\s*(.*)$")


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(path: str, problem: str) -> InputError:
    return InputError(f"{path}: {_one_line(problem)}")


def parse_off(data: bytes, path: str = "<off>") -> tuple[np.ndarray, np.ndarray]:
    """Parse OFF bytes into (vertices (V,3) float64, triangles (F,3) int64)."""
    if not data.strip():
        raise _fail(path, "empty file")
    if b"\x00" in data:
        raise _fail(path, "binary or corrupt data, not a text OFF file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(path, "binary or corrupt data, not a text OFF file") from None
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise _fail(path, "empty file (only comments)")
    match = _OFF_HEADER.match(lines[0])
    if match is None:
        raise _fail(path, f"not an OFF file (header {lines[0][:30]!r})")
    rest = match.group(2).split()
    body = lines[1:]
    if not rest:  # the usual layout: counts on their own line
        if not body:
            raise _fail(path, "truncated: missing the vertex/face count line")
        rest, body = body[0].split(), body[1:]
    try:
        counts = [int(tok) for tok in rest[:3]]
    except ValueError:
        raise _fail(path, f"bad count line {' '.join(rest)!r}") from None
    if len(counts) < 2 or min(counts) < 0:
        raise _fail(path, f"bad count line {' '.join(rest)!r}")
    n_vert, n_face = counts[:2]
    if n_vert == 0:
        raise _fail(path, "no vertices")
    if n_face == 0:
        raise _fail(path, "no faces")
    if len(body) < n_vert + n_face:
        raise _fail(
            path,
            f"truncated: header declares {n_vert} vertices + {n_face} faces, "
            f"file has {len(body)} data lines",
        )
    try:
        verts = np.array([ln.split()[:3] for ln in body[:n_vert]], dtype=np.float64)
    except ValueError:
        raise _fail(path, "malformed vertex line") from None
    if verts.shape != (n_vert, 3):
        raise _fail(path, "malformed vertex line (fewer than 3 coordinates)")
    if not np.isfinite(verts).all():
        raise _fail(path, "vertex coordinates contain NaN or inf")
    tris = []
    try:
        for ln in body[n_vert : n_vert + n_face]:
            tok = ln.split()
            k = int(tok[0])
            poly = [int(t) for t in tok[1 : k + 1]]
            if len(poly) != k:
                raise ValueError
            # fan triangulation; polygons with < 3 corners contribute nothing
            tris.extend((poly[0], poly[j], poly[j + 1]) for j in range(1, k - 1))
    except (ValueError, IndexError):
        raise _fail(path, "malformed face line") from None
    faces = np.array(tris, dtype=np.int64).reshape(-1, 3)
    if len(faces) == 0:
        raise _fail(path, "no faces with 3 or more corners")
    if faces.min() < 0 or faces.max() >= n_vert:
        raise _fail(path, "face index outside the vertex range")
    return verts, faces


def _check_stl(path: str) -> None:
    """Binary STL has an exact size; catch junk before trimesh tries it as ASCII."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(84)
    if head.lstrip().lower().startswith(b"solid") and b"\x00" not in head:
        return  # ASCII STL: trimesh parses it
    if size < 84:
        raise _fail(path, "truncated STL (shorter than its 84-byte header)")
    count = int.from_bytes(head[80:84], "little")
    if size != 84 + 50 * count:
        raise _fail(path, f"not a valid binary STL ({count} triangles declared, size {size} bytes)")
    if count == 0:
        raise _fail(path, "no faces")


def _obj_bytes(path: str) -> io.BytesIO:
    """OBJ text as UTF-8: junk is caught here, legacy latin-1 files still load."""
    with open(path, "rb") as f:
        data = f.read()
    if b"\x00" in data:
        raise _fail(path, "binary or corrupt data, not a text OBJ file")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        data = data.decode("latin-1").encode("utf-8")
    return io.BytesIO(data)


def _load_other(path: str) -> trimesh.Trimesh:
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".obj":  # materials are not needed, so no path resolver
            mesh = trimesh.load_mesh(_obj_bytes(path), file_type="obj", process=False)
        else:
            mesh = trimesh.load_mesh(path, process=False)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 -- any loader failure is a bad file
        raise _fail(path, f"unreadable mesh ({type(exc).__name__}: {exc})") from None
    if not isinstance(mesh, trimesh.Trimesh):
        raise _fail(path, f"not a triangle mesh (got {type(mesh).__name__})")
    return mesh


def read_mesh(path: str) -> trimesh.Trimesh:
    """Read a mesh file, check it is usable for voxelization, or raise `InputError`."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in MESH_EXTENSIONS:
        raise _fail(path, f"unsupported mesh extension {ext!r} (use {', '.join(MESH_EXTENSIONS)})")
    if not os.path.isfile(path):
        raise _fail(path, "no such file")
    if ext == ".off":
        with open(path, "rb") as f:
            data = f.read()
        verts, faces = parse_off(data, path)
        mesh = trimesh.Trimesh(verts, faces, process=False)
    else:
        if os.path.getsize(path) == 0:
            raise _fail(path, "empty file")
        if ext == ".stl":
            _check_stl(path)
        mesh = _load_other(path)
    return check_mesh(mesh, path)


def check_mesh(mesh: trimesh.Trimesh, path: str = "<mesh>") -> trimesh.Trimesh:
    """Merge duplicate vertices, drop zero-area faces; raise if nothing solid is left."""
    if len(mesh.vertices) == 0:
        raise _fail(path, "no vertices")
    if len(mesh.faces) == 0:
        raise _fail(path, "no faces")
    if not np.isfinite(mesh.vertices).all():
        raise _fail(path, "vertex coordinates contain NaN or inf")
    # merging makes shared edges shared, so watertightness is judged correctly
    mesh.merge_vertices()
    mesh.update_faces(mesh.nondegenerate_faces())
    if len(mesh.faces) == 0:
        raise _fail(path, "degenerate: every face has zero area")
    extent = mesh.extents
    if extent.max() <= 0:
        raise _fail(path, "degenerate: zero size")
    return mesh
