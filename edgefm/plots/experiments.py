"""Figures of the method comparisons (notebooks 05 and 06: the paper's Fig. 3 and Fig. 4).

Every function reads tidy tables only: the sweep table of
:func:`edgefm.experiments.sweep.run_sweep`, the capacity bound of
:func:`edgefm.experiments.bound.bound_table`, and the statistics of
:mod:`edgefm.experiments.stats`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot_strategy_violins", "plot_ontime_vs_bound", "plot_paired_differences", "plot_load_curves",
           "plot_bound_by_load"]

_BOUND_COLOR = "0.6"


def _palette(methods):
    from . import method_palette

    return method_palette(list(methods))


def plot_strategy_violins(df, bound_df=None, methods=None, load: float = 1.0):
    """Fig. 3: violins of on-time ratio and total cost per method at one load.

    With ``bound_df`` the on-time panel gets a grey first violin ``bound``: the
    capacity bound share of the same draws (no method can exceed it on the
    core work; a value below 1 proves the draw overloaded).
    """
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    d = df[np.isclose(df["load"], load)]
    methods = list(methods or dict.fromkeys(d["method"]))
    pal = _palette(methods)
    on = d[["method", "on_time_ratio"]].rename(columns={"on_time_ratio": "value"})
    order = list(methods)
    if bound_df is not None:
        b = bound_df[np.isclose(bound_df["load"], load) & bound_df["seed"].isin(d["seed"].unique())]
        on = pd.concat([pd.DataFrame({"method": "bound", "value": b["share"]}), on], ignore_index=True)
        order = ["bound", *methods]
        pal = {"bound": _BOUND_COLOR, **pal}
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.2))
    kw = dict(cut=0, inner="quart", density_norm="width", linewidth=0.8, saturation=1)  # the palette colour itself
    sns.violinplot(data=on, x="method", y="value", hue="method", order=order, hue_order=order, palette=pal,
                   legend=False, ax=ax[0], **kw)
    sns.stripplot(data=on, x="method", y="value", order=order, color="k", size=2, alpha=0.4, ax=ax[0])
    ax[0].set_ylabel("on-time ratio")
    ax[0].set_ylim(min(0.0, float(on["value"].min()) - 0.02) if len(on) else 0.0, 1.02)
    ax[0].set_title(f"On-time ratio per draw, load {load:g}×")
    sns.violinplot(data=d, x="method", y="cost_total", hue="method", order=methods, hue_order=methods, palette=pal,
                   legend=False, ax=ax[1], **kw)
    sns.stripplot(data=d, x="method", y="cost_total", order=methods, color="k", size=2, alpha=0.4, ax=ax[1])
    ax[1].set_ylabel("total cost (cost units, E6 + E7)")
    ax[1].set_title(f"Total cost per draw, load {load:g}×")
    for a in ax:
        a.set_xlabel("")
        a.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def plot_ontime_vs_bound(df, bound_df, methods=None, load: float = 1.0):
    """Paired scatter: each draw's on-time ratio (per method) against its capacity headroom φ*.

    φ* < 1 (left of the dotted line) means the nodes cannot serve all core work
    of the draw; the bound share min(1, φ*) is drawn as a grey line.
    """
    import matplotlib.pyplot as plt

    d = df[np.isclose(df["load"], load)].merge(
        bound_df[np.isclose(bound_df["load"], load)][["seed", "headroom", "share"]], on="seed", how="left")
    methods = list(methods or dict.fromkeys(d["method"]))
    pal = _palette(methods)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for m in methods:
        g = d[d["method"] == m]
        ax.scatter(g["headroom"], g["on_time_ratio"], s=16, alpha=0.75, color=pal[m], label=m)
    hmin, hmax = (float(np.nanmin(d["headroom"])), float(np.nanmax(d["headroom"]))) if len(d) else (0.5, 2.0)
    xs = np.linspace(0.95 * min(hmin, 1.0), hmax, 200)
    ax.plot(xs, np.minimum(1, xs), color=_BOUND_COLOR, lw=2, label="bound min(1, φ*)")
    ax.axvline(1.0, color="k", ls=":", lw=1)
    ax.set_xlabel("capacity headroom φ* of the draw (core work the nodes can serve / offered)")
    ax.set_ylabel("on-time ratio")
    ax.set_title(f"Each draw: on-time ratio vs capacity bound, load {load:g}×")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def plot_paired_differences(diffs, metric_label: str, baseline: str = "proposed", hue: str | None = None):
    """Forest plot: mean per-seed difference to ``baseline`` with t and bootstrap intervals.

    ``diffs`` is :func:`edgefm.experiments.stats.paired_differences` output. Each method keeps its colour
    (:func:`edgefm.plots.method_palette`); with ``hue`` (e.g. ``"load"``) one marker shape per group value,
    offset vertically.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    methods = list(dict.fromkeys(diffs["method"]))
    pal = _palette(methods)
    groups = list(dict.fromkeys(diffs[hue])) if hue else [None]
    markers = ["o", "s", "^", "D", "v", "P"]
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(methods) * max(1, len(groups)) + 1.5))
    step = 0.7 / max(1, len(groups))
    handles = []
    for j, gv in enumerate(groups):
        g = diffs if gv is None else diffs[diffs[hue] == gv]
        y = np.array([methods.index(m) for m in g["method"]]) + (j - (len(groups) - 1) / 2) * step
        mk = markers[j % len(markers)]
        for yi, (_, r) in zip(y, g.iterrows()):
            ax.errorbar([r["mean_diff"]], [yi], xerr=[[r["mean_diff"] - r["t_low"]], [r["t_high"] - r["mean_diff"]]],
                        fmt=mk, capsize=3, color=pal[r["method"]], mec="k", mew=0.5)
        ax.hlines(y, g["boot_low"], g["boot_high"], color="k", lw=4, alpha=0.25)
        if gv is not None:
            name = "load" if hue == "load" else hue.replace("_", " ")
            val = f"{gv:g}×" if hue == "load" else f"{gv:g}" if isinstance(gv, (int, float)) else f"{gv}"
            handles.append(Line2D([], [], marker=mk, ls="", color="0.4", label=f"{name} {val}"))
    ax.axvline(0, color="k", lw=1)
    ax.set_yticks(range(len(methods)), methods)
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric_label}: method − {baseline} (per seed; bars t-CI, grey bootstrap CI)")
    ax.set_title(f"Paired differences to {baseline}")
    if handles:
        ax.legend(handles=handles, fontsize=8)
    fig.tight_layout()
    return fig


