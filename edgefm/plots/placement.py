"""Core-placement figures (docs/model.md §5): instances per MS, the κ trade-off (E17), solver scaling.

Every function reads a tidy table from :mod:`edgefm.experiments.placement_study` and returns a
:class:`matplotlib.figure.Figure`. The network with the placement (Fig. 2) is
:func:`edgefm.plots.system.plot_network` with ``placement=x``.
"""
from __future__ import annotations

import numpy as np

from . import integer_ticks

__all__ = ["plot_instances_per_ms", "plot_kappa_tradeoff", "plot_solver_scaling", "VARIANT_COLORS",
           "SOLVER_COLORS"]

VARIANT_COLORS = {"literal": "#c44e52", "bounded": "#4c72b0"}
SOLVER_COLORS = {"scip": "#4c72b0", "scip-direct": "#64b5cd", "highs": "#55a868", "relax": "#dd8452",
                 "greedy": "#8172b3"}
_SOLVER_LABEL = {"scip": "exact, auto (literal: node DP, else SCIP)", "scip-direct": "SCIP on the whole program",
                 "highs": "HiGHS", "relax": "LP relax + rounding", "greedy": "least-loaded greedy"}


def plot_instances_per_ms(per_ms, *, figsize=(8.5, 4.2)):
    """Core instances per MS for each variant (bars) against the demand N_m (black ticks).

    ``per_ms``: :func:`~edgefm.experiments.placement_study.per_ms_table` (variant, ms, N_m, instances).
    """
    import matplotlib.pyplot as plt

    variants = list(dict.fromkeys(per_ms["variant"]))
    names = list(dict.fromkeys(per_ms["ms"]))
    width = 0.8 / len(variants)
    fig, ax = plt.subplots(figsize=figsize)
    xs = np.arange(len(names))
    for i, v in enumerate(variants):
        d = per_ms[per_ms["variant"] == v].set_index("ms").loc[names]
        pos = xs - 0.4 + width * (i + 0.5)
        bars = ax.bar(pos, d["instances"], width * 0.92, color=VARIANT_COLORS.get(v), label=f"{v} E14")
        ax.bar_label(bars, fontsize=8, padding=1)
    need = per_ms.drop_duplicates("ms").set_index("ms").loc[names, "N_m"]
    ax.hlines(need, xs - 0.45, xs + 0.45, color="black", lw=2, label="demand $N_m$")
    ax.set_xticks(xs, names)
    ax.set_ylabel("core instances $\\sum_v x_{v,m}$")
    integer_ticks(ax)
    ax.set_title("Core instances per microservice: the literal E14 fills profitable pairs to capacity")
    ax.legend(frameon=False, fontsize=9)
    ax.margins(y=0.12)
    fig.tight_layout()
    return fig


