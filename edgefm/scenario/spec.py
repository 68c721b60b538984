"""Scenario files: YAML loading with strict validation.

A scenario file describes a *family* of scenarios: any number may be given as
a scalar or as a range ``[lo, hi]`` to be sampled uniformly (Table I of the
paper). :func:`load_spec` reads and validates a file into a
:class:`ScenarioSpec`; :func:`edgefm.scenario.sample_scenario` draws a concrete
:class:`~edgefm.scenario.schema.Scenario` from it for a seed.

Every problem is reported as one :class:`~edgefm.errors.ScenarioError` line
naming the file, the field path and the reason, e.g.::

    paper.yaml: microservices[3].work_mb: must be >= 0, got -1.0

File layout (see ``data/scenarios/paper.yaml`` for a complete example)::

    name, slot_ms, horizon_slots, load
    node_classes: {CLASS: {kind: ES|ED, capacity: {cpu, ram, gpu, vram}}}
    nodes: [{name, class, capacity?}]
    links: {rate, propagation, edges: [[u, v] | {u, v, rate?, propagation?}]}
    ms_classes: {core: {...}, light: {...}}     # defaults per kind
    microservices: [{name, kind, <any ms_classes field>?}]
    task_types: {input_mb, deadline_ms, types: [{name, edges | stages, input_mb?, deadline_ms?}]}
    users: {rate_per_ms, list: [{name, gateway, rate_per_ms?}] | per_node_kind: ED}
    uplink?, placement?, control?
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import networkx as nx

from ..errors import ScenarioError, ScenarioWarning
from .schema import MAX_HORIZON, MAX_LOAD, RESOURCES, ControlParams, PlacementParams, Uplink, check_horizon, check_load

__all__ = ["Range", "ScenarioSpec", "load_spec", "spec_from_dict", "check_load", "check_horizon", "MAX_VALUE",
           "MIN_POSITIVE", "MAX_HORIZON", "MAX_LOAD"]

#: Largest magnitude of any number in a scenario file. Rates, work, payloads, capacities and costs
#: are multiplied together (occupancy = rate x work / speed, cost over the horizon, Poisson means per
#: slot); at 1e12 each such product stays far inside float range and integer counts stay exact.
MAX_VALUE = 1e12
#: Smallest link rate and mean service rate (MB/ms): a transfer or service time is a size divided
#: by such a rate, and below 1e-9 it leaves the range in which the slotted engine's times (ms,
#: float64) keep their resolution.
MIN_POSITIVE = 1e-9


@dataclass(frozen=True)
class Range:
    """A closed interval [lo, hi]; lo == hi is a fixed value."""

    lo: float
    hi: float

    @property
    def fixed(self) -> bool:
        return self.lo == self.hi

    def draw(self, u: float) -> float:
        """Map a uniform draw u ∈ [0, 1) into the interval."""
        return self.lo if self.fixed else self.lo + (self.hi - self.lo) * u


@dataclass(frozen=True)
class MSSpec:
    name: str
    kind: str
    resources: tuple[Range, ...]
    work: Range
    output: Range
    rate: Range | None
    shape: Range | None
    scale: Range | None
    cost_deploy: float
    cost_maintain: float
    cost_parallel: float


@dataclass(frozen=True)
class TaskSpec:
    name: str
    stages: tuple[str, ...]  # topological order
    child: tuple[int, ...]
    input_mb: Range
    deadline_ms: Range


@dataclass(frozen=True)
class NodeSpec:
    name: str
    kind: str
    capacity: tuple[Range, ...]


@dataclass(frozen=True)
class LinkSpec:
    u: str
    v: str
    rate: Range
    propagation: Range


@dataclass(frozen=True)
class UserSpec:
    name: str
    gateway: str
    rates: tuple[Range, ...]  # one per task type


@dataclass(frozen=True)
class ScenarioSpec:
    """A validated scenario file: names resolved, numbers as :class:`Range`."""

    name: str
    nodes: tuple[NodeSpec, ...]
    links: tuple[LinkSpec, ...]
    microservices: tuple[MSSpec, ...]
    task_types: tuple[TaskSpec, ...]
    users: tuple[UserSpec, ...]
    slot_ms: float = 1.0
    horizon_slots: int = 1000
    load: float = 1.0
    uplink: Uplink = field(default_factory=Uplink)
    placement: PlacementParams = field(default_factory=PlacementParams)
    control: ControlParams = field(default_factory=ControlParams)
    source: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


# --------------------------------------------------------------------------- helpers
class _Ctx:
    """Carries the file name for error messages."""

    def __init__(self, source: str | None):
        self.source = source

    def fail(self, path: str, reason: str):
        raise ScenarioError(reason, field=path, source=self.source)

    # -- structure
    def mapping(self, obj, path, required=(), optional=()) -> dict:
        if not isinstance(obj, dict):
            self.fail(path, f"must be a mapping, got {type(obj).__name__}")
        for k in obj:
            if not isinstance(k, str):
                self.fail(path, f"keys must be strings, got {k!r}")
        for k in required:
            if k not in obj:
                self.fail(f"{path}.{k}" if path else k, "missing required field")
        allowed = set(required) | set(optional)
        for k in obj if allowed else ():
            if k not in allowed:
                self.fail(f"{path}.{k}" if path else k,
                          f"unknown field (allowed: {', '.join(sorted(allowed))})")
        return obj

    def seq(self, obj, path, nonempty=True) -> list:
        if not isinstance(obj, list):
            self.fail(path, f"must be a list, got {type(obj).__name__}")
        if nonempty and not obj:
            self.fail(path, "must not be empty")
        return obj

    def name(self, obj, path) -> str:
        if not isinstance(obj, str) or not obj.strip():
            self.fail(path, f"must be a non-empty string, got {obj!r}")
        return obj

    # -- numbers
    def number(self, obj, path, lo=0.0, strict=False, floor=None) -> float:
        if isinstance(obj, bool) or not isinstance(obj, (int, float)):
            self.fail(path, f"must be a number, got {obj!r}")
        try:
            x = float(obj)
        except OverflowError:
            self.fail(path, "must be finite, got an integer too large for a float")
        if math.isnan(x):
            self.fail(path, "must be a number, got NaN")
        if math.isinf(x):
            self.fail(path, f"must be finite, got {x}")
        if lo is not None and (x <= lo if strict else x < lo):
            self.fail(path, f"must be {'>' if strict else '>='} {lo:g}, got {x:g}")
        if abs(x) > MAX_VALUE:
            self.fail(path, f"must be at most {MAX_VALUE:g} in size, got {x:g} (larger values overflow the "
                            f"simulation's arithmetic)")
        if floor is not None and x < floor:
            self.fail(path, f"must be at least {floor:g}, got {x:g} (smaller rates make delays overflow)")
        return x

    def integer(self, obj, path, lo=0) -> int:
        if isinstance(obj, bool) or not isinstance(obj, int):
            self.fail(path, f"must be an integer, got {obj!r}")
        if obj < lo:
            self.fail(path, f"must be >= {lo}, got {obj}")
        return int(obj)

    def range(self, obj, path, lo=0.0, strict=False, floor=None) -> Range:
        if isinstance(obj, list):
            if len(obj) != 2:
                self.fail(path, f"a range must be [lo, hi], got {len(obj)} values")
            a = self.number(obj[0], f"{path}[0]", lo, strict, floor)
            b = self.number(obj[1], f"{path}[1]", lo, strict, floor)
            if a > b:
                self.fail(path, f"empty range: lo {a:g} > hi {b:g}")
            return Range(a, b)
        x = self.number(obj, path, lo, strict, floor)
        return Range(x, x)

    def resources(self, obj, path) -> tuple[Range, ...]:
        self.mapping(obj, path, required=RESOURCES)
        return tuple(self.range(obj[k], f"{path}.{k}") for k in RESOURCES)

    def params(self, cls, obj, path):
        """Fill a frozen parameter dataclass from a mapping, checking types."""
        if obj is None:
            return cls()
        names = {f.name: f for f in fields(cls)}
        self.mapping(obj, path, optional=names)
        kw = {}
        for k, v in obj.items():
            default = getattr(cls(), k)
            p = f"{path}.{k}"
            if k == "kappa":
                kw[k] = None if v in (None, "search") else self.integer(v, p)
            elif isinstance(default, bool):
                if not isinstance(v, bool):
                    self.fail(p, f"must be true or false, got {v!r}")
                kw[k] = v
            elif isinstance(default, int):
                kw[k] = self.integer(v, p)
            elif isinstance(default, float):
                kw[k] = self.number(v, p, lo=None if k == "u_min" else 0.0)
            else:
                kw[k] = self.name(v, p)
        out = cls(**kw)
        if cls is PlacementParams:
            if out.variant not in ("literal", "bounded"):
                self.fail(f"{path}.variant", f"must be 'literal' or 'bounded', got {out.variant!r}")
            if not 0 <= out.rho <= 1:
                self.fail(f"{path}.rho", f"must be in [0, 1], got {out.rho:g}")
        if cls is ControlParams:
            if not 0 < out.epsilon < 1:
                self.fail(f"{path}.epsilon", f"must be in (0, 1), got {out.epsilon:g}")
            if out.y_max < 1:
                self.fail(f"{path}.y_max", f"must be >= 1, got {out.y_max}")
        return out


_MS_FIELDS = ("resources", "work_mb", "output_mb", "rate", "shape", "scale", "cost")


def _ms_spec(c: _Ctx, entry: dict, path: str, classes: dict) -> MSSpec:
    c.mapping(entry, path, required=("name", "kind"), optional=_MS_FIELDS)
    name = c.name(entry["name"], f"{path}.name")
    kind = entry["kind"]
    if kind not in ("core", "light"):
        c.fail(f"{path}.kind", f"must be 'core' or 'light', got {kind!r}")
    merged = {**classes.get(kind, {}), **{k: v for k, v in entry.items() if k not in ("name", "kind")}}

    def get(key):
        if key not in merged:
            c.fail(f"{path}.{key}", f"missing (not in the entry nor in ms_classes.{kind})")
        where = f"{path}.{key}" if key in entry else f"ms_classes.{kind}.{key}"
        return merged[key], where

    res, w = get("resources")
    resources = c.resources(res, w)
    work = c.range(*get("work_mb"), strict=True)
    output = c.range(*get("output_mb"))
    rate = shape = scale = None
    if kind == "core":
        rate = c.range(*get("rate"), strict=True, floor=MIN_POSITIVE)
    else:
        shape = c.range(*get("shape"), strict=True)
        scale = c.range(*get("scale"), strict=True)
        if shape.lo * scale.lo < MIN_POSITIVE:
            c.fail(get("scale")[1], f"the mean service rate shape x scale must be at least {MIN_POSITIVE:g} MB/ms, "
                                    f"got {shape.lo * scale.lo:g} (smaller rates make delays overflow)")
    cost, w = get("cost")
    c.mapping(cost, w, required=("deploy", "maintain"), optional=("parallel",))
    return MSSpec(name, kind, resources, work, output, rate, shape, scale,
                  c.number(cost["deploy"], f"{w}.deploy"),
                  c.number(cost["maintain"], f"{w}.maintain"),
                  c.number(cost.get("parallel", 0.0), f"{w}.parallel"))


def _task_spec(c: _Ctx, entry: dict, path: str, ms_names: set, defaults: dict) -> TaskSpec:
    c.mapping(entry, path, required=("name",), optional=("edges", "stages", "input_mb", "deadline_ms"))
    name = c.name(entry["name"], f"{path}.name")
    g = nx.DiGraph()
    for i, s in enumerate(c.seq(entry.get("stages", []), f"{path}.stages", nonempty=False)):
        g.add_node(c.name(s, f"{path}.stages[{i}]"))
    staged = set(g.nodes)
    for i, e in enumerate(c.seq(entry.get("edges", []), f"{path}.edges", nonempty=False)):
        if not (isinstance(e, list) and len(e) == 2):
            c.fail(f"{path}.edges[{i}]", f"must be [parent, child], got {e!r}")
        p, ch = (c.name(x, f"{path}.edges[{i}]") for x in e)
        if p == ch:
            c.fail(f"{path}.edges[{i}]", f"self-loop on {p!r}: the DAG has a cycle")
        g.add_edge(p, ch)
    if g.number_of_nodes() == 0:
        c.fail(path, "a task type needs 'edges' or 'stages'")
    for s in g.nodes:
        if s not in ms_names:
            c.fail(f"{path}.stages" if s in staged else f"{path}.edges",
                   f"microservice {s!r} is used but not defined in microservices")
    if not nx.is_directed_acyclic_graph(g):
        cyc = " -> ".join(u for u, _ in nx.find_cycle(g))
        c.fail(f"{path}.edges", f"the DAG has a cycle ({cyc})")
    for s in g.nodes:
        if g.out_degree(s) > 1:
            c.fail(f"{path}.edges", f"not an inverse tree: {s!r} feeds {g.out_degree(s)} children "
                                    f"({', '.join(sorted(g.successors(s)))}); each MS may have one child")
    sinks = [s for s in g.nodes if g.out_degree(s) == 0]
    if len(sinks) != 1:
        c.fail(f"{path}.edges", f"not an inverse tree: {len(sinks)} sinks ({', '.join(sorted(sinks))}), need exactly one")
    order = list(nx.lexicographical_topological_sort(g))
    pos = {s: i for i, s in enumerate(order)}
    child = tuple(pos[next(iter(g.successors(s)))] if g.out_degree(s) else -1 for s in order)
    merged = {**defaults, **entry}
    for k in ("input_mb", "deadline_ms"):
        if k not in merged:
            c.fail(f"{path}.{k}", "missing (not in the entry nor in task_types defaults)")
    where = lambda k: f"{path}.{k}" if k in entry else f"task_types.{k}"  # noqa: E731
    return TaskSpec(name, tuple(order), child,
                    c.range(merged["input_mb"], where("input_mb")),
                    c.range(merged["deadline_ms"], where("deadline_ms"), strict=True))


def _unique(c: _Ctx, names, path):
    seen = set()
    for i, n in enumerate(names):
        if n in seen:
            c.fail(f"{path}[{i}].name", f"duplicate name {n!r}")
        seen.add(n)


# --------------------------------------------------------------------------- main
def spec_from_dict(doc: Any, source: str | None = None) -> ScenarioSpec:
    """Validate a parsed scenario document (see the module docstring)."""
    c = _Ctx(source)
    top_req = ("name", "node_classes", "nodes", "links", "ms_classes", "microservices", "task_types", "users")
    top_opt = ("description", "reference", "slot_ms", "horizon_slots", "load", "uplink", "placement", "control")
    c.mapping(doc, "", required=top_req, optional=top_opt)
    name = c.name(doc["name"], "name")
    slot = c.number(doc.get("slot_ms", 1.0), "slot_ms", strict=True)
    horizon = check_horizon(c.integer(doc.get("horizon_slots", 1000), "horizon_slots", lo=1), "horizon_slots", source)
    load = check_load(c.number(doc.get("load", 1.0), "load"), "load", source)

    # nodes
    classes = c.mapping(doc["node_classes"], "node_classes")
    for k, v in classes.items():
        c.mapping(v, f"node_classes.{k}", required=("kind",), optional=("capacity",))
        if v["kind"] not in ("ES", "ED"):
            c.fail(f"node_classes.{k}.kind", f"must be 'ES' or 'ED', got {v['kind']!r}")
    nodes = []
    for i, e in enumerate(c.seq(doc["nodes"], "nodes")):
        p = f"nodes[{i}]"
        c.mapping(e, p, required=("name",), optional=("class", "kind", "capacity"))
        cls = e.get("class")
        if cls is not None and (not isinstance(cls, str) or cls not in classes):
            c.fail(f"{p}.class", f"unknown node class {cls!r} (defined: {', '.join(classes)})")
        base = classes.get(cls, {})
        kind = e.get("kind", base.get("kind"))
        if kind not in ("ES", "ED"):
            c.fail(f"{p}.kind", f"must be 'ES' or 'ED' (or give a class), got {kind!r}")
        cap = e.get("capacity", base.get("capacity"))
        if cap is None:
            c.fail(f"{p}.capacity", "missing (not in the entry nor in its class)")
        where = f"{p}.capacity" if "capacity" in e else f"node_classes.{cls}.capacity"
        nodes.append(NodeSpec(c.name(e["name"], f"{p}.name"), kind, c.resources(cap, where)))
    _unique(c, [n.name for n in nodes], "nodes")
    node_names = {n.name for n in nodes}

    # links
    L = c.mapping(doc["links"], "links", required=("edges",), optional=("rate", "propagation"))
    links = []
    for i, e in enumerate(c.seq(L["edges"], "links.edges", nonempty=len(nodes) > 1)):
        p = f"links.edges[{i}]"
        if isinstance(e, list):
            if len(e) != 2:
                c.fail(p, f"must be [u, v], got {e!r}")
            e = {"u": e[0], "v": e[1]}
        c.mapping(e, p, required=("u", "v"), optional=("rate", "propagation"))
        for end in ("u", "v"):
            if not isinstance(e[end], str) or e[end] not in node_names:
                c.fail(f"{p}.{end}", f"unknown node {e[end]!r}")
        if e["u"] == e["v"]:
            c.fail(p, f"a link must join two different nodes, got {e['u']!r} twice")
        rate = e.get("rate", L.get("rate"))
        if rate is None:
            c.fail(f"{p}.rate", "missing (no default links.rate)")
        links.append(LinkSpec(e["u"], e["v"],
                              c.range(rate, f"{p}.rate" if "rate" in e else "links.rate", strict=True,
                                      floor=MIN_POSITIVE),
                              c.range(e.get("propagation", L.get("propagation", 0.0)),
                                      f"{p}.propagation" if "propagation" in e else "links.propagation")))
    g = nx.Graph()
    g.add_nodes_from(n.name for n in nodes)
    g.add_edges_from((lk.u, lk.v) for lk in links)
    if not nx.is_connected(g):
        comps = sorted((sorted(cc) for cc in nx.connected_components(g)), key=len)
        c.fail("links.edges", f"the topology is disconnected: {{{', '.join(comps[0])}}} is not reachable "
                              f"from {comps[-1][0]!r}")

    # microservices
    msc = c.mapping(doc["ms_classes"], "ms_classes", optional=("core", "light"))
    for k, v in msc.items():
        c.mapping(v, f"ms_classes.{k}", optional=_MS_FIELDS)
    mss = [_ms_spec(c, e, f"microservices[{i}]", msc) for i, e in enumerate(c.seq(doc["microservices"], "microservices"))]
    _unique(c, [m.name for m in mss], "microservices")
    ms_names = {m.name for m in mss}

    # task types
    T = c.mapping(doc["task_types"], "task_types", required=("types",), optional=("input_mb", "deadline_ms"))
    defaults = {k: T[k] for k in ("input_mb", "deadline_ms") if k in T}
    tasks = [_task_spec(c, e, f"task_types.types[{i}]", ms_names, defaults)
             for i, e in enumerate(c.seq(T["types"], "task_types.types"))]
    _unique(c, [t.name for t in tasks], "task_types.types")
    used = {st for t in tasks for st in t.stages}
    for i, m in enumerate(mss):
        if m.name not in used:
            warnings.warn(f"{source + ': ' if source else ''}microservices[{i}] ({m.name}): no task type uses it; "
                          f"nothing is placed for it", ScenarioWarning, stacklevel=2)

    # users
    U = c.mapping(doc["users"], "users", optional=("rate_per_ms", "list", "per_node_kind"))
    if ("list" in U) == ("per_node_kind" in U):
        c.fail("users", "give exactly one of 'list' or 'per_node_kind'")
    if "per_node_kind" in U:
        kind = U["per_node_kind"]
        if kind not in ("ES", "ED"):
            c.fail("users.per_node_kind", f"must be 'ES' or 'ED', got {kind!r}")
        entries = [{"name": f"u_{n.name}", "gateway": n.name} for n in nodes if n.kind == kind]
        if not entries:
            c.fail("users.per_node_kind", f"no node of kind {kind!r}")
        base_path = "users.per_node_kind"
    else:
        entries = c.seq(U["list"], "users.list")
        base_path = "users.list"
    users = []
    for i, e in enumerate(entries):
        p = f"{base_path}[{i}]"
        c.mapping(e, p, required=("name", "gateway"), optional=("rate_per_ms",))
        if not isinstance(e["gateway"], str) or e["gateway"] not in node_names:
            c.fail(f"{p}.gateway", f"unknown node {e['gateway']!r}")
        r = e.get("rate_per_ms", U.get("rate_per_ms"))
        rp = f"{p}.rate_per_ms" if "rate_per_ms" in e else "users.rate_per_ms"
        if r is None:
            c.fail(rp, "missing (no default users.rate_per_ms)")
        if isinstance(r, dict):
            c.mapping(r, rp, required=[t.name for t in tasks])
            rates = tuple(c.range(r[t.name], f"{rp}.{t.name}") for t in tasks)
        else:
            rates = (c.range(r, rp),) * len(tasks)
        users.append(UserSpec(c.name(e["name"], f"{p}.name"), e["gateway"], rates))
    _unique(c, [u.name for u in users], base_path)

    return ScenarioSpec(
        name=name, nodes=tuple(nodes), links=tuple(links), microservices=tuple(mss),
        task_types=tuple(tasks), users=tuple(users), slot_ms=slot, horizon_slots=horizon, load=load,
        uplink=c.params(Uplink, doc.get("uplink"), "uplink"),
        placement=c.params(PlacementParams, doc.get("placement"), "placement"),
        control=c.params(ControlParams, doc.get("control"), "control"),
        source=source, raw=doc,
    )


def load_spec(path: str | Path) -> ScenarioSpec:
    """Read and validate a scenario YAML file (safe loading, YAML 1.2 floats such as ``5e-4``:
    :func:`edgefm.scenario.yamlfile.load_yaml`).

    Raises
    ------
    ScenarioError
        One line naming the file, the field path and the reason.
    """
    import yaml

    from .yamlfile import load_yaml

    path = Path(path)
    if not path.exists():
        raise ScenarioError("file not found", source=path.name)
    if not path.is_file():
        raise ScenarioError("not a file", source=path.name)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text (invalid byte at offset {exc.start})", source=path.name) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read file ({exc.strerror or type(exc).__name__})", source=path.name) from None
    try:
        doc = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f"line {mark.line + 1}"
            problem = getattr(exc, "problem", None) or exc
        else:  # e.g. ReaderError (forbidden character): no mark, a multi-line str()
            pos = getattr(exc, "position", None)
            where = f"character {pos + 1}" if isinstance(pos, int) else None
            ch, reason = getattr(exc, "character", None), getattr(exc, "reason", None)
            if isinstance(ch, str):
                ch = ord(ch)
            problem = f"unacceptable character #x{ch:04x}: {reason}" if isinstance(ch, int) and reason else exc
        problem = " ".join(str(problem).split())
        raise ScenarioError(f"not valid YAML ({problem})", field=where, source=path.name) from None
    return spec_from_dict(doc, source=path.name)
