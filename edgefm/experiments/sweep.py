"""Parameter sweeps: many independent :func:`~edgefm.experiments.runner.run_method` cells on Dask.

A sweep file (YAML; read and validated by :mod:`edgefm.experiments.sweepfile`) names a scenario and the grid
to run::

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
import os
from pathlib import Path

from .sweepfile import SweepSpec, load_sweep

__all__ = ["SweepSpec", "load_sweep", "cells", "cell_key", "run_cell", "run_sweep", "sweep_dir", "cells_dir"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
#: Version of the row layout written by :func:`run_cell`; part of every key, so rows
#: cached by an older layout are never mixed with new ones.
ROW_SCHEMA = 4
#: Columns that measure wall time (differ between otherwise identical runs).
TIMING_COLUMNS = ("wall_s", "controller_s", "decision_ms_max", "decision_ms_median", "decision_ms_p99",
                  "n_placement_seconds", "n_total_wall_s")


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
            # silence_logs: the workers' own log records below CRITICAL stay out of the caller's stderr (at
            # shutdown a worker may log a failed heartbeat to the scheduler already closed, a traceback that is
            # not an error of the sweep); a cell's exception still reaches the client through its future
            import logging

            cluster = LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.CRITICAL)
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
