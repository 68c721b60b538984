"""Figures of the trace-driven study (notebook 08)."""
from __future__ import annotations

from . import integer_ticks, label, method_palette

__all__ = ["plot_arrival_series", "plot_process_comparison"]


def plot_arrival_series(series, max_slots: int = 300):
    """Per-slot task counts of each arrival process (same mean rate), one panel each."""
    import matplotlib.pyplot as plt

    procs = list(dict.fromkeys(series["process"]))
    fig, ax = plt.subplots(len(procs), 1, figsize=(9, 1.6 * len(procs) + 0.8), sharex=True, sharey=True)
    for a, p in zip(ax, procs):
        g = series[(series["process"] == p) & (series["slot"] < max_slots)]
        a.plot(g["slot"], g["tasks"], lw=0.7, color="0.25")  # a process, not a method: no method colour
        a.set_ylabel(p)
        integer_ticks(a, nbins=4)  # tasks per slot: a count
    ax[0].set_title("Tasks per 1-ms slot: the same mean rate, different burstiness")
    fig.supylabel("tasks arrived per slot", fontsize=10)
    ax[-1].set_xlabel("slot (ms)")
    fig.tight_layout()
    return fig


def plot_process_comparison(df, metrics=("on_time_ratio", "cost_total")):
    """Mean of each metric per method and arrival process (points with 95 % intervals over seeds)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    pal = method_palette(list(dict.fromkeys(df["method"])))

    fig, ax = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4))
    for a, m in zip(ax, metrics):
        sns.pointplot(data=df, x="process", y=m, hue="method", palette=pal, errorbar=("ci", 95), dodge=0.4, ax=a,
                      linestyle="none", markersize=5)
        a.set_xlabel(label("process"))
        a.set_ylabel(label(m))
        a.set_title(f"{label(m).split(' (')[0]}: mean over draws, 95 % CI")
        if a is not ax[-1]:
            a.get_legend().remove()
        else:
            a.legend(title=label("method"), fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig
