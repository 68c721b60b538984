"""Sweep files: the YAML grid of a parameter sweep, validated when it is read (:func:`load_sweep`).

The format is in :mod:`edgefm.experiments.sweep`, which runs the cells. Every check here happens before
any cell runs and fails with one :class:`~edgefm.errors.ScenarioError` naming the file, the field and
the reason: the grid (seeds, methods, loads, horizons), the overrides (arrivals, variants, failure
windows on nodes of the scenario, controller parameters and their values), the quick block and the
plug-in modules; a failure after a cell's arrival horizon warns with its file and field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SweepSpec", "load_sweep"]

_OVERRIDE_KEYS = ("horizon_slots", "arrivals", "variant", "controller", "failures")
_ARRIVALS = ("poisson", "mmpp", "code", "conv")
_QUICK_KEYS = ("seeds", "methods", "loads", "horizon_slots")


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file: the grid of cells and its quick-mode replacement."""

    name: str
    scenario: str
    seeds: tuple
    methods: tuple
    loads: tuple
    overrides: tuple = ({},)
    quick: dict = field(default_factory=dict)
    source: str | None = None
    plugins: tuple = ()


def _err(reason, fld, src):
    from ..errors import ScenarioError

    return ScenarioError(reason, field=fld, source=src)


def _seeds(val, fld, src) -> tuple:
    if isinstance(val, dict):
        if set(val) - {"start", "count"} or "count" not in val:
            raise _err(f"expected a list or {{start, count}}, got {val!r}", fld, src)
        start, count = val.get("start", 0), val["count"]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, count)) or count < 1 or start < 0:
            raise _err(f"start and count must be integers, start >= 0, count >= 1, got {val!r}", fld, src)
        return tuple(range(start, start + count))
    if not isinstance(val, list) or not val or not all(isinstance(v, int) and not isinstance(v, bool) for v in val):
        raise _err(f"expected a non-empty list of integers or {{start, count}}, got {val!r}", fld, src)
    for i, v in enumerate(val):
        if v < 0:
            raise _err(f"seeds must be >= 0, got {v}", f"{fld}[{i}]", src)
    return tuple(val)


def _methods(val, fld, src) -> tuple:
    from ..control import REGISTRY

    if not isinstance(val, list) or not val:
        raise _err(f"expected a non-empty list of methods, got {val!r}", fld, src)
    for i, m in enumerate(val):
        if m not in REGISTRY:
            raise _err(f"unknown method {m!r} (choose from {', '.join(REGISTRY)}; a method of your own needs "
                       f"its module in plugins)", f"{fld}[{i}]", src)
    return tuple(val)


def _loads(val, fld, src) -> tuple:
    if not isinstance(val, list) or not val:
        raise _err(f"expected a non-empty list of load multipliers, got {val!r}", fld, src)
    from ..scenario.schema import check_load

    for i, v in enumerate(val):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < v < math.inf):
            raise _err(f"must be a finite number > 0, got {v!r}", f"{fld}[{i}]", src)
        check_load(v, f"{fld}[{i}]", src)  # the limit of a scenario file's load and of --load
    return tuple(float(v) for v in val)


def _horizon(v, fld, src) -> int:
    from ..scenario.schema import check_horizon

    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise _err(f"must be an integer >= 1, got {v!r}", fld, src)
    return check_horizon(v, fld, src)  # the limit of a scenario file's horizon_slots and of --slots


def _override(val, fld, src, nodes=()) -> dict:
    if not isinstance(val, dict):
        raise _err(f"expected a mapping, got {val!r}", fld, src)
    for k, v in val.items():
        f = f"{fld}.{k}"
        if k not in _OVERRIDE_KEYS:
            raise _err(f"unknown key (choose from {', '.join(_OVERRIDE_KEYS)})", f, src)
        if k == "horizon_slots":
            _horizon(v, f, src)
        elif k == "arrivals" and v not in _ARRIVALS:
            raise _err(f"must be one of {', '.join(_ARRIVALS)}, got {v!r}", f, src)
        elif k == "variant" and v not in ("literal", "bounded", None):
            raise _err(f"must be literal or bounded, got {v!r}", f, src)
        elif k == "controller" and not isinstance(v, dict):
            raise _err(f"expected a mapping of controller parameters, got {v!r}", f, src)
        elif k == "failures":
            _failures(v, f, src, nodes)
    return dict(val)


