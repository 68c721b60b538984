"""Run the notebook suite with papermill and write ``results/manifest.json``.

Each ``notebooks/NN_*.ipynb`` runs in order (kernel ``python3``) with
``QUICK`` set by ``--quick``; executed copies go to ``results/notebooks/``,
figures to ``results/figures/`` (through :func:`edgefm.plots.savefig`). The
manifest records the git commit, the parameters, package versions, the seconds
each notebook took and the figures it produced. A failure names the notebook
and the cell.

While a notebook runs, the log says what it is doing (:mod:`edgefm.progress`): a
heartbeat line every ``heartbeat`` seconds names the running cell and the latest
progress of a sweep inside it; stderr passes through a filter that drops the
kernels' noise.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .paths import params_label, project_root, results_root

__all__ = ["NotebookRun", "find_notebooks", "run_notebooks", "project_root", "expected_figures"]

_VERSIONED = ("numpy", "scipy", "cvxpy", "pyscipopt", "highspy", "networkx", "pandas", "matplotlib",
              "seaborn", "papermill", "dask")


@dataclass
class NotebookRun:
    """Outcome of one notebook: ``status`` is ``"ok"`` or ``"failed"``."""

    notebook: str
    status: str
    seconds: float
    figures: list[str] = field(default_factory=list)
    error: str | None = None


def find_notebooks(only: list[str] | None = None, root: Path | None = None) -> list[Path]:
    """Notebooks ``NN_*.ipynb`` in execution order, optionally only those whose
    number (``"03"``) or stem is listed in ``only``."""
    nbdir = (root or project_root()) / "notebooks"
    nbs = sorted(p for p in nbdir.glob("[0-9][0-9]_*.ipynb"))
    if only:
        want = {o.zfill(2) if o.isdigit() else o for o in only}
        nbs = [p for p in nbs if p.name[:2] in want or p.stem in want]
        if not nbs:
            from .errors import UsageError

            names = ", ".join(p.name[:2] for p in sorted(nbdir.glob("[0-9][0-9]_*.ipynb")))
            raise UsageError(f"argument --only: no notebook matches {' '.join(only)} (notebooks: {names})")
    return nbs


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _git_commit(root: Path) -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def expected_figures(nb: Path) -> list[str]:
    """Figure stems a notebook saves: the literal names in its ``savefig(fig, "NN_...")`` calls."""
    import re

    doc = json.loads(nb.read_text(encoding="utf-8"))
    src = "\n".join("".join(c["source"]) for c in doc["cells"] if c["cell_type"] == "code")
    return sorted(set(re.findall(r"savefig\(\s*\w+\s*,\s*[\"']([^\"']+)[\"']", src)))


def _figures(figdir: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in figdir.glob("*.png")} if figdir.exists() else {}


def run_notebooks(quick: bool = False, only: list[str] | None = None, keep_going: bool = False,
                  results: Path | None = None, parameters: dict | None = None, progress: bool = True,
                  root: Path | None = None, heartbeat: float = 30.0) -> list[NotebookRun]:
    """Execute the notebooks and write the manifest.

    Parameters
    ----------
    quick : bool
        Pass ``QUICK=True`` (small grids, short horizons, same code paths).
    only : list of str, optional
        Notebook numbers or stems to run.
    keep_going : bool
        Run the remaining notebooks after a failure.
    results : path, optional
        Output folder. Default: :func:`edgefm.paths.results_root` (the clone's ``results/``), its
        ``quick/`` sub-folder for a quick run, and ``runs/<name=value,...>`` for extra
        ``parameters`` (:func:`edgefm.paths.params_label`), so neither replaces the figures and
        summaries of the full run. The folder is passed to the notebooks as ``$EDGEFM_RESULTS``,
        which they use as given (their figures are still stamped with non-default parameters).
    parameters : dict, optional
        Extra papermill parameters passed to every notebook.
    progress : bool
        Print a line per notebook and, while one runs, the heartbeat lines of
        :class:`edgefm.progress.NotebookMonitor` (every ``heartbeat`` seconds once a cell has run
        that long), with kernel noise filtered from stderr (:class:`edgefm.progress.NoiseFilter`).
    root : path, optional
        Project root holding ``notebooks/`` (default: this clone).
    heartbeat : float
        Seconds between two progress lines of a long cell.

    Returns
    -------
    list of NotebookRun
    """
    root = root or project_root()
    if results is None:
        results = results_root() / ("quick" if quick else "")
        if parameters:
            results = results / "runs" / params_label(parameters)
    results = Path(results)
    outdir, figdir = results / "notebooks", results / "figures"
    outdir.mkdir(parents=True, exist_ok=True)
    figdir.mkdir(parents=True, exist_ok=True)
    old_env = os.environ.get("EDGEFM_RESULTS")
    os.environ["EDGEFM_RESULTS"] = str(results.resolve())  # where the kernels' savefig writes
    try:
        if not progress:
            return _run(find_notebooks(only, root), results, outdir, figdir, quick, parameters, keep_going,
                        progress, root, heartbeat)
        from .progress import filtered_stderr

        with filtered_stderr():
            return _run(find_notebooks(only, root), results, outdir, figdir, quick, parameters, keep_going,
                        progress, root, heartbeat)
    finally:
        if old_env is None:
            os.environ.pop("EDGEFM_RESULTS", None)
        else:
            os.environ["EDGEFM_RESULTS"] = old_env


def _engine():
    """papermill's nbclient engine, registered as ``edgefm``: it reports each cell's start and end to
    the :class:`~edgefm.progress.NotebookMonitor` passed as ``edgefm_monitor``."""
    from papermill.engines import NBClientEngine, papermill_engines

    class MonitoredEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, edgefm_monitor=None, **kwargs):
            mon = edgefm_monitor
            if mon is not None:
                cells = nb_man.nb.cells
                mon.set_cells([c.source for c in cells],  # papermill's injected parameters are not counted
                              ["injected" if "injected-parameters" in c.metadata.get("tags", []) else c.cell_type
                               for c in cells])
                start, complete = nb_man.cell_start, nb_man.cell_complete

                def cell_start(cell, cell_index=None, **kw):
                    mon.cell_start(cell_index)
                    return start(cell, cell_index, **kw)

                def cell_complete(cell, cell_index=None, **kw):
                    mon.cell_complete(cell_index)
                    return complete(cell, cell_index, **kw)

                nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register("edgefm", MonitoredEngine)
    return "edgefm"


def _run(nbs, results, outdir, figdir, quick, parameters, keep_going, progress, root, heartbeat=30.0):
    import tempfile
    from contextlib import nullcontext

    import papermill as pm

    from .progress import PROGRESS_ENV, NotebookMonitor

    engine = _engine()
    params = {"QUICK": bool(quick), **(parameters or {})}
    runs: list[NotebookRun] = []
    for nb in nbs:
        before = _figures(figdir)
        t0 = time.perf_counter()
        head = f"[{len(runs) + 1}/{len(nbs)}] {nb.name}"
        if progress:
            print(head + " ...", end=" ", flush=True)
        fd, side = tempfile.mkstemp(prefix="edgefm-progress-", suffix=".log")
        os.close(fd)
        old_side = os.environ.get(PROGRESS_ENV)
        os.environ[PROGRESS_ENV] = side  # the kernel inherits it: its sweeps report to the side file

        open_line = [True]  # the "[k/n] name ..." line still waits for its end

        def emit(line):
            if open_line[0]:
                print(flush=True)
                open_line[0] = False
            print(line, flush=True)

        mon = NotebookMonitor(nb.name, side, every=heartbeat, emit=emit)
        try:
            with mon if progress else nullcontext():
                pm.execute_notebook(str(nb), str(outdir / nb.name), parameters=params, kernel_name="python3",
                                    cwd=str(nb.parent), progress_bar=False, log_output=False,
                                    engine_name=engine, edgefm_monitor=mon if progress else None)
            after = _figures(figdir)
            figs = sorted(k for k, v in after.items() if before.get(k) != v)
            missing = [f for f in expected_figures(nb) if f"{f}.png" not in figs]
            if missing:
                runs.append(NotebookRun(nb.name, "failed", time.perf_counter() - t0, figs,
                                        error=f"{nb.name} ran but did not write figure(s) {', '.join(missing)}"))
            else:
                runs.append(NotebookRun(nb.name, "ok", time.perf_counter() - t0, figs))
        except pm.PapermillExecutionError as exc:
            msg = f"{nb.name} failed at cell {exc.exec_count or exc.cell_index}: {exc.ename}: {exc.evalue}"
            runs.append(NotebookRun(nb.name, "failed", time.perf_counter() - t0, error=msg))
        finally:
            if old_side is None:
                os.environ.pop(PROGRESS_ENV, None)
            else:
                os.environ[PROGRESS_ENV] = old_side
            Path(side).unlink(missing_ok=True)
        if progress:
            r = runs[-1]
            print((f"{head} " if mon.printed else "") + f"{r.status} in {r.seconds:.1f} s"
                  + (f", {len(r.figures)} figures" if r.figures else ""), flush=True)
        if runs[-1].status != "ok" and not keep_going:
            break
    _write_manifest(results / "manifest.json", runs, params, root)
    return runs


def _write_manifest(path: Path, runs, params: dict, root: Path) -> dict:
    """Merge this call's runs into the manifest: one entry per notebook, the run that made its
    current outputs (each entry with its own commit, time and parameters); notebooks not run now
    keep their entries. The top-level fields describe the latest call."""
    run_info = {"commit": _git_commit(root), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "parameters": params}
    try:
        old = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        old = {}
    entries = {e["notebook"]: e for e in old.get("notebooks", []) if isinstance(e, dict) and "notebook" in e}
    for r in runs:
        entries[r.notebook] = {**asdict(r), **run_info}
    manifest = {**run_info, "python": sys.executable, "versions": _versions(),
                "total_seconds": sum(r.seconds for r in runs),
                "notebooks": [entries[k] for k in sorted(entries)]}
    path.write_text(json.dumps(manifest, indent=2))
    return manifest
