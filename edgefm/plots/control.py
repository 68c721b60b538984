"""Figures for the tier-2 light controller (notebook 04, Algorithm 1, Eqs. E18–E21).

Every function takes a tidy table from :mod:`edgefm.experiments.control_study`
and returns a :class:`matplotlib.figure.Figure`.
"""
from __future__ import annotations

import numpy as np

from . import integer_ticks

__all__ = ["plot_slot_series", "plot_eta_tradeoff", "plot_gap", "plot_decision_times", "plot_compare"]


def _plt():
    import matplotlib.pyplot as plt

    return plt


def plot_slot_series(df, title: str | None = None):
    """Light instances and waiting stages per slot (from ``slot_series``), two stacked panels."""
    plt = _plt()
    fig, axes = plt.subplots(2, 1, figsize=(8, 4.6), sharex=True)
    axes[0].plot(df["slot"], df["light_instances"], color="C0")
    axes[0].set_ylabel("light instances")
    axes[1].plot(df["slot"], df["waiting"], color="0.3")
    axes[1].set_ylabel("waiting stages")
    axes[1].set_xlabel("slot t (1 ms)")
    for ax in axes:
        integer_ticks(ax)  # counts
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    return fig


def plot_eta_tradeoff(df):
    """Light cost, mean/P95 latency and latency-debt excess versus η (from ``eta_sweep``), log η axis."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    axes[0].plot(df["eta"], df["light_cost"], "o-")
    axes[0].set_ylabel("light cost C_light (E7, summed; cost units)")
    axes[1].plot(df["eta"], df["latency_mean"], "o-", label="mean")
    axes[1].plot(df["eta"], df["latency_p95"], "s--", label="P95")
    axes[1].set_ylabel("task latency (ms)")
    axes[1].legend(fontsize=8)
    if "debt_excess" in df:
        axes[2].plot(df["eta"], df["debt_excess"], "o-", color="C3")
    axes[2].set_ylabel("Σ_j (H_j − H_min) at end")
    etas = sorted(df["eta"].unique())
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(etas, [f"{e:g}" for e in etas])
        ax.minorticks_off()
        ax.set_xlabel("η")
    fig.tight_layout()
    return fig


def plot_gap(df):
    """Histogram of the relative greedy − exact gap and greedy vs exact objective (from ``gap_study``)."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    gap = np.asarray(df["gap"], dtype=float) * 100
    axes[0].hist(gap, bins=max(5, min(20, len(gap))), color="C0", edgecolor="white")
    axes[0].set_xlabel("relative gap (greedy − exact) / exact (%)")
    axes[0].set_ylabel("sampled slots")
    integer_ticks(axes[0])
    axes[1].scatter(df["exact"], df["greedy"], s=18)
    lo = float(min(df["exact"].min(), df["greedy"].min())) if len(df) else 0.0
    hi = float(max(df["exact"].max(), df["greedy"].max())) if len(df) else 1.0
    axes[1].plot([lo, hi], [lo, hi], "k--", lw=1, label="greedy = exact")
    axes[1].set_xlabel("exact E19 objective")
    axes[1].set_ylabel("greedy E19 objective")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_decision_times(df):
    """Per-slot decision time median and P99 (ms) versus load (from ``decision_time_study``)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for col, mk, lab in (("decision_ms_median", "o-", "median"), ("decision_ms_p99", "s--", "P99")):
        ax.plot(df["load"], df[col], mk, label=lab)
    ax.set_xlabel("load multiplier (× Table I rates)")
    ax.set_ylabel("decision time per slot (ms)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_compare(df):
    """Fraction of slots and stages where g_ε and g_avg decisions differ (from ``compare_study``)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    kinds = list(df["kind"])
    pos = np.arange(len(kinds))
    # greys: the bars are two measures, not methods (blue and orange are proposed's and propavg's colours)
    ax.bar(pos - 0.2, df["frac_slots"], width=0.4, color="0.35", label="slots differing")
    ax.bar(pos + 0.2, df["frac_stages"], width=0.4, color="0.7", label="stage decisions differing")
    ax.set_xticks(pos, [f"run with g_{k}" for k in kinds])
    ax.set_ylabel("share of decisions that differ")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