def plot_load_curves(ci_on, ci_cost, bound_sum=None):
    """Fig. 4: mean on-time ratio and mean cost per method vs load, with t-intervals.

    ``ci_on``/``ci_cost`` come from :func:`edgefm.experiments.stats.mean_ci`
    (columns ``method``, ``load``, ``mean``, ``low``, ``high``); ``bound_sum`` (a
    table with ``load`` and ``mean_share``) adds the mean capacity-bound share.
    """
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(ci_on["method"]))
    pal = _palette(methods)
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.6))
    for a, t, lab in ((ax[0], ci_on, "mean on-time ratio"), (ax[1], ci_cost, "mean total cost (cost units, E6 + E7)")):
        for m in methods:
            g = t[t["method"] == m].sort_values("load")
            a.errorbar(g["load"], g["mean"], yerr=[g["mean"] - g["low"], g["high"] - g["mean"]], marker="o",
                       capsize=3, color=pal[m], label=m, lw=2.5 if m in ("proposed", "propavg", "edgefm") else 1.2)
        a.set_xlabel("load multiplier (× Table I rates)")
        a.set_ylabel(lab)
        a.set_xticks(sorted(t["load"].unique()))
    if bound_sum is not None:
        b = bound_sum.sort_values("load")
        ax[0].plot(b["load"], b["mean_share"], color=_BOUND_COLOR, lw=3, ls="--", label="capacity bound (mean)")
    ax[0].set_ylim(-0.02, 1.05)  # a ratio: t-intervals of few draws can overshoot [0, 1]
    ax[0].set_title("On-time ratio vs load (95 % t-CI over draws)")
    ax[1].set_title("Total cost vs load (95 % t-CI over draws)")
    # one legend for both panels, in a row of its own below them: it can hide no point or interval
    handles, labels = ax[0].get_legend_handles_labels()
    order = [labels.index(m) for m in methods] + [i for i, lab in enumerate(labels) if lab not in methods]
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower center", ncol=len(order),
               fontsize=9, frameon=False, bbox_to_anchor=(0.5, 0.0), handlelength=2.2, columnspacing=1.2)
    return fig


def plot_bound_by_load(bound_df):
    """Capacity bound per load: distribution of the share and the fraction of overloaded draws."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    d = bound_df.assign(load=bound_df["load"].map(lambda x: f"{x:g}×"))
    sns.stripplot(data=d, x="load", y="headroom", color="0.3", size=3, alpha=0.6, ax=ax[0])
    sns.boxplot(data=d, x="load", y="headroom", color="0.85", fliersize=0, ax=ax[0])
    ax[0].axhline(1.0, color="tab:red", ls=":", lw=1.5)
    ax[0].set_ylabel("capacity headroom φ*")
    ax[0].set_title("Core capacity / offered core work per draw (red: 1)")
    frac = bound_df.groupby("load")["overloaded"].mean()
    ax[1].bar([f"{x:g}×" for x in frac.index], frac.to_numpy(), color="tab:red", alpha=0.7)
    for i, v in enumerate(frac.to_numpy()):
        ax[1].text(i, v + 0.01, f"{v:.0%}", ha="center")
    ax[1].set_ylim(0, 1.05)
    ax[1].set_ylabel("share of draws (overloaded)")
    ax[1].set_title("Draws overloaded whatever the method (bound < 1)")
    for a in ax:
        a.set_xlabel("load multiplier (× Table I rates)")
    fig.tight_layout()
    return fig
