"""System-model figures: the task DAGs (Fig. 1), the edge network (Fig. 2), transfer delays (E2).

Each function takes a :class:`~edgefm.scenario.schema.Scenario` and returns a
:class:`matplotlib.figure.Figure`; save it with :func:`edgefm.plots.savefig`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot_task_dags", "plot_network", "plot_transfer_matrix", "dag_layout"]

CORE_COLOR = "#c44e52"
LIGHT_COLOR = "#4c72b0"
ES_COLOR = "#55a868"
ED_COLOR = "#dd8452"


def dag_layout(task, spacing: float = 2.4) -> dict[int, tuple[float, float]]:
    """Positions of the stages of an inverse-tree task type, roots on top, sink at the bottom.

    The row of a stage is its hop distance to the sink; leaves are spread evenly
    across ``spacing`` apart, and every other stage sits at the mean x of its parents, so edges
    never cross. Returns ``{stage index: (x, y)}``.
    """
    depth = [len(task.descendants(i)) for i in range(task.n_stages)]
    x: dict[int, float] = {}
    leaves = 0

    def place(i):  # post-order from the sink: parents first
        nonlocal leaves
        ps = task.parents[i]
        for p in ps:
            place(p)
        if ps:
            x[i] = float(np.mean([x[p] for p in ps]))
        else:
            x[i] = spacing * leaves
            leaves += 1

    place(task.sink)
    mid = spacing * (leaves - 1) / 2
    return {i: (x[i] - mid, float(depth[i])) for i in range(task.n_stages)}


def plot_task_dags(scenario, *, figsize=None):
    """Fig. 1: the task types' DAGs side by side (docs/model.md §2).

    Core microservices are squares, light ones circles; arrows point from
    parent to child, so data flows down to the sink. Panel titles give the
    input size A_n and deadline D_n.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    s = scenario
    N = s.n_types
    layouts = [dag_layout(t) for t in s.task_types]
    half = max(abs(p[0]) for pos in layouts for p in pos.values())
    top = max(p[1] for pos in layouts for p in pos.values())
    fig, axes = plt.subplots(1, N, figsize=figsize or (3.3 * N, 5.4), squeeze=False)
    for ax, t, pos in zip(axes[0], s.task_types, layouts):
        for i, c in enumerate(t.child):
            if c >= 0:
                ax.annotate("", xy=pos[c], xytext=pos[i],
                            arrowprops=dict(arrowstyle="-|>", color="0.35", lw=1.4, mutation_scale=14,
                                            shrinkA=17, shrinkB=17))
        for i, m in enumerate(t.stages):
            ms = s.microservices[m]
            ax.scatter(*pos[i], s=900 if ms.is_core else 750, marker="s" if ms.is_core else "o",
                       c=CORE_COLOR if ms.is_core else LIGHT_COLOR, edgecolors="black", linewidths=0.8,
                       zorder=3)
            ax.text(pos[i][0] + 0.45, pos[i][1], ms.name, ha="left", va="center",  # exactly as in the YAML
                    fontsize=8.5 if len(ms.name) <= 12 else 7.5)
        ax.set_title(f"{t.name}\nA={t.input_mb:.2g} MB, D={t.deadline_ms:.3g} ms", fontsize=10)
        ax.set_xlim(-half - 0.8, half + 3.0)
        ax.set_ylim(-0.6, top + 0.6)
        ax.set_axis_off()
    handles = [Line2D([], [], marker="s", ls="", ms=11, mfc=CORE_COLOR, mec="black", label="core MS"),
               Line2D([], [], marker="o", ls="", ms=11, mfc=LIGHT_COLOR, mec="black", label="light MS")]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, fontsize=10)
    fig.suptitle("Task types as inverse-tree DAGs of microservices (data flows down to the sink)", fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _placement_text(scenario, placement) -> dict[int, str]:
    s = scenario
    x = np.asarray(placement)
    core = list(s.core_ms)
    if x.ndim != 2 or x.shape[0] != s.n_nodes or x.shape[1] not in (s.n_ms, len(core)):
        raise ValueError(f"placement must have shape ({s.n_nodes}, {s.n_ms}) or ({s.n_nodes}, {len(core)}), "
                         f"got {x.shape}")
    cols = list(range(s.n_ms)) if x.shape[1] == s.n_ms else core
    out = {}
    for v in range(s.n_nodes):
        parts = [f"{s.microservices[m].name}×{int(n)}" for m, n in zip(cols, x[v]) if n > 0]
        if parts:
            out[v] = "\n".join(parts)
    return out


def _network_layout(scenario) -> dict[int, np.ndarray]:
    """ES by Kamada–Kawai on the ES-only graph (or all nodes); EDs fanned out around their ES."""
    import networkx as nx

    s = scenario
    g = nx.Graph()
    g.add_nodes_from(range(s.n_nodes))
    g.add_edges_from((lk.u, lk.v) for lk in s.links)
    es = [v for v in g if s.nodes[v].kind == "ES"]
    core = g.subgraph(es)
    if len(es) < 2 or not nx.is_connected(core) or any(
            sum(s.nodes[w].kind == "ES" for w in g[v]) != 1 for v in g if v not in es):
        return nx.kamada_kawai_layout(g)
    pos = nx.circular_layout(core) if len(es) <= 8 else nx.kamada_kawai_layout(core)
    center = np.mean([pos[v] for v in es], axis=0)
    for v in es:
        leaves = [w for w in g[v] if w not in es]
        out = pos[v] - center
        base = np.arctan2(out[1], out[0]) if np.linalg.norm(out) > 1e-9 else 0.0
        spread = np.linspace(-0.75, 0.75, len(leaves)) if len(leaves) > 1 else [0.0]
        for w, a in zip(leaves, spread):
            pos[w] = pos[v] + 0.95 * np.array([np.cos(base + a), np.sin(base + a)])
    return pos


def plot_network(scenario, placement=None, *, figsize=(8.5, 7.5)):
    """Fig. 2: the edge network; ES squares, ED circles, links labelled with w_e (MB/ms).

    Parameters
    ----------
    scenario : Scenario
    placement : array of int, optional
        Core instance counts x_{v,m}, shape (V, M) (all microservices) or
        (V, number of core MSs); drawn as a badge beside each hosting node.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    s = scenario
    pos = _network_layout(s)
    badges = _placement_text(s, placement) if placement is not None else {}
    rates = np.array([lk.rate for lk in s.links])
    lo, hi = rates.min(), rates.max()
    fig, ax = plt.subplots(figsize=figsize)
    for lk in s.links:
        (x0, y0), (x1, y1) = pos[lk.u], pos[lk.v]
        width = 1.0 + 4.0 * ((lk.rate - lo) / (hi - lo) if hi > lo else 0.5)
        ax.plot([x0, x1], [y0, y1], color="0.55", lw=width, zorder=1, solid_capstyle="round")
        label = f"{lk.rate:.2f}" + (f"\n+{lk.propagation:.2g} ms" if lk.propagation else "")
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, label, fontsize=8, ha="center", va="center", zorder=2,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
    for v, n in enumerate(s.nodes):
        es = n.kind == "ES"
        ax.scatter(*pos[v], s=1100 if es else 550, marker="s" if es else "o", c=ES_COLOR if es else ED_COLOR,
                   edgecolors="black", linewidths=0.9, zorder=3)
        ax.text(*pos[v], n.name, ha="center", va="center", fontsize=8.5 if es else 7.5, weight="bold", zorder=4)
        if v in badges:
            # ES badges point into the mesh, ED badges away from their server: clear of the other nodes
            nbr = [pos[lk.v if lk.u == v else lk.u] for lk in s.links if v in (lk.u, lk.v)]
            ref = np.mean([pos[w] for w in range(s.n_nodes)] if es else nbr, axis=0)
            d = (ref - pos[v]) if es else (pos[v] - ref)
            d = d / (np.linalg.norm(d) or 1.0)
            ha = "left" if d[0] > 0.35 else "right" if d[0] < -0.35 else "center"
            va = "bottom" if d[1] > 0.35 else "top" if d[1] < -0.35 else "center"
            ax.annotate(badges[v], pos[v], xytext=tuple(26 * d), textcoords="offset points", fontsize=7,
                        zorder=5, ha=ha, va=va, bbox=dict(boxstyle="round,pad=0.25", fc="#fdf3d0", ec=CORE_COLOR, lw=0.8))
    handles = [Line2D([], [], marker="s", ls="", ms=13, mfc=ES_COLOR, mec="black", label="edge server (ES)"),
               Line2D([], [], marker="o", ls="", ms=10, mfc=ED_COLOR, mec="black", label="edge device (ED)"),
               Line2D([], [], color="0.55", lw=3, label="link, rate $w_e$ in MB/ms")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
    ax.set_title(f"Edge network '{s.name}' (seed {s.seed})" + (": core placement" if badges else ""))
    ax.set_aspect("equal")
    ax.margins(0.12)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_transfer_matrix(scenario, payload_mb: float, *, figsize=(7.5, 6.2)):
    """Heatmap of the transfer delays (E2) of ``payload_mb`` MB between every pair of nodes, in ms."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from ..network import network

    T = network(scenario).transfer_matrix(payload_mb)
    names = [n.name for n in scenario.nodes]
    fig, ax = plt.subplots(figsize=figsize)
    sns.heatmap(T, ax=ax, annot=len(names) <= 14, fmt=".1f", cmap="viridis", square=True,
                xticklabels=names, yticklabels=names, cbar_kws={"label": "transfer delay (ms)"},
                annot_kws={"fontsize": 7})
    ax.set_xlabel("to node")
    ax.set_ylabel("from node")
    ax.set_title(f"Transfer delay of {payload_mb:g} MB (E2)")
    fig.tight_layout()
    return fig
