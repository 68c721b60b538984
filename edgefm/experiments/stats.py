"""Statistics for paired method comparisons over scenario draws (docs/model.md §8.4, §10).

Every method of a sweep runs on the same draws (seed → scenario, arrivals,
service streams), so methods are compared *paired*: per seed, the difference
of a metric to a baseline method, then a confidence interval of the mean
difference over seeds — a Student-t interval and a percentile bootstrap
(Efron & Tibshirani 1993, ch. 13). Pairing removes the draw-to-draw spread
that dominates unpaired comparisons.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["t_interval", "bootstrap_ci", "mean_ci", "paired_differences", "feasible_range"]


def t_interval(values, ci: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean: ``(mean, low, high)``.

    With one value the interval is (mean, mean); NaNs are dropped.
    """
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(v.mean())
    if v.size < 2:
        return m, m, m
    half = float(stats.t.ppf(0.5 + ci / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return m, m - half, m + half


def bootstrap_ci(values, ci: float = 0.95, n_boot: int = 2000, seed=0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean, ``(low, high)``, resampling with ``seed``."""
    from ..rng import as_generator

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    if v.size == 1:
        return float(v[0]), float(v[0])
    rng = as_generator(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    lo, hi = np.quantile(means, [0.5 - ci / 2, 0.5 + ci / 2])
    return float(lo), float(hi)


def feasible_range(metric: str) -> tuple[float, float]:
    """The values a metric can take: [0, 1] for ratios and shares, [0, ∞) for costs, latencies,
    times and counts, else (−∞, ∞)."""
    if metric.endswith(("_ratio", "_share", "share")):
        return 0.0, 1.0
    if metric.startswith(("cost", "latency", "n_", "wall", "decision")) or metric.endswith(("_ms", "_s")) or \
            metric in ("arrivals", "on_time", "late", "unfinished"):
        return 0.0, math.inf
    return -math.inf, math.inf


def mean_ci(df, metric: str, by=("method", "load"), ci: float = 0.95, bounds: tuple | None = None):
    """Mean of ``metric`` per group with its t-interval, clipped to the metric's feasible range.

    With few runs (a quick sweep has n = 2) a t-interval can reach values the metric cannot take
    (a negative cost, an on-time ratio above 1); ``low`` and ``high`` are clipped to ``bounds``
    (default :func:`feasible_range` of the metric).

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``n``, ``mean``, ``low``, ``high``, ``std``.
    """
    import pandas as pd

    rows = []
    for key, g in df.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        m, lo, hi = t_interval(g[metric], ci)
        lo, hi = (float(np.clip(v, *(bounds or feasible_range(metric)))) if np.isfinite(v) else v for v in (lo, hi))
        rows.append(dict(zip(by, key), n=int(g[metric].notna().sum()), mean=m, low=lo, high=hi,
                         std=float(g[metric].std(ddof=1)) if len(g) > 1 else 0.0))
    return pd.DataFrame(rows)


def paired_differences(df, metric: str, baseline: str = "proposed", by=("load",), ci: float = 0.95,
                       n_boot: int = 2000, seed=0, relative: bool = False):
    """Per-seed differences ``metric(method) − metric(baseline)`` and their CIs.

    Parameters
    ----------
    df : pandas.DataFrame
        Tidy sweep table with ``seed``, ``method`` and the ``by`` columns.
    metric : str
        Column to compare (e.g. ``on_time_ratio``, ``cost_total``).
    baseline : str
        Method every other method is compared with.
    by : tuple of str
        Further grouping (the pairing is within each group, on ``seed``).
    relative : bool
        Divide each difference by the baseline's value (ratio − 1).

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``method``, ``n`` (paired seeds), ``mean_diff``, ``t_low``,
        ``t_high``, ``boot_low``, ``boot_high``, ``wins`` (seeds where the method
        is strictly higher than the baseline), ``losses``.
    """
    import pandas as pd

    by = list(by)
    rows = []
    for key, g in df.groupby(by, sort=False) if by else [((), df)]:
        key = key if isinstance(key, tuple) else (key,)
        wide = g.pivot_table(index="seed", columns="method", values=metric, aggfunc="first")
        if baseline not in wide:
            continue
        for m in [c for c in wide.columns if c != baseline]:
            pair = wide[[m, baseline]].dropna()
            d = pair[m] - pair[baseline]
            if relative:
                d = d / pair[baseline].where(pair[baseline] != 0)
            mean, tl, th = t_interval(d, ci)
            bl, bh = bootstrap_ci(d, ci, n_boot, seed)
            rows.append(dict(zip(by, key), method=m, n=int(d.notna().sum()), mean_diff=mean, t_low=tl, t_high=th,
                             boot_low=bl, boot_high=bh, wins=int((d > 0).sum()), losses=int((d < 0).sum())))
    return pd.DataFrame(rows)
