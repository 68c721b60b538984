"""Figures of the fault-tolerance study (notebook 07): on-time ratio under one node failure.

Both functions read the tidy tables of :func:`edgefm.experiments.faults.fault_runs`.
"""
from __future__ import annotations

__all__ = ["plot_fault_bars", "plot_recovery"]


def plot_fault_bars(runs, metrics=("on_time_ratio", "on_time_after")):
    """Bars of on-time ratio per failed node (x) and placement (hue), mean over seeds with min–max whiskers.

    One panel per metric: ``on_time_ratio`` (all arrivals) and ``on_time_after`` (tasks arriving at or
    after the failure slot).
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from . import placement_palette

    titles = {"on_time_ratio": "all tasks", "on_time_after": "tasks arriving after the failure",
              "on_time_before": "tasks arriving before the failure"}
    places = list(runs["placement"].cat.categories) if hasattr(runs["placement"], "cat") else \
        list(dict.fromkeys(runs["placement"]))
    pal = placement_palette(places)
    fig, axes = plt.subplots(1, len(metrics), figsize=(6.2 * len(metrics), 4.0), sharey=True, squeeze=False)
    for ax, met in zip(axes[0], metrics):
        sns.barplot(data=runs, x="failed", y=met, hue="placement", errorbar=("pi", 100), capsize=0.1,
                    err_kws={"linewidth": 1.0}, palette=pal, hue_order=places, ax=ax, legend=ax is axes[0][-1])
        ax.set_title(titles.get(met, met))
        ax.set_xlabel("failed node")
        ax.set_ylabel("on-time ratio")
        ax.set_ylim(0, 1.05)
    axes[0][-1].legend(title="placement", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return fig


def plot_recovery(wins, fail_slot: int, failed=None):
    """Recovery curves: on-time ratio per window of arrival slots vs time since the failure.

    One panel per failed node (``failed`` selects them, default all but ``"none"``), a line per placement
    (mean over seeds); the no-failure baseline of each placement is drawn dotted when present.
    """
    import matplotlib.patheffects as pe
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from . import placement_palette

    names = [f for f in wins["failed"].cat.categories if f != "none"] if failed is None else list(failed)
    places = list(wins["placement"].cat.categories)
    pal = placement_palette(places)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), sharey=True, squeeze=False)
    base = wins[wins["failed"] == "none"]
    for ax, name in zip(axes[0], names):
        d = wins[wins["failed"] == name]
        for p in places:
            g = d[d["placement"] == p].groupby("since_failure", observed=True)["on_time_ratio"].mean()
            ax.plot(g.index, g.values, marker="o", ms=3, color=pal[p], label=p, zorder=2)
            b = base[base["placement"] == p].groupby("since_failure", observed=True)["on_time_ratio"].mean()
            if len(b):  # on top of every curve, dark-edged so that it shows where it coincides with one
                ax.plot(b.index, b.values, ls=(0, (1, 1.5)), color=pal[p], lw=2.2, zorder=4,
                        path_effects=[pe.Stroke(linewidth=3.4, foreground="0.15"), pe.Normal()])
        ax.axvline(0, color="k", lw=0.8, ls="--")
        ax.set_title(f"{name} fails at slot {fail_slot}")
        ax.set_ylim(-0.02, 1.05)
    fig.supxlabel("window start − failure slot (slots)", fontsize=10)
    axes[0][0].set_ylabel("on-time ratio per window")
    handles, _ = axes[0][0].get_legend_handles_labels()
    if len(base):
        handles.append(Line2D([], [], ls=(0, (1, 1.5)), color="0.5", lw=2.2,
                              path_effects=[pe.Stroke(linewidth=3.4, foreground="0.15"), pe.Normal()],
                              label="same placement,\nno failure"))
    axes[0][-1].legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="placement")
    fig.tight_layout()
    return fig
