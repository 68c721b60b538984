"""The ``edgefm`` method against every baseline and the capacity bound, paired by draw.

Used by ``benchmarks/bench_method.py`` and notebook 10. Every method runs on the same
draws (scenario, arrivals, service streams) through :func:`~edgefm.experiments.sweep.run_sweep`
(so cells are cached and shared with the Fig. 3 / Fig. 4 sweeps when their configuration
matches); the bound of each draw comes from :func:`~edgefm.experiments.bound.bound_table`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["method_spec", "run_study", "headline_table", "ablation_spec", "ABLATIONS"]

#: One ingredient switched off at a time (controller overrides of the ``edgefm`` method).
ABLATIONS = {
    "full": {},
    "no admission (E25)": {"admission": False},
    "no shedding (E26)": {"shed_hopeless": False},
    "no admission, no shedding": {"admission": False, "shed_hopeless": False},
    "elastic light (E27 option)": {"elastic": True},
}


def method_spec(name: str, seeds, loads, horizon: int, methods=None, scenario: str | None = None):
    """A :class:`~edgefm.experiments.sweep.SweepSpec` of every registered method (default)."""
    from .. import data_path
    from ..control import METHODS
    from .sweep import SweepSpec

    return SweepSpec(name=name, scenario=str(scenario or data_path("scenarios/paper.yaml")),
                     seeds=tuple(int(s) for s in seeds), methods=tuple(methods or METHODS),
                     loads=tuple(float(x) for x in loads), overrides=({"horizon_slots": int(horizon)},))


def ablation_spec(name: str, seeds, loads, horizon: int, scenario: str | None = None):
    """The ``edgefm`` method with each ingredient of :data:`ABLATIONS` switched off, one per override."""
    from .. import data_path
    from .sweep import SweepSpec

    ovs = tuple({"horizon_slots": int(horizon), "controller": dict(c)} if c else {"horizon_slots": int(horizon)}
                for c in ABLATIONS.values())
    return SweepSpec(name=name, scenario=str(scenario or data_path("scenarios/paper.yaml")),
                     seeds=tuple(int(s) for s in seeds), methods=("edgefm",),
                     loads=tuple(float(x) for x in loads), overrides=ovs)


def run_study(spec, workers: int | None = None, progress: bool = True):
    """Run ``spec`` and join each row with its draw's capacity bound (``bound_share``).

    Returns
    -------
    pandas.DataFrame
        The sweep's rows plus ``bound_share``.
    """
    from .bound import bound_table
    from .sweep import run_sweep

    df = run_sweep(spec, workers=workers, progress=progress)
    b = bound_table(Path(spec.scenario), sorted(set(df["seed"])), sorted(set(df["load"])))
    return df.merge(b[["seed", "load", "share"]].rename(columns={"share": "bound_share"}), on=["seed", "load"])


def headline_table(df, reference: str = "edgefm", ci: float = 0.95, seed: int = 0):
    """Method × load: mean on-time ratio and cost with t-intervals, and the paired bootstrap
    interval of each method's difference to ``reference`` (positive: the method is higher).

    Returns
    -------
    pandas.DataFrame
        ``load``, ``method``, ``n``, ``on_time`` / ``on_time_low`` / ``on_time_high``,
        ``cost`` / ``cost_low`` / ``cost_high`` (cost in thousands), ``bound`` (mean
        capacity-bound share of the same draws), ``d_on_time_low/high`` and
        ``d_cost_low/high`` (method − reference, bootstrap), ``decision_ms_median``,
        ``decision_ms_p99`` (median over draws).
    """
    import pandas as pd

    from .stats import paired_differences, t_interval

    d_on = paired_differences(df, "on_time_ratio", baseline=reference, ci=ci, seed=seed)
    d_co = paired_differences(df, "cost_total", baseline=reference, ci=ci, seed=seed)
    rows = []
    for (ld, m), g in df.groupby(["load", "method"], sort=True):
        on, onl, onh = t_interval(g["on_time_ratio"], ci)
        co, col, coh = t_interval(g["cost_total"] / 1e3, ci)
        row = dict(load=ld, method=m, n=len(g), on_time=on, on_time_low=onl, on_time_high=onh, cost=co,
                   cost_low=col, cost_high=coh, bound=float(g["bound_share"].mean()) if "bound_share" in g else np.nan,
                   decision_ms_median=float(g["decision_ms_median"].median()),
                   decision_ms_p99=float(g["decision_ms_p99"].median()))
        for name, d, scale in (("on_time", d_on, 1.0), ("cost", d_co, 1e-3)):
            hit = d[(d["load"] == ld) & (d["method"] == m)] if len(d) else d
            lo, hi = (hit["boot_low"].iloc[0] * scale, hit["boot_high"].iloc[0] * scale) if len(hit) else (0.0, 0.0)
            row[f"d_{name}_low"], row[f"d_{name}_high"] = lo, hi
        rows.append(row)
    out = pd.DataFrame(rows)
    order = {m: i for i, m in enumerate([reference] + sorted(set(out["method"]) - {reference}))}
    return out.sort_values(["load", "method"], key=lambda s: s.map(order) if s.name == "method" else s,
                           kind="stable").reset_index(drop=True)
