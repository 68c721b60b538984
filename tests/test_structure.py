"""The package's imports go one way: no circle between modules of ``edgefm`` (issue 14).

Every ``import`` statement counts, at module level or inside a function (a lazy import is still a
dependency a reader must follow). An edge goes from a module to each ``edgefm`` module it names:
``from .x import y`` names ``x`` and, when ``y`` is a sub-module, ``x.y``. A sub-module's implicit
import of its parent package is not an edge (every module would otherwise depend on ``edgefm``).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import edgefm

PKG = Path(edgefm.__file__).resolve().parent


def module_names(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is_package) for every ``.py`` file under ``root``."""
    out = {}
    for f in sorted(root.rglob("*.py")):
        parts = [package, *f.relative_to(root).with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (anywhere in its source)."""
    mods = module_names(root, package)
    graph = {}
    for name, (f, is_pkg) in mods.items():
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        deps = set()
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else []))
                targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
            else:
                continue
            deps.update(t for t in targets if t in mods and t != name)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first = last), or None (iterative DFS)."""
    state = {}  # 1 = on the stack, 2 = done
    for start in sorted(graph):
        if start in state:
            continue
        stack, path = [(start, iter(sorted(graph[start])))], [start]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
    return None


def test_no_import_cycle_in_edgefm():
    graph = import_graph(PKG, "edgefm")
    assert len(graph) > 50 and sum(map(len, graph.values())) > 80  # the walk sees the package
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_cycle_finder_finds_function_level_and_relative_cycles(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import g\n")
    (pkg / "c.py").write_text("import pkg.d\n")
    (pkg / "d.py").write_text("x = 1\n")
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.a"] == {"pkg.sub", "pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.c"}
    assert find_cycle(graph) is None
    (pkg / "d.py").write_text("def h():\n    from .sub.b import f\n")
    cycle = find_cycle(import_graph(pkg, "pkg"))
    assert cycle is not None and cycle[0] == cycle[-1]
    assert set(cycle) == {"pkg.sub.b", "pkg.c", "pkg.d"}


@pytest.mark.parametrize("module, allowed", [
    # the E14 model imports no solver: only the mean profile and the MILP container below it
    ("edgefm.placement.model", {"edgefm.placement.profile", "edgefm.placement.milp"}),
    # a facility problem's data and program do not know how they are solved
    ("edgefm.placement.facility", {"edgefm.placement.milp"}),
])
def test_models_sit_below_their_solvers(module, allowed):
    inside = {m for m in import_graph(PKG, "edgefm")[module] if m.startswith("edgefm.placement")}
    assert inside <= allowed, f"{module} imports {sorted(inside - allowed)}"


def test_delay_above_capacity_and_traces_above_arrivals():
    graph = import_graph(PKG, "edgefm")
    assert "edgefm.capacity" in graph["edgefm.delay"] and "edgefm.delay" not in graph["edgefm.capacity"]
    assert "edgefm.workload" not in graph["edgefm.traces"]
    assert "edgefm.arrivals" in graph["edgefm.traces"] and "edgefm.arrivals" in graph["edgefm.workload"]


def test_top_level_holds_no_cli_modules():
    assert not sorted(p.name for p in PKG.glob("cli*.py"))
    assert (PKG / "cli" / "__init__.py").is_file()


def test_no_private_names_imported_across_modules():
    """``from .x import _private`` couples a module to another's internals (issue 14, item 3)."""
    mods = module_names(PKG, "edgefm")
    bad = []
    for name, (f, is_pkg) in mods.items():
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("edgefm")):
                base = here[: len(here) - node.level + 1] if node.level else []
                src = ".".join(base + ([node.module] if node.module else []))
                # a package's private sub-module (``from . import _kernels``) is the package's own business
                bad += [f"{name}: {a.name}" for a in node.names if a.name.startswith("_") and a.name != "__version__"
                        and f"{src}.{a.name}" not in mods]
    assert not bad, bad
