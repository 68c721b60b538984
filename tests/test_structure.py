"""The package's imports go one way: no circle between modules of ``edgefm`` (issue 14).

Every ``import`` statement counts, at module level or inside a function (a lazy import is still a
dependency a reader must follow). An edge goes from a module to each ``edgefm`` module it names:
``from .x import y`` names ``x`` and, when ``y`` is a sub-module, ``x.y``. A sub-module's implicit
import of its parent package is not an edge (every module would otherwise depend on ``edgefm``).

Imports that no ``import`` statement spells count too:

* a lazy re-export table (a module-level ``_LAZY`` dict whose values are ``"module"`` or
  ``("module", "attr")``, as in ``edgefm/__init__.py``): an edge from the module holding the table
  to every module it names, so ``import edgefm`` (or ``from .. import x``) depends on them all;
* a method registry's ``"module:Class"`` string (``MethodSpec(name, "deadline:EdgeFMController",
  ...)``, ``register_method(name, "mod:Class", ...)``): an edge from the calling module to the
  module, resolved as :meth:`edgefm.control.MethodSpec.controller_class` does (a sub-module of the
  module defining ``MethodSpec`` first, else an absolute name);
* ``importlib.import_module("literal")`` (or ``import_module``/``__import__``) with a literal name:
  an edge from the calling module to that module.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

import edgefm

PKG = Path(edgefm.__file__).resolve().parent


@lru_cache(maxsize=None)
def parse(text: str, filename: str) -> ast.Module:
    """``ast.parse``, once per source text (the tests walk the same ~100 files several times)."""
    return ast.parse(text, filename)


def module_names(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is_package) for every ``.py`` file under ``root``."""
    out = {}
    for f in sorted(root.rglob("*.py")):
        parts = [package, *f.relative_to(root).with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


LAZY_TABLE = "_LAZY"  # module-level name of a lazy re-export table
REGISTRY_CALLS = {"MethodSpec": ("target", 1), "register_method": ("controller", 1)}  # call -> target arg
REGISTRY_CLASS = "MethodSpec"  # "module:Class" strings resolve against the module defining it
IMPORT_CALLS = {"import_module", "__import__"}


def _resolve(name: str, here: list[str], package=None) -> str:
    """Absolute dotted name of an import string (``".x"`` relative to ``package`` or ``here``)."""
    if not name.startswith("."):
        return name
    level = len(name) - len(name.lstrip("."))
    base = (package.split(".") if package else here)
    base = base[: len(base) - level + 1]
    return ".".join(base + ([name.lstrip(".")] if name.lstrip(".") else []))


def _string(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _call_arg(node: ast.Call, keyword: str, pos: int):
    for kw in node.keywords:
        if kw.arg == keyword:
            return kw.value
    return node.args[pos] if len(node.args) > pos else None


def _lazy_targets(tree: ast.Module, here: list[str]) -> list[str]:
    """Modules named by a module-level ``_LAZY = {name: "module" | ("module", "attr")}`` table."""
    out = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names, value = [t.id for t in node.targets if isinstance(t, ast.Name)], node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names, value = [node.target.id], node.value
        else:
            continue
        if LAZY_TABLE not in names or not isinstance(value, ast.Dict):
            continue
        for v in value.values:
            first = v.elts[0] if isinstance(v, (ast.Tuple, ast.List)) and v.elts else v
            if (mod := _string(first)) is not None:
                out.append(_resolve(mod, here))
    return out


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (anywhere in its source, or via the tables above)."""
    mods = module_names(root, package)
    trees = {name: parse(f.read_text(), str(f)) for name, (f, _) in mods.items()}
    registry_base = next((name for name, tree in trees.items() for n in ast.walk(tree)
                          if isinstance(n, ast.ClassDef) and n.name == REGISTRY_CLASS), None)
    graph = {}
    for name, (f, is_pkg) in mods.items():
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        targets = _lazy_targets(trees[name], here)
        for node in ast.walk(trees[name]):
            if isinstance(node, ast.Import):
                targets += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else []))
                targets += [mod] + [f"{mod}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Call) and (call := _call_name(node)) in IMPORT_CALLS:
                if (mod := _string(_call_arg(node, "name", 0))) is not None:
                    pkg = _call_arg(node, "package", 1) if call == "import_module" else None
                    anchor = {"__name__": name, "__package__": ".".join(here)}.get(getattr(pkg, "id", None),
                                                                                  _string(pkg))
                    targets.append(_resolve(mod, here, anchor))
            elif isinstance(node, ast.Call) and (call := _call_name(node)) in REGISTRY_CALLS:
                spec = _string(_call_arg(node, *REGISTRY_CALLS[call]))
                if spec is not None and ":" in spec:
                    mod = spec.partition(":")[0]
                    local = f"{registry_base or '.'.join(here)}.{mod}"
                    targets.append(local if "." not in mod and local in mods else mod)
        graph[name] = {t for t in targets if t in mods and t != name}
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


def test_cycle_finder_follows_lazy_tables(tmp_path):
    """A package's ``_LAZY`` table is an edge to every module it names: ``from .. import x`` in one of
    them closes a circle through the package top (the ``__version__`` loop of issue 14)."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('_LAZY = {"run": "pkg.runner", "f": ("pkg.sub.b", "f")}\n')
    (pkg / "sub" / "__init__.py").write_text('_LAZY: dict = {"g": (".b", "g")}\n')  # relative to pkg.sub
    (pkg / "sub" / "b.py").write_text("def f():\n    pass\n")
    (pkg / "runner.py").write_text("def run():\n    from ._version import __version__\n")
    (pkg / "_version.py").write_text('__version__ = "1.0"\n')
    graph = import_graph(pkg, "pkg")
    assert graph["pkg"] == {"pkg.runner", "pkg.sub.b"} and graph["pkg.sub"] == {"pkg.sub.b"}
    assert graph["pkg.runner"] == {"pkg._version"}
    assert find_cycle(graph) is None
    (pkg / "runner.py").write_text("def run():\n    from . import __version__\n")
    cycle = find_cycle(import_graph(pkg, "pkg"))
    assert cycle is not None and set(cycle) == {"pkg", "pkg.runner"}
    (pkg / "runner.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    import pkg\n    return pkg.run\n")
    cycle = find_cycle(import_graph(pkg, "pkg"))
    assert cycle is not None and set(cycle) == {"pkg", "pkg.sub.b"}


def test_cycle_finder_follows_registry_strings_and_import_module(tmp_path):
    """``MethodSpec(name, "module:Class")`` (resolved in the package defining ``MethodSpec``, else
    absolute) and ``importlib.import_module("literal")`` are edges too."""
    pkg = tmp_path / "pkg"
    (pkg / "ctl").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "ctl" / "__init__.py").write_text(
        "from importlib import import_module\n\nclass MethodSpec:\n    pass\n\n"
        'REGISTRY = {"a": MethodSpec("a", "impl:Ctl", "scip"), "b": MethodSpec("b", target="pkg.ext:Ctl")}\n')
    (pkg / "ctl" / "impl.py").write_text("class Ctl:\n    pass\n")
    (pkg / "ext.py").write_text("class Ctl:\n    pass\n")
    (pkg / "loader.py").write_text(
        'import importlib\n\ndef load(name):\n    importlib.import_module("pkg.ext")\n'
        '    importlib.import_module(".ctl.impl", package=__package__)\n    importlib.import_module(name)\n')
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.ctl"] == {"pkg.ctl.impl", "pkg.ext"}
    assert graph["pkg.loader"] == {"pkg.ext", "pkg.ctl.impl"}
    assert find_cycle(graph) is None
    (pkg / "ctl" / "impl.py").write_text("def f():\n    from . import REGISTRY\n")
    cycle = find_cycle(import_graph(pkg, "pkg"))
    assert cycle is not None and set(cycle) == {"pkg.ctl", "pkg.ctl.impl"}
    (pkg / "ctl" / "impl.py").write_text("")
    (pkg / "ext.py").write_text('def f():\n    __import__("pkg.loader")\n')
    cycle = find_cycle(import_graph(pkg, "pkg"))
    assert cycle is not None and set(cycle) == {"pkg.ext", "pkg.loader"}


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
        for node in ast.walk(parse(f.read_text(), str(f))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("edgefm")):
                base = here[: len(here) - node.level + 1] if node.level else []
                src = ".".join(base + ([node.module] if node.module else []))
                # a package's private sub-module (``from . import _kernels``) is the package's own business
                bad += [f"{name}: {a.name}" for a in node.names if a.name.startswith("_") and a.name != "__version__"
                        and f"{src}.{a.name}" not in mods]
    assert not bad, bad
