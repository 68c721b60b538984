"""Figures of the ``edgefm`` method (notebook 10): the sizing rule, the comparison, the ablations."""
from __future__ import annotations

import numpy as np

from . import label, method_palette

__all__ = ["plot_queue_check", "plot_ablation", "plot_versus_bound"]


def plot_queue_check(df):
    """Predicted (E22) vs simulated Pr{W > budget} per pool size, against the offered rate / g(c)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    groups = list(df.groupby("servers"))
    cmap = plt.get_cmap("viridis")  # pool sizes, not methods: a sequential map, no method's colour
    for k, (c, g) in enumerate(groups):
        col = cmap(0.85 * k / max(len(groups) - 1, 1))
        ax.plot(g["factor"], g["predicted"], "-o", color=col, label=f"c = {c}: E22")
        ax.plot(g["factor"], g["simulated"], "--x", color=col, label=f"c = {c}: simulated")
    eps = float(df.loc[np.isclose(df["factor"], 1.0), "predicted"].iloc[0]) if (np.isclose(df["factor"], 1.0)).any() else None
    if eps:
        ax.axhline(eps, color="0.5", ls=":", lw=1)
        ax.axvline(1.0, color="0.5", ls=":", lw=1)
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel("arrival rate / g(c) (1 = the sized rate)")
    ax.set_ylabel("Pr{wait > budget}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_versus_bound(df):
    """Per draw: each method's on-time ratio against the draw's capacity-bound share (one panel per load)."""
    import matplotlib.pyplot as plt

    loads = sorted(df["load"].unique())
    methods = list(dict.fromkeys(df["method"]))
    pal = method_palette(methods)
    fig, axes = plt.subplots(1, len(loads), figsize=(3.4 * len(loads), 3.3), sharey=True, squeeze=False)
    for ax, ld in zip(axes[0], loads):
        d = df[np.isclose(df["load"], ld)]
        for m in methods:
            g = d[d["method"] == m]
            ax.scatter(g["bound_share"], g["on_time_ratio"], s=14 if m != "edgefm" else 26, alpha=0.8,
                       color=pal[m], label=m, zorder=3 if m == "edgefm" else 2)
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
        ax.set_title(f"load {ld:g}×")
        lo = max(0.0, float(d["bound_share"].min()) - 0.05)
        ax.set_xlim(lo, 1.01)
        ax.xaxis.set_major_locator(plt.MaxNLocator(4))  # tick labels of adjacent panels never meet
    axes[0][0].set_ylabel(label("on_time_ratio"))
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), title=label("method"),
                       title_fontsize=7)
    fig.supxlabel("capacity-bound share of the draw (share of its tasks the nodes can serve at all)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_ablation(eff):
    """Paired effect (variant − full) of switching one ingredient off, with bootstrap intervals."""
    import matplotlib.pyplot as plt

    metrics = [("on_time_ratio", "on-time ratio: variant − full edgefm"),
               ("cost_total", "total cost: variant − full edgefm (cost units)")]
    loads = sorted(eff["load"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 0.5 + 0.45 * eff["variant"].nunique() * len(loads)))
    for ax, (met, label) in zip(axes, metrics):
        d = eff[eff["metric"] == met].reset_index(drop=True)
        ys = np.arange(len(d))
        ax.hlines(ys, d["boot_low"], d["boot_high"], color="k", lw=3, alpha=0.35)
        ax.plot(d["mean_diff"], ys, "o", color=method_palette(["edgefm"])["edgefm"])
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(ys, [f"{v} @ {ld:g}×" for v, ld in zip(d["variant"], d["load"])], fontsize=8)
        ax.set_xlabel(label)
    axes[1].set_yticks([])
    fig.tight_layout()
    return fig


def plot_methods_under_failure(runs):
    """Every method on its own placement under one failed node (:func:`edgefm.experiments.faults.method_fault_runs`).

    Two panels: the on-time ratio of all tasks and of the tasks arriving after the failure, per failed
    node (x; ``none`` is the run without a failure) and method (bars, one colour per method as in every
    figure), mean over seeds.
    """
    import matplotlib.pyplot as plt

    from . import METHOD_ORDER

    methods = [m for m in METHOD_ORDER if m in set(runs["placement"].astype(str))]
    methods += sorted(set(runs["placement"].astype(str)) - set(methods))
    pal = method_palette(methods)
    failed = [f for f in runs["failed"].cat.categories if (runs["failed"] == f).any()]
    mean = runs.groupby(["failed", "placement"], observed=True)[["on_time_ratio", "on_time_after"]].mean()
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 3.8), sharey=True)
    width = 0.8 / len(methods)
    for ax, col, title in zip(axes, ("on_time_ratio", "on_time_after"),
                              ("all tasks", "tasks arriving after the failure")):
        for i, m in enumerate(methods):
            y = [mean[col].get((f, m), np.nan) for f in failed]
            ax.bar(np.arange(len(failed)) + (i - (len(methods) - 1) / 2) * width, y, width, color=pal[m], label=m)
        ax.set_xticks(np.arange(len(failed)), [f if f != "none" else "no failure" for f in failed])
        ax.set_xlabel("failed node")
        ax.set_title(title)
        ax.set_ylim(0, 1.05)
    axes[0].set_ylabel("on-time ratio (mean over seeds)")
    axes[1].legend(title="method", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return fig
