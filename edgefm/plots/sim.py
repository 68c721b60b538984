"""Figures of one simulation run (notebook 03)."""
from __future__ import annotations

import numpy as np

from . import integer_ticks

__all__ = ["plot_run_timeline", "plot_latency_cdf", "plot_gantt"]


def plot_run_timeline(slots, horizon: int | None = None):
    """Arrivals, waiting stages and light instances per slot (three stacked panels)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(3, 1, figsize=(9, 6.5), sharex=True)
    for a, col, lab in zip(ax, ("arrivals", "waiting_stages", "light_instances"),
                           ("tasks arrived", "stages waiting", "light instances")):
        a.plot(slots["slot"], slots[col], lw=0.8)
        a.set_ylabel(lab)
        integer_ticks(a)  # counts
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
    """A Gantt view of a few tasks through their DAGs: one lane per stage, lanes grouped by task.

    Each bar is one stage (core or light, see the legend) labelled ``MS@node``; every stage has a lane of
    its own, so no label runs into another bar. The black tick marks the task's arrival; gaps between a
    task's bars are transfers and waits.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    tasks = list(dict.fromkeys(stages["task"]))
    colors = {"core": "tab:blue", "light": "tab:orange"}
    groups = [stages[stages["task"] == t].sort_values("start_ms") for t in tasks]
    n_lanes = sum(len(g) for g in groups) + max(len(groups) - 1, 0)  # an empty lane between tasks
    fig, ax = plt.subplots(figsize=(9, 0.14 * n_lanes + 1.4))
    lane, centres, right = 0, [], 0.0
    for t, g in zip(tasks, groups):
        first = lane
        for _, s in g.iterrows():
            if np.isfinite(s["finish_ms"]):
                ax.barh(lane, s["finish_ms"] - s["start_ms"], left=s["start_ms"], height=0.8,
                        color=colors[s["kind"]], edgecolor="k", lw=0.3)
                ax.text(s["finish_ms"], lane, f" {s['ms']}@{s['node']}", va="center", fontsize=7)
                right = max(right, float(s["finish_ms"]))
            lane += 1
        t0 = float(g["arrival_ms"].iloc[0])
        ax.plot([t0, t0], [first - 0.5, lane - 0.5], color="k", lw=2)
        centres.append((first + lane - 1) / 2)
        if lane < n_lanes:
            ax.axhline(lane, color="0.8", lw=0.8)
        lane += 1
    ax.set_yticks(centres, [f"task {t}" for t in tasks])
    ax.grid(axis="y", visible=False)
    ax.set_ylim(n_lanes - 0.4, -0.6)
    lo = float(stages["arrival_ms"].min()) if len(stages) else 0.0
    ax.set_xlim(lo - 0.02 * (right - lo + 1), right + 0.18 * (right - lo + 1))  # room for the last labels
    ax.set_xlabel("time (ms)")
    ax.set_title("Stages of a few tasks (gaps between a task's bars are transfers and waits)")
    handles = [Patch(color=colors["core"], label="core MS stage"), Patch(color=colors["light"], label="light MS stage"),
               Line2D([], [], color="k", lw=2, label="task arrival")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