def _failures(val, fld, src, nodes) -> None:
    """A list of ``NODE@MS[:UNTIL_MS]`` with the window rules of :mod:`edgefm.sim.failures` and known nodes."""
    from ..errors import ScenarioError
    from ..sim.failures import split_failure

    if not isinstance(val, list):
        raise _err(f"expected a list of NODE@MS[:UNTIL_MS], got {val!r}", fld, src)
    for i, text in enumerate(val):
        try:
            node, _, _ = split_failure(text)
        except ScenarioError as exc:
            raise _err(exc.reason, f"{fld}[{i}]", src) from None
        if not (node.isdigit() and int(node) < len(nodes)) and node not in nodes:
            raise _err(f"unknown node {node!r} (nodes: {', '.join(nodes)})", f"{fld}[{i}]", src)


def _late_failures(overrides, scen_spec, quick_horizon, src) -> None:
    """Warn (:class:`~edgefm.errors.ScenarioWarning`, naming the file and field) about a failure that
    starts at or after the arrival horizon of its cells: it has no effect on their arrivals. The
    horizon is the override's ``horizon_slots``, else the scenario's; the quick block's is checked too."""
    import warnings

    from ..errors import ScenarioWarning
    from ..sim.failures import split_failure

    for i, o in enumerate(overrides):
        end = o.get("horizon_slots", scen_spec.horizon_slots) * scen_spec.slot_ms
        qend = None if quick_horizon is None else quick_horizon * scen_spec.slot_ms
        for j, text in enumerate(o.get("failures", ())):
            node, at, _ = split_failure(text)
            if at >= end:
                why = f"starts after the arrival horizon ({end:g} ms) and has no effect on the arrivals"
            elif qend is not None and at >= qend:
                why = f"starts after the quick block's arrival horizon ({qend:g} ms): no effect with --quick"
            else:
                continue
            warnings.warn(f"{src}: overrides[{i}].failures[{j}]: failure of node {node} at {at:g} ms {why}",
                          ScenarioWarning, stacklevel=3)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep YAML file; errors are :class:`~edgefm.errors.ScenarioError`."""
    import yaml

    from ..scenario.yamlfile import load_yaml

    path = Path(path)
    src = path.name
    try:
        raw = load_yaml(path.read_text())
    except FileNotFoundError:
        raise _err(f"sweep file not found at {path}", None, src) from None
    except yaml.YAMLError as exc:
        raise _err(f"not valid YAML ({str(exc).splitlines()[0]})", None, src) from None
    if not isinstance(raw, dict):
        raise _err("expected a mapping at the top level", None, src)
    allowed = {"name", "scenario", "seeds", "methods", "loads", "overrides", "quick", "description", "plugins"}
    for k in raw:
        if k not in allowed:
            raise _err(f"unknown key (choose from {', '.join(sorted(allowed))})", str(k), src)
    for k in ("name", "scenario", "seeds", "methods", "loads"):
        if k not in raw:
            raise _err("required key is missing", k, src)
    plugins = raw.get("plugins") or []
    if not isinstance(plugins, list) or not all(isinstance(p, str) and p for p in plugins):
        raise _err(f"expected a list of module names, got {plugins!r}", "plugins", src)
    for i, mod in enumerate(plugins):
        _import_plugin(mod, f"plugins[{i}]", src)
    name = raw["name"]
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "-_." for c in name):
        raise _err(f"must be a non-empty name of letters, digits, - _ ., got {name!r}", "name", src)
    scen = raw["scenario"]
    if not isinstance(scen, str):
        raise _err(f"expected a path, got {scen!r}", "scenario", src)
    from ..paths import project_root

    cands = [Path(scen)] if Path(scen).is_absolute() else [project_root() / scen, path.parent / scen]
    found = next((c for c in cands if c.is_file()), None)
    if found is None:
        raise _err(f"scenario file not found (looked at {', '.join(map(str, cands))})", "scenario", src)
    ov = raw.get("overrides", [{}])
    if not isinstance(ov, list) or not ov:
        raise _err(f"expected a non-empty list of mappings, got {ov!r}", "overrides", src)
    from ..scenario.spec import load_spec

    scen_spec = load_spec(found)
    nodes = tuple(n.name for n in scen_spec.nodes)
    overrides = tuple(_override(o, f"overrides[{i}]", src, nodes) for i, o in enumerate(ov))
    quick = raw.get("quick") or {}
    if not isinstance(quick, dict):
        raise _err(f"expected a mapping, got {quick!r}", "quick", src)
    q = {}
    for k, v in quick.items():
        if k not in _QUICK_KEYS:
            raise _err(f"unknown key (choose from {', '.join(_QUICK_KEYS)})", f"quick.{k}", src)
        q[k] = {"seeds": _seeds, "methods": _methods, "loads": _loads, "horizon_slots": _horizon}[k](
            v, f"quick.{k}", src)
    methods = _methods(raw["methods"], "methods", src)
    _late_failures(overrides, scen_spec, q.get("horizon_slots"), src)
    for i, o in enumerate(overrides):
        _controller_keys(o.get("controller") or {}, set(methods) | set(q.get("methods", ())),
                         f"overrides[{i}].controller", src)
    for i, o in enumerate(overrides):
        _controller_values(o.get("controller") or {}, set(methods) | set(q.get("methods", ())), scen_spec,
                           f"overrides[{i}].controller", src)
    return SweepSpec(name=name, scenario=str(found.resolve()), seeds=_seeds(raw["seeds"], "seeds", src),
                     methods=methods, loads=_loads(raw["loads"], "loads", src),
                     overrides=overrides, quick=q, source=str(path), plugins=tuple(plugins))


def _import_plugin(mod: str, fld, src) -> None:
    """Import a user module that registers methods (:func:`edgefm.register_method`)."""
    import importlib

    try:
        importlib.import_module(mod)
    except ModuleNotFoundError as exc:
        raise _err(f"no module named {exc.name!r} (is it on PYTHONPATH?)", fld, src) from None
    except Exception as exc:  # a user's module: one line
        raise _err(f"importing {mod!r} failed: {type(exc).__name__}: {exc}", fld, src) from None


def _controller_keys(params: dict, methods, fld, src) -> None:
    """Every controller override must be a constructor parameter of every method it reaches."""
    from ..control import REGISTRY

    for name in sorted(methods, key=list(REGISTRY).index):
        accepted = REGISTRY[name].parameters()
        if accepted is None:
            continue
        for k in params:
            if k not in accepted:
                raise _err(f"not a parameter of method {name} (it takes: {', '.join(accepted) or 'none'})",
                           f"{fld}.{k}", src)


def _controller_values(params: dict, methods, scen_spec, fld, src) -> None:
    """Controller override values a method rejects, caught at load rather than after its cells ran.

    Two cheap checks per method: its constructor with the values (its own argument checks), and, for a
    method that runs on a core placement (not on an E24 plan, whose solve is not cheap), a dry run of 2
    slots of draw 0 on the greedy placement. A dry run is judged only when the same run without the
    values succeeds, so a draw on which the method cannot run anyway rejects nothing here. The field
    named is the parameter to blame when one alone fails, else the whole mapping.
    """
    if not params:
        return
    import warnings

    from ..control import REGISTRY
    from .runner import PLAN_SOLVERS, run_method

    def one_line(exc):
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")

    state = {}

    def dry(name, values):
        """The exception of a 2-slot run of ``name`` with controller ``values``, or None."""
        if "x" not in state:
            from ..placement.greedy import greedy_placement
            from ..scenario.sample import sample_scenario

            try:
                state["sc"] = sample_scenario(scen_spec, seed=0)
                state["x"] = greedy_placement(state["sc"]).x
            except Exception:  # no cheap placement of this draw: nothing to judge by
                state["x"] = None
        if state["x"] is None:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_method(state["sc"], name, seed=0, n_slots=2, placement=state["x"], overrides=dict(values))
        except Exception as exc:
            return exc
        return None

    for name in sorted(methods, key=list(REGISTRY).index):
        spec = REGISTRY[name]
        try:
            spec.make(None, **params)
        except Exception as exc:
            raise _err(f"method {name} rejects these values ({one_line(exc)})", fld, src) from None
        if spec.placement in PLAN_SOLVERS or callable(spec.placement):
            continue
        exc = dry(name, params)
        if exc is None or dry(name, {}) is not None:
            continue
        blame = [k for k in params if dry(name, {k: params[k]}) is not None]
        where = f"{fld}.{blame[0]}" if len(blame) == 1 else fld
        raise _err(f"method {name} cannot run with {', '.join(f'{k}={params[k]!r}' for k in (blame or params))} "
                   f"(a 2-slot dry run raised {one_line(exc)})", where, src)
