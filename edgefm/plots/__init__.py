"""Figures: one style, one :func:`savefig`, a function per figure.

Only this sub-package imports matplotlib and seaborn. Figure functions take
tidy tables or result objects and return a :class:`matplotlib.figure.Figure`;
notebooks call them and then :func:`savefig`.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..paths import is_quick, notebook_path, params_label, results_dir, run_params, set_params, set_quick

__all__ = ["results_dir", "figures_dir", "savefig", "use_style", "method_palette", "METHOD_ORDER", "QUICK_STAMP",
           "params_stamp", "LABELS", "label", "integer_ticks", "placement_palette", "PLACEMENT_COLORS"]

#: Methods in reporting order; each keeps its colour (tab10 index) in every figure.
METHOD_ORDER = ("proposed", "propavg", "lbrr", "ga", "hpa", "static", "edgefm")

#: Text stamped on every figure of a quick run.
QUICK_STAMP = "QUICK run (small grids): not the paper's numbers"


def figures_dir() -> Path:
    """``results_dir() / "figures"``, created on demand."""
    d = results_dir() / "figures"
    d.mkdir(parents=True, exist_ok=True)
    return d


def params_stamp(params: dict | None = None) -> str:
    """Text stamped on the figures of a run with non-default parameters (``None``: this run's,
    :func:`edgefm.paths.run_params`); empty for a default run.

    Examples
    --------
    >>> params_stamp({"SEED": 3, "N_BOOT": 500})
    'non-default parameters: N_BOOT=500, SEED=3'
    """
    params = run_params() if params is None else params
    return "non-default parameters: " + ", ".join(f"{k}={params[k]!r}" if isinstance(params[k], str) else f"{k}={params[k]}"
                                                  for k in sorted(params)) if params else ""


def use_style(quick: bool = False, *, notebook: str | None = None, params: dict | None = None) -> None:
    """Apply the project's plotting style (seaborn ``whitegrid``, readable sizes) and mark the run.

    Every notebook's setup cell calls it with its parameters, e.g.
    ``use_style(quick=QUICK, notebook="05_fig3_strategies", params=dict(SEED=SEED, N_BOOT=N_BOOT))``.

    It also makes warnings print as one line ``Category: message``, without the package's file paths, here
    and in the sweeps' worker processes (:func:`edgefm.display.plain_warnings`).

    Parameters
    ----------
    quick : bool
        The notebook's ``QUICK`` parameter: a quick run writes under ``results/quick/`` and stamps
        its figures (:func:`edgefm.paths.set_quick`), so it never passes for a full run.
    notebook : str, optional
        The calling notebook's stem (or number), whose ``parameters`` cell holds the defaults.
    params : dict, optional
        This run's value of every parameter that can change the results (all the notebook
        declares but ``QUICK`` and ``WORKERS``, :data:`edgefm.paths.RESULT_NEUTRAL`); a name the
        notebook does not declare, or a declared one left out, is a ``ValueError``. When any value
        differs from its default (:func:`edgefm.paths.set_params`), results go to
        ``results/params/<notebook>/<NAME=value,...>/``, figures carry :func:`params_stamp`, and a
        line says so. Without ``notebook`` and ``params`` the run counts as a default one.
    """
    import matplotlib as mpl
    import seaborn as sns

    from ..display import plain_warnings

    plain_warnings()
    set_quick(quick)
    changed = set_params(notebook, params)
    sns.set_theme(style="whitegrid", context="notebook")
    mpl.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight"})
    if changed:
        where = ("$EDGEFM_RESULTS (used as given)" if os.environ.get("EDGEFM_RESULTS") else
                 f"params/{notebook_path(notebook).stem}/{params_label(changed)}/ of the results folder")
        print(f"{params_stamp(changed)}: figures stamped, results in {where}")


class Saved(list):
    """The paths :func:`savefig` wrote; shows as their file names (a notebook cell that ends with
    ``savefig(...)`` echoes ``saved 01_ec.png, 01_ec.pdf``, not absolute ``PosixPath`` objects)."""

    def __repr__(self) -> str:
        return "saved " + ", ".join(p.name for p in self)


def savefig(fig, name: str, *, outdir: str | os.PathLike | None = None) -> list[Path]:
    """Save ``fig`` as ``NAME.png`` and ``NAME.pdf`` and return both paths.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    name : str
        File stem, e.g. ``"01_ec_curves"``; by convention prefixed with the
        notebook number.
    outdir : path, optional
        Defaults to :func:`figures_dir`. The reproduction runner lists every file
        written here in ``results/manifest.json``. In a quick run the figure is stamped
        :data:`QUICK_STAMP`, in a run with non-default parameters :func:`params_stamp`.
    """
    d = Path(outdir) if outdir is not None else figures_dir()
    d.mkdir(parents=True, exist_ok=True)
    if is_quick() and not any(t.get_text() == QUICK_STAMP for t in fig.texts):
        fig.text(0.5, 0.5, QUICK_STAMP, ha="center", va="center", rotation=20, fontsize=14, color="red",
                 alpha=0.35, zorder=100)
    stamp = params_stamp()
    if stamp and not any(t.get_text() == stamp for t in fig.texts):
        fig.text(0.5, 0.38 if is_quick() else 0.5, stamp, ha="center", va="center", rotation=20, fontsize=13,
                 color="red", alpha=0.5, zorder=100, wrap=True)
    paths = Saved([d / f"{name}.png", d / f"{name}.pdf"])
    for p in paths:
        fig.savefig(p)
    return paths


def method_palette(methods=None) -> dict:
    """One colour per method, the same in every figure: tab10 by position in :data:`METHOD_ORDER`
    (``edgefm`` is tab10's seventh, pink); other names take the next free colours."""
    import seaborn as sns

    base = sns.color_palette("tab10", 10)
    pal = {m: base[i] for i, m in enumerate(METHOD_ORDER)}
    extra = [m for m in (methods or ()) if m not in pal]
    for j, m in enumerate(extra):
        pal[m] = base[(len(METHOD_ORDER) + j) % 10]
    return pal if methods is None else {m: pal[m] for m in methods}


#: Column names of the result tables in words, with units: axis labels and legend titles use these,
#: never the raw column name (units as in ``docs/data.md``: costs in the model's cost units).
LABELS = {
    "method": "method",
    "load": "load multiplier (× Table I rates)",
    "process": "arrival process",
    "placement": "placement",
    "placement_solver": "placement solver",
    "on_time_ratio": "on-time ratio (share of tasks)",
    "on_time_after": "on-time ratio after the failure (share of tasks)",
    "cost_total": "total cost (cost units, E6 + E7)",
    "cost_per_task": "cost per task (cost units)",
    "latency_p95": "P95 task latency (ms)",
    "placement_seconds": "core placement solve time (s)",
    "decision_ms_median": "decision time per slot, median (ms)",
    "decision_ms_p99": "decision time per slot, P99 (ms)",
    "nodes": "nodes (sites + EDs)",
}


def label(column: str) -> str:
    """``column`` in words with its unit (:data:`LABELS`); an unlisted name with its underscores as spaces."""
    return LABELS.get(column, column.replace("_", " "))


def integer_ticks(ax, axis: str = "y", nbins="auto") -> None:
    """Ticks at whole numbers only on ``axis`` (``"x"``, ``"y"`` or ``"both"``) of ``ax``: for counts.

    ``nbins`` caps the number of intervals (matplotlib's ``MaxNLocator``), e.g. 4 for a short panel.
    """
    from matplotlib.ticker import MaxNLocator

    for a in ("x", "y") if axis == "both" else (axis,):
        getattr(ax, f"{a}axis").set_major_locator(MaxNLocator(nbins=nbins, integer=True))


#: Colours of the placements of the fault study (notebook 07): the E14 placements in blues (run with the
#: paper's controller, ``proposed``, whose colour is blue), the edgefm plans in the ``edgefm`` pink, others
#: in colours no method uses.
PLACEMENT_COLORS = {"E14 κ=0": "#9ecae1", "E14 κ*": "#1f77b4", "assign N-1": "#17becf",
                    "assign (no N-1)": "#bcbd22", "edgefm": "#f7b6d2", "edgefm N-1": "#e377c2"}


def placement_palette(placements) -> dict:
    """One colour per placement name of the fault study, consistent with :func:`method_palette`
    (:data:`PLACEMENT_COLORS`; an unknown name takes a grey)."""
    greys = ["0.35", "0.55", "0.75"]
    out, k = {}, 0
    for p in placements:
        if p in PLACEMENT_COLORS:
            out[p] = PLACEMENT_COLORS[p]
        else:
            out[p] = greys[k % len(greys)]
            k += 1
    return out
