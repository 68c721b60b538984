"""Figures for effective capacity and the E21 delay model (notebook 01).

Every function takes a tidy table from :mod:`edgefm.capacity_sim` and returns a
:class:`matplotlib.figure.Figure`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot_ec_curves", "plot_theta_vs_load", "plot_delay_vs_parallelism", "plot_calibration"]


def _plt():
    import matplotlib.pyplot as plt

    return plt


def plot_ec_curves(df, normalised: bool = False):
    """EC(theta) per (k, beta) (from ``ec_curve_table``), log theta axis; one panel per k.

    ``normalised=True`` plots EC / (k beta), which for Gamma service depends on beta only.
    """
    plt = _plt()
    ks = sorted(df["k"].unique())
    fig, axes = plt.subplots(1, len(ks), figsize=(4.2 * len(ks), 3.4), sharey=normalised, squeeze=False)
    col = "ec_norm" if normalised else "ec"
    for ax, k in zip(axes[0], ks):
        for b, g in df[df["k"] == k].groupby("beta"):
            ax.plot(g["theta"], g[col], label=f"β = {b:g} MB/ms")
        ax.set_xscale("log")
        ax.set_title(f"Gamma service, k = {k:g}")
        ax.set_xlabel("QoS exponent θ (1/MB)")
    axes[0, 0].set_ylabel("EC(θ) / mean rate" if normalised else "EC(θ) (MB/ms)")
    axes[0, -1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_theta_vs_load(df):
    """theta* and the delay decay rate theta* r versus load (from ``theta_load_table``)."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for (k, b), g in df.groupby(["k", "beta"]):
        axes[0].plot(g["load"], g["theta"], label=f"k={k:g}, β={b:g}")
        axes[1].plot(g["load"], g["decay"], label=f"k={k:g}, β={b:g}")
    for ax, lab in zip(axes, ("θ* (1/MB)", "decay rate θ*·r (1/ms)")):
        ax.set_yscale("log")
        ax.set_xlabel("load r / (kβ)")
        ax.set_ylabel(lab)
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_delay_vs_parallelism(df, epsilon: float | None = None):
    """g_eps(y) (solid) and g_avg(y) (dashed) per light MS (from ``delay_curve_table``).

    Infinite entries (no theta*) are left out; the curve stops where the load reaches the mean.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for m, g in df.groupby("ms"):
        c = colors[int(m) % len(colors)]
        g = g[g["y"] > 0]  # g(0) = 0 is off the log axis
        ec, avg = g[g["kind"] == "ec"], g[g["kind"] == "avg"]
        ok = np.isfinite(ec["g"]) & ~ec["fallback"]
        r = ec.iloc[0]
        ax.plot(ec["y"][ok], ec["g"][ok], "-o", ms=3, color=c,
                label=f"MS {m}: a={r['a']:.2f}, k={r['k']:.2f}, β={r['beta']:.1f}")
        ax.plot(avg["y"], avg["g"], "--", color=c, alpha=0.7)
    ax.set_xlabel("parallel jobs y on one instance")
    ax.set_ylabel("delay bound (ms)")
    title = "E21 g_ε(y) (solid) vs mean-rate g_avg(y) (dashed)"
    ax.set_title(title + (f", ε = {epsilon:g}" if epsilon is not None else ""), fontsize=10)
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_calibration(df):
    """Predicted vs simulated Pr{delay > d} on log-log axes, coloured by load (from
    ``calibration_table``; an optional ``k`` column sets the marker)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    markers = "osD^v"
    ks = sorted(df["k"].unique()) if "k" in df else [None]
    loads = sorted(df["load"].unique())
    cmap = plt.get_cmap("viridis")
    for i, k in enumerate(ks):
        sub = df if k is None else df[df["k"] == k]
        for j, load in enumerate(loads):
            g = sub[sub["load"] == load]
            ax.scatter(g["p_pred"], g["p_sim"], color=cmap(j / max(len(loads) - 1, 1)),
                       marker=markers[i % len(markers)], s=22,
                       label=(f"load {load:g}" if i == 0 else None))
    lo = max(min(df["p_pred"].min(), df["p_sim"][df["p_sim"] > 0].min()) / 2, 1e-6)
    xs = np.array([lo, 1.0])
    ax.plot(xs, xs, "k-", lw=1)
    ax.fill_between(xs, xs / 2, xs * 2, color="grey", alpha=0.15, label="factor 2")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("predicted γ·exp(−θ*·r·d)")
    ax.set_ylabel("simulated Pr{delay > d}")
    if ks != [None]:
        ax.set_title("markers: k = " + ", ".join(f"{m}:{k:g}" for m, k in zip(markers, ks)), fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
