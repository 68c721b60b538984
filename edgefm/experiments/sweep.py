"""Parameter sweeps: many independent :func:`~edgefm.experiments.runner.run_method` cells on Dask.

A sweep file (YAML) names a scenario and the grid to run::

    name: fig4
    scenario: data/scenarios/paper.yaml   # relative to the project root or to this file
    seeds: {start: 0, count: 30}          # or a list [0, 1, 2]
    methods: [proposed, propavg, lbrr, ga, hpa, static]
    loads: [1, 1.5, 2]
    overrides:                            # optional, default [{}]: one entry per variant
      - {}
      - {arrivals: mmpp, horizon_slots: 500, variant: bounded, controller: {y_max: 8}}
      - {failures: ["ES1@300:600"]}      # NODE@MS[:UNTIL_MS], the rules of edgefm.sim.failures
    quick:                                # optional, replaces seeds/methods/loads/horizon with --quick
      seeds: [0, 1]
      loads: [1, 2]
      horizon_slots: 100

Every cell (scenario, seed, method, load, override) is independent and seeded by
its own seed, so results do not depend on the number of workers or their order.
Each finished cell is written atomically to
``results/sweeps/cells/<key>.json`` (shared by all sweeps); :func:`cell_key` hashes the whole
configuration, the scenario file's content and the edgefm version, so a rerun
skips the cells already done (resume) and never reuses a stale one. At the end
all rows of the sweep are gathered into ``results/sweeps/<name>/results.parquet``. A quick sweep
(``--quick``) writes under ``results/quick/sweeps/`` instead, never over the full run's files.

Execution back-ends
-------------------
* ``workers=0``: serial, in-process (tests, debugging).
* default: a ``distributed.LocalCluster`` with one single-threaded process per CPU.
* ``scheduler="tcp://host:8786"``: an existing Dask cluster, started by hand
  (``dask scheduler`` on one machine, ``dask worker tcp://host:8786`` on each of the
  others), with `dask-jobqueue <https://jobqueue.dask.org>`_
  (``SLURMCluster(...).scale(jobs=10)``) or `dask-kubernetes <https://kubernetes.dask.org>`_;
  pass its ``scheduler_address``: ``edgefm sweep data/sweeps/fig4.yaml
  --scheduler tcp://host:8786``.

No shared filesystem is needed. A cell carries its scenario's *content*
(``scenario_text``, checked against ``scenario_sha256`` on the worker), not only its
path; each worker solves the placements its cells need (deterministic: the same
solver on the same draw gives the same placement) and keeps them in its own
placement cache (its ``$EDGEFM_RESULTS`` or user data folder, see
:mod:`edgefm.paths`; ``EDGEFM_PLACEMENT_CACHE=off`` keeps none). Rows come back to
the client, which alone writes the cell files and ``results.parquet``. The workers
need the same edgefm version installed, the modules named in ``plugins``, and, for
the ``code``/``conv`` trace arrivals, the trace files of ``data/traces`` (present in
a clone with ``pip install -e .``).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SweepSpec", "load_sweep", "cells", "cell_key", "run_cell", "run_sweep", "sweep_dir", "cells_dir"]

_OVERRIDE_KEYS = ("horizon_slots", "arrivals", "variant", "controller", "failures")
_ARRIVALS = ("poisson", "mmpp", "code", "conv")
_QUICK_KEYS = ("seeds", "methods", "loads", "horizon_slots")
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
#: Version of the row layout written by :func:`run_cell`; part of every key, so rows
#: cached by an older layout are never mixed with new ones.
ROW_SCHEMA = 4
#: Columns that measure wall time (differ between otherwise identical runs).
TIMING_COLUMNS = ("wall_s", "controller_s", "decision_ms_max", "decision_ms_median", "decision_ms_p99",
                  "n_placement_seconds", "n_total_wall_s")


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
    from ..scenario.spec import MAX_LOAD

    for i, v in enumerate(val):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < v < math.inf):
            raise _err(f"must be a finite number > 0, got {v!r}", f"{fld}[{i}]", src)
        if v > MAX_LOAD:  # the limit of a scenario file's load and of --load
            raise _err(f"must be at most {MAX_LOAD:g}, got {v:g} (a load multiplier scales the file's rates; "
                       f"larger ones overflow the placement's counts)", f"{fld}[{i}]", src)
    return tuple(float(v) for v in val)


def _horizon(v, fld, src) -> int:
    from ..scenario.spec import MAX_HORIZON

    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise _err(f"must be an integer >= 1, got {v!r}", fld, src)
    if v > MAX_HORIZON:  # the limit of a scenario file's horizon_slots and of --slots
        raise _err(f"must be at most {MAX_HORIZON:,} slots, got {v:,} (the engine keeps per-slot arrays)", fld, src)
    return v


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


def cells(spec: SweepSpec, quick: bool = False) -> list[dict]:
    """The cells of ``spec`` in deterministic order (override, load, method, seed).

    Parameters
    ----------
    spec : SweepSpec
    quick : bool
        Use the ``quick`` block of the sweep file.

    Returns
    -------
    list of dict
        JSON-ready cells: ``scenario`` (resolved path, for provenance and the row's
        ``scenario`` column), ``scenario_text`` (the file's content: what
        :func:`run_cell` reads, so a worker needs no access to the file),
        ``scenario_sha256`` (of that content), ``seed``, ``method``, ``load``,
        ``override``, ``edgefm_version`` (a worker with another version refuses the
        cell) and, when the sweep names any, ``plugins``.
    """
    q = spec.quick if quick else {}
    seeds, methods, loads = q.get("seeds", spec.seeds), q.get("methods", spec.methods), q.get("loads", spec.loads)
    overrides = [dict(o, horizon_slots=q["horizon_slots"]) if "horizon_slots" in q else dict(o)
                 for o in spec.overrides]
    from .._version import __version__

    raw = Path(spec.scenario).read_bytes()
    sha, text = hashlib.sha256(raw).hexdigest(), raw.decode("utf-8")
    extra = {"plugins": list(spec.plugins)} if spec.plugins else {}
    return [dict(scenario=spec.scenario, scenario_text=text, scenario_sha256=sha, seed=int(s), method=m,
                 load=float(ld), override=o, edgefm_version=__version__, **extra)
            for o in overrides for ld in loads for m in methods for s in seeds]


def cell_key(cell: dict) -> str:
    """SHA-256 of the canonical JSON of the cell's configuration and the edgefm version.

    The scenario is identified by its content hash (not its path, nor the content
    itself, which the hash stands for), so moving the clone keeps the cache while
    editing the scenario file invalidates it.

    Parameters
    ----------
    cell : dict
        One of :func:`cells`.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    from .._version import __version__

    conf = {k: v for k, v in cell.items() if k not in ("scenario", "scenario_text")}
    conf["scenario_name"] = Path(cell["scenario"]).name
    conf["edgefm_version"] = __version__
    conf["row_schema"] = ROW_SCHEMA
    from ..control import REGISTRY

    spec = REGISTRY.get(cell.get("method"))
    if spec is not None and spec.version:
        conf["method_version"] = spec.version
    text = json.dumps(conf, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _one_thread() -> None:
    for v in _THREAD_VARS:
        os.environ[v] = "1"
    try:  # effective even when numpy is already loaded; optional dependency
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def _cell_spec(cell: dict):
    """The cell's :class:`~edgefm.scenario.spec.ScenarioSpec`: from the content it carries
    (``scenario_text``, checked against ``scenario_sha256``), else from its ``scenario`` path."""
    from ..scenario.spec import load_spec, spec_from_dict

    text = cell.get("scenario_text")
    if text is None:  # a cell built by hand (tests, scripts): the file must be readable here
        return load_spec(cell["scenario"])
    from ..errors import SimulationError
    from ..scenario.yamlfile import load_yaml

    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if sha != cell["scenario_sha256"]:
        raise SimulationError(f"the cell's scenario content does not match its scenario_sha256 "
                              f"({sha[:12]} != {str(cell['scenario_sha256'])[:12]})")
    return spec_from_dict(load_yaml(text), source=Path(cell["scenario"]).name)


def run_cell(cell: dict) -> dict:
    """Run one cell; return one tidy row (all run metrics + configuration + ``key``).

    Reads no project file: the scenario comes from the cell's ``scenario_text``
    (see :func:`cells`), the placement is solved here (or read from this process's
    placement cache), so the cell runs the same on a Dask worker of another machine.

    Parameters
    ----------
    cell : dict
        One of :func:`cells`. A cell without ``scenario_text`` is read from its
        ``scenario`` path.

    Returns
    -------
    dict
        ``arrivals`` is the number of tasks of the run; ``process`` the arrival
        process of the cell (poisson, mmpp, code or conv).
    """
    _one_thread()
    import importlib

    from .._version import __version__
    from ..scenario.sample import sample_scenario

    want = cell.get("edgefm_version", __version__)
    if want != __version__:  # its row would be cached under the client's version
        from ..errors import SimulationError

        raise SimulationError(f"this worker runs edgefm {__version__}, the cell was made by edgefm {want}")
    from .runner import run_method

    for mod in cell.get("plugins", ()):  # a Dask worker registers the user's methods too
        importlib.import_module(mod)
    o = cell["override"]
    sc = sample_scenario(_cell_spec(cell), seed=cell["seed"], load=cell["load"])
    if "horizon_slots" in o:
        sc = sc.replace(horizon_slots=int(o["horizon_slots"]))
    import warnings

    from ..errors import ScenarioWarning
    from ..sim.failures import parse_failure

    with warnings.catch_warnings():
        # a failure after the horizon: load_sweep warned once, with the file and field; not again per cell
        warnings.filterwarnings("ignore", message="failure of node .* after the arrival horizon",
                                category=ScenarioWarning)
        failures = [parse_failure(f, sc) for f in o.get("failures", ())]
        res = run_method(sc, cell["method"], seed=cell["seed"], arrivals=o.get("arrivals", "poisson"),
                         n_slots=o.get("horizon_slots"), variant=o.get("variant"), overrides=o.get("controller"),
                         failures=failures)
    row = res.to_row()
    row.update(scenario=Path(cell["scenario"]).name, seed=cell["seed"], method=cell["method"], load=cell["load"],
               horizon_slots=int(sc.horizon_slots), process=o.get("arrivals", "poisson"),
               variant=o.get("variant") or "", controller=json.dumps(o.get("controller") or {}, sort_keys=True),
               key=cell_key(cell))
    return row


def sweep_dir(spec: SweepSpec, out_dir: str | Path | None = None, quick: bool = False) -> Path:
    """``out_dir`` or ``<results>/sweeps/<name>`` (``<results>``: :func:`edgefm.paths.results_dir`).

    A ``quick`` sweep never writes where the full one does: ``<results>/quick/sweeps/<name>``, like
    ``edgefm reproduce --quick``'s ``results/quick/``. A run already marked quick
    (:func:`edgefm.paths.set_quick`, a notebook with ``QUICK=True``) has its ``<results>`` there already.
    """
    if out_dir is not None:
        return Path(out_dir)
    from ..paths import is_quick, results_dir

    base = results_dir()
    if quick and not is_quick():
        base = base / "quick"
    return base / "sweeps" / spec.name


def cells_dir(spec: SweepSpec, out_dir: str | Path | None = None, quick: bool = False) -> Path:
    """Where finished cells are cached: ``out_dir/cells`` when given, else the cache shared by
    every sweep, ``<results>/sweeps/cells`` (``<results>/quick/sweeps/cells`` for a quick one) — a
    cell is keyed by its full configuration, so two sweeps that contain the same cell (Fig. 3 and
    Fig. 4 at load 1) run it once."""
    if out_dir is not None:
        return Path(out_dir) / "cells"
    return sweep_dir(spec, quick=quick).parent / "cells"


def _write_atomic(path: Path, row: dict) -> None:
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(row, fh, sort_keys=True, default=float)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_sweep(spec: SweepSpec | str | Path, quick: bool = False, scheduler: str | None = None,
              workers: int | None = None, out_dir: str | Path | None = None, progress: bool = True):
    """Run the missing cells of ``spec`` and return all its rows as a DataFrame.

    Parameters
    ----------
    spec : SweepSpec or path to a sweep YAML
    quick : bool
        Use the ``quick`` block (fewer seeds/loads/methods, shorter horizon).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``). Its workers need the same
        edgefm installed but no shared filesystem: the cells carry their scenario and the rows
        come back here (module docstring, "Execution back-ends").
    workers : int, optional
        Processes of the local cluster (default: CPU count); ``0`` runs serially in-process.
    out_dir : path, optional
        Default ``results/sweeps/<name>`` (holds ``results.parquet``; cells are cached in the shared
        ``results/sweeps/cells/``), ``results/quick/sweeps/<name>`` for a quick sweep (:func:`sweep_dir`).
        When given, it holds both ``cells/<key>.json`` and ``results.parquet``.
    progress : bool
        Show a tqdm bar (done/total, ETA). Without it, under ``edgefm reproduce`` the same count
        goes to the runner's log instead (:func:`edgefm.progress.progress_bar`), not to the notebook.

    Returns
    -------
    pandas.DataFrame
        One row per cell, in :func:`cells` order. Written to ``results.parquet``.
    """
    import pandas as pd

    from ..errors import SimulationError
    from ..progress import progress_bar

    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    todo_all = cells(spec, quick)
    keys = [cell_key(c) for c in todo_all]
    root = sweep_dir(spec, out_dir, quick)
    cdir = cells_dir(spec, out_dir, quick)
    cdir.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    todo = [(k, c) for k, c in zip(keys, todo_all) if not (cdir / f"{k}.json").is_file()]
    todo = list(dict(todo).items())  # duplicate cells run once
    bar = progress_bar(len(keys), initial=len(keys) - len(todo), desc=f"sweep {spec.name}", unit="cell", show=progress)
    failures = []
    if todo and workers == 0:
        for k, c in todo:
            try:
                _write_atomic(cdir / f"{k}.json", run_cell(c))
            except Exception as exc:  # keep going: the other cells are still worth caching
                failures.append((c, exc))
            bar.update()
    elif todo:
        _one_thread()  # inherited by local worker processes
        from distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        client = Client(cluster if cluster is not None else scheduler)
        try:
            futs = {client.submit(run_cell, c, key=f"edgefm-cell-{k}", pure=False): (k, c) for k, c in todo}
            for fut in as_completed(futs):
                k, c = futs[fut]
                try:
                    _write_atomic(cdir / f"{k}.json", fut.result())
                except Exception as exc:
                    failures.append((c, exc))
                bar.update()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    bar.close()
    if failures:
        c, exc = failures[0]
        raise SimulationError(f"{len(failures)} of {len(todo)} sweep cells failed; first: method {c['method']} "
                              f"seed {c['seed']} load {c['load']:g}: {type(exc).__name__}: {exc}") from exc
    rows = []
    for k in keys:
        with open(cdir / f"{k}.json") as fh:
            rows.append(json.load(fh))
    df = pd.DataFrame(rows)
    df.to_parquet(root / "results.parquet", index=False)
    return df
