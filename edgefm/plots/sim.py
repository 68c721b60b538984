"""Figures of one simulation run (notebook 03)."""
from __future__ import annotations

import numpy as np

__all__ = ["plot_run_timeline", "plot_latency_cdf", "plot_gantt"]


def plot_run_timeline(slots, horizon: int | None = None):
    """Arrivals, waiting stages and light instances per slot (three stacked panels)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(3, 1, figsize=(9, 6.5), sharex=True)
    for a, col, lab in zip(ax, ("arrivals", "waiting_stages", "light_instances"),
                           ("tasks arrived", "stages waiting", "light instances")):
        a.plot(slots["slot"], slots[col], lw=0.8)
        a.set_ylabel(lab)
        if horizon is not None:
            a.axvline(horizon, color="k", ls=":", lw=1)
    ax[0].set_title("One run, slot by slot (dotted: end of arrivals, then drain)")
    ax[-1].set_xlabel("slot (ms)")
    fig.tight_layout()
    return fig


def plot_latency_cdf(tasks):
    """Empirical CDF of end-to-end latency per task type, deadlines marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, g) in enumerate(tasks.groupby("type", sort=False)):
        lat = np.sort(g["latency_ms"].to_numpy())
        fin = np.isfinite(lat)
        y = np.arange(1, len(lat) + 1) / len(lat)
        line, = ax.step(lat[fin], y[fin], where="post", label=name)
        ax.axvline(g["deadline_ms"].iloc[0], color=line.get_color(), ls="--", lw=0.8)
    ax.set_xlabel("end-to-end latency (ms)")
    ax.set_ylabel("fraction of tasks")
    ax.set_title("Latency CDF per task type (dashed: deadline D_n)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_gantt(stages):
    """A Gantt view of a few tasks through their DAGs: one row per task, one bar per stage."""
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(stages["task"]))
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(tasks) + 1.5))
    colors = {"core": "tab:blue", "light": "tab:orange"}
    for row, t in enumerate(tasks):
        g = stages[stages["task"] == t].sort_values("start_ms")
        t0 = g["arrival_ms"].iloc[0]
        ax.plot([t0], [row], "k|", ms=12)
        for k, (_, s) in enumerate(g.iterrows()):
            if not np.isfinite(s["finish_ms"]):
                continue
            y = row + 0.28 * ((k % 3) - 1)
            ax.barh(y, s["finish_ms"] - s["start_ms"], left=s["start_ms"], height=0.25,
                    color=colors[s["kind"]], edgecolor="k", lw=0.3)
            ax.text(s["finish_ms"], y, f" {s['ms']}@{s['node']}", va="center", fontsize=6)
    ax.set_yticks(range(len(tasks)), [f"task {t}" for t in tasks])
    ax.invert_yaxis()
    ax.set_xlabel("time (ms); | = arrival; blue core, orange light; gaps are transfers and waits")
    ax.set_title("Stages of a few tasks")
    fig.tight_layout()
    return fig
