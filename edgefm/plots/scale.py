"""Figures of the scaling study (notebook 09)."""
from __future__ import annotations

from . import integer_ticks, label, method_palette

__all__ = ["plot_scale"]


def plot_scale(df):
    """Quality and effort against network size (nodes): on-time ratio, cost per task,
    placement solve time (log), per-slot decision time (median, P99 dashed; log).

    Methods keep their colours (:func:`edgefm.plots.method_palette`); the placement solver ``edgefm``
    (the method's own provisioning) takes the ``edgefm`` colour, the E14 solvers neutral ones."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    pal = method_palette(list(dict.fromkeys(df["method"])))

    fig, ax = plt.subplots(2, 2, figsize=(10, 7))
    sns.lineplot(data=df, x="nodes", y="on_time_ratio", hue="method", palette=pal, marker="o", ax=ax[0, 0])
    sns.lineplot(data=df, x="nodes", y="cost_per_task", hue="method", palette=pal, marker="o", ax=ax[0, 1], legend=False)
    solvers = list(dict.fromkeys(df["placement_solver"]))
    neutral = iter(["0.25", "0.55", "#bcbd22", "#17becf"])  # the E14 solvers serve every method but edgefm
    spal = {sv: method_palette(["edgefm"])["edgefm"] if sv == "edgefm" else next(neutral, "0.4") for sv in solvers}
    sns.lineplot(data=df.drop_duplicates(["network", "seed", "placement_solver"]), x="nodes",
                 y="placement_seconds", hue="placement_solver", palette=spal, marker="s", ax=ax[1, 0])
    ax[1, 0].set_yscale("log")
    sns.lineplot(data=df, x="nodes", y="decision_ms_median", hue="method", palette=pal, marker="o", ax=ax[1, 1], legend=False)
    sns.lineplot(data=df, x="nodes", y="decision_ms_p99", hue="method", palette=pal, marker="^", ax=ax[1, 1], legend=False,
                 linestyle="--")
    ax[0, 0].set_ylim(0, 1.02)
    ax[0, 0].set_ylabel(label("on_time_ratio"))
    ax[0, 0].legend(title=label("method"), fontsize=8)
    ax[0, 1].set_ylabel(label("cost_per_task"))
    ax[1, 1].set_yscale("log")
    ax[1, 1].set_ylabel("decision time per slot (ms, log)")
    ax[1, 1].set_title("median (circles, solid) and P99 (triangles, dashed)", fontsize=9)
    ax[1, 0].set_ylabel("core placement solve time (s, log)")
    ax[1, 0].legend(title=label("placement_solver"), fontsize=8)
    for a in ax.flat:
        a.set_xlabel(label("nodes"))
        integer_ticks(a, "x")
    fig.suptitle("Scaling to real topologies")
    fig.tight_layout()
    return fig