def plot_kappa_tradeoff(sweep, kappa_star: dict | None = None, rho: float = 0.95, *, figsize=(13, 4.0)):
    """E14 objective, core cost (E6) and QoS score ξΣQx against the diversity floor κ (E17).

    ``sweep``: :func:`~edgefm.experiments.placement_study.kappa_sweep`. Filled markers are solved,
    hollow markers reuse a larger-support optimum (both explained in the legend). The shaded band is the ρ-retention band
    objective ≤ OPT₀ + (1 − ρ)|OPT₀|; dashed lines mark κ* of each variant (``kappa_star``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    d = sweep[sweep["status"] != "infeasible"]
    panels = [("rel_objective", "E14 objective / OPT$_0$ (κ = 0)"), ("cost_core", "core cost $C_{core}$ (E6)"),
              ("score", "QoS score $\\xi\\sum Q_{v,m}x_{v,m}$ (E16)")]
    fig, axes = plt.subplots(1, 3, figsize=figsize)
    for ax, (col, label) in zip(axes, panels):
        for v, g in d.groupby("variant", sort=False):
            c = VARIANT_COLORS.get(v)
            ax.plot(g["kappa"], g[col], color=c, lw=1.6, label=v)
            solved = g["solved"].astype(bool)
            ax.scatter(g.loc[solved, "kappa"], g.loc[solved, col], color=c, s=28, zorder=3)
            ax.scatter(g.loc[~solved, "kappa"], g.loc[~solved, col], facecolor="white", edgecolor=c, s=28, zorder=3)
            if kappa_star and v in kappa_star:
                ax.axvline(kappa_star[v], color=c, ls="--", lw=1)
        ax.set_xlabel("diversity floor κ  ($\\|X\\|_0 \\geq κ$)")
        ax.set_title(label, fontsize=10)
        integer_ticks(ax, "x")
    axes[0].axhspan(rho, 1.0, color="0.85", zorder=0, label=f"within (1−ρ) of OPT$_0$, ρ={rho:g}")
    axes[0].set_ylim(min(rho - 0.01, d["rel_objective"].min() - 0.005), 1.005)
    axes[0].set_ylabel("fraction of the κ = 0 objective")
    axes[1].set_ylabel("cost units")
    axes[2].set_ylabel("cost units")
    handles, _ = axes[0].get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", marker="o", ls="", label="filled: solved at this κ"),
                Line2D([], [], color="0.3", marker="o", mfc="white", ls="",
                       label="hollow: not solved, the optimum of\na larger κ already meets this floor")]
    axes[0].legend(handles=handles, frameon=False, fontsize=8, loc="lower left")
    fig.suptitle("Sparsity trade-off of E14: spreading over more (node, MS) pairs (dashed: κ* of the ρ search)",
                 fontsize=11)
    fig.tight_layout()
    return fig


def plot_solver_scaling(study, *, figsize=(13, 4.2)):
    """Objective above the best, reported gap and time of each solver against the E14 size.

    ``study``: :func:`~edgefm.experiments.placement_study.solver_study`. x axis: number of (node, core
    MS) pairs = integer x variables. Solid lines the literal variant, dotted the bounded one; hollow
    markers are placements that violate the program (the greedy ignores κ).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator

    d = study[study["status"] != "failed"].copy()
    d["rel_pct"] = 100 * d["rel_to_best"].clip(lower=0)
    d["gap_pct"] = 100 * d["gap"]
    styles = {"literal": "-", "bounded": ":"}
    panels = [("rel_pct", "objective above the best found (%)", "symlog"),
              ("gap_pct", "reported gap to own bound (%)", "symlog"), ("seconds", "wall time (s)", "log")]
    fig, axes = plt.subplots(1, 3, figsize=figsize)
    for ax, (col, label, scale) in zip(axes, panels):
        for (solver, variant), g in d.groupby(["solver", "variant"], sort=False):
            g = g.sort_values("pairs")
            if g[col].isna().all():
                continue
            c = SOLVER_COLORS.get(solver)
            ax.plot(g["pairs"], g[col], color=c, ls=styles.get(variant, "-"), lw=1.5)
            ok = g["feasible"].astype(bool)
            ax.scatter(g.loc[ok, "pairs"], g.loc[ok, col], color=c, s=30, zorder=3)
            ax.scatter(g.loc[~ok, "pairs"], g.loc[~ok, col], facecolor="white", edgecolor=c, s=30, zorder=3)
        if scale == "symlog":
            ax.set_yscale("symlog", linthresh=0.1)
            ax.set_ylim(bottom=0)
        else:
            ax.set_yscale("log")
        ax.set_xscale("log")
        ticks = sorted(set(d["pairs"]))
        ax.xaxis.set_minor_locator(FixedLocator([]))
        ax.set_xticks(ticks, [str(t) for t in ticks], rotation=45, fontsize=8)
        ax.set_xlabel("E14 size: (node, core MS) pairs")
        ax.set_title(label, fontsize=10)
    handles = [Line2D([], [], color=c, marker="o", label=_SOLVER_LABEL[s]) for s, c in SOLVER_COLORS.items()
               if s in set(d["solver"])]
    handles += [Line2D([], [], color="0.3", ls=ls, label=f"{v} variant") for v, ls in styles.items()
                if v in set(d["variant"])]
    handles += [Line2D([], [], color="0.3", marker="o", mfc="white", ls="", label="violates κ / caps")]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=9)
    fig.suptitle("E14 solvers as the network grows (same program and κ for every solver)", fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
