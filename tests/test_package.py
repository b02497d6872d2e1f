"""The package's shape: every module imports on its own, the imports between gvoxel's modules
form no cycle (lazy imports inside functions included), and the layers only import downward."""

import ast
import pathlib
import subprocess
import sys

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "gvoxel"

# A layer may import only itself and the layers listed for it (errors.py and progress.py:
# everyone).
LAYERS = {
    "core": {"core"},
    "data": {"data", "core"},
    "metrics": {"metrics", "core", "data", "experiment", "variants"},
    "variants": {"variants", "core", "data", "metrics"},
    "experiment": {"experiment", "variants", "core", "data"},
    "visual": {"data", "core"},
    "train": {"experiment", "metrics", "variants", "data", "visual"},
    "cli": {"cli", "train", "experiment", "metrics", "variants", "core", "data", "visual", "main"},
    "main": {"cli"},
    "__main__": {"cli"},
    "errors": set(),
    "progress": set(),
    "__init__": {"api"},
    "api": {"experiment", "variants", "core", "data", "visual", "metrics"},
}


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, pathlib.Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: pathlib.Path, known) -> set[str]:
    """gvoxel modules `path` imports anywhere in its body (also inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import submodule` needs the submodule; `from mod import name`, mod
            subs = [f"{node.module}.{a.name}" for a in node.names]
            names = [n for n in subs if n in known] or [node.module]
        else:
            continue
        out.update(n for n in names if n in known)
    return out


def graph():
    mods = modules()
    return {name: imported(path, mods) - {name} for name, path in mods.items()}


def find_cycle(edges):
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == "open":
                return stack[stack.index(m) :] + [m]
            if m not in state and (c := visit(m)):
                return c
        state[n] = "done"
        stack.pop()
        return None

    for n in sorted(edges):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle_between_gvoxel_modules():
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle)


def layer(name: str) -> str:
    parts = name.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def test_layers_only_import_downward():
    bad = []
    for name, deps in graph().items():
        allowed = LAYERS[layer(name)] | {layer(name)}
        for d in deps:
            if d in ("gvoxel", "gvoxel.errors", "gvoxel.progress") or layer(d) in allowed:
                continue
            bad.append(f"{name} imports {d}")
    assert not bad, "\n".join(bad)


def test_core_reads_no_config_and_no_files():
    banned = ("ml_collections", "absl", "orbax", "os", "pathlib")
    for name, path in modules().items():
        if layer(name) != "core":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mod = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                assert (mod or "").split(".")[0] not in banned, f"{name} imports {mod}"


# One interpreter loads the third-party libraries, then each gvoxel module is imported in a
# forked child of it: a fresh gvoxel import for every module, without paying for jax each time.
IMPORT_EACH = """
import os, sys, traceback
import jax, flax.linen, optax, orbax.checkpoint, numpy, ml_collections, absl.flags  # noqa
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            __import__(name)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    if os.waitpid(pid, 0)[1] != 0:
        failed.append(name)
print("FAILED:", " ".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_alone_in_a_fresh_interpreter():
    names = sorted(modules())
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, *names], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-500:] + proc.stderr[-3000:]


def test_import_check_catches_a_circular_import(tmp_path):
    pkg = tmp_path / "circ"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from circ.b import B\nA = 1\n")
    (pkg / "b.py").write_text("from circ.a import A\nB = 2\n")
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, "circ.a"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1 and "circ.a" in proc.stdout


def test_all_command_modules_import_together():
    names = sorted(n for n in modules() if layer(n) == "cli")
    code = "; ".join(f"import {n}" for n in names)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
