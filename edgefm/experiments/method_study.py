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
    "sizing from the mean (no E22-E23)": {"eps": None},
    "no elastic light (E27)": {"elastic": False},
    "headroom admission (E25 option)": {"headroom": True},
    "paper core dispatch (no E30)": {"hold_core": False},
}


def method_spec(name: str, seeds, loads, horizon: int, methods=None, scenario: str | None = None):
    """A :class:`~edgefm.experiments.sweep.SweepSpec` of every registered method (default)."""
    from ..paths import data_path
    from ..control import METHODS
    from .sweep import SweepSpec

    return SweepSpec(name=name, scenario=str(scenario or data_path("scenarios/paper.yaml")),
                     seeds=tuple(int(s) for s in seeds), methods=tuple(methods or METHODS),
                     loads=tuple(float(x) for x in loads), overrides=({"horizon_slots": int(horizon)},))


def ablation_spec(name: str, seeds, loads, horizon: int, scenario: str | None = None):
    """The ``edgefm`` method with each ingredient of :data:`ABLATIONS` switched off, one per override."""
    from ..paths import data_path
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
    """Method × load: mean on-time ratio and cost with t-intervals (clipped to [0, 1] and cost ≥ 0), and the paired bootstrap
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

    from .stats import feasible_range, paired_differences, t_interval

    d_on = paired_differences(df, "on_time_ratio", baseline=reference, ci=ci, seed=seed)
    d_co = paired_differences(df, "cost_total", baseline=reference, ci=ci, seed=seed)
    rows = []
    for (ld, m), g in df.groupby(["load", "method"], sort=True):
        on, onl, onh = (float(np.clip(v, *feasible_range("on_time_ratio"))) for v in t_interval(g["on_time_ratio"], ci))
        co, col, coh = (float(np.clip(v, *feasible_range("cost_total"))) for v in t_interval(g["cost_total"] / 1e3, ci))
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


def _one_ms_doc(kind: str, work: float, rate: float, users_rate: float, horizon: int, shape: float = 1.0) -> dict:
    """One ES, one ED, one task type of a single MS whose data start at the ES (no transfers)."""
    cap = {"cpu": 1000, "ram": 1000, "gpu": 1000, "vram": 1000}
    res = {"cpu": 1, "ram": 1, "gpu": 1, "vram": 1}
    ms = {"name": "m", "kind": kind, "resources": res, "work_mb": work, "output_mb": 0.1,
          "cost": {"deploy": 20, "maintain": 4}}
    if kind == "core":
        ms["rate"] = rate
    else:
        ms.update(shape=shape, scale=rate / shape)
    return {"name": "one_ms", "slot_ms": 1.0, "horizon_slots": horizon, "node_classes": {},
            "nodes": [{"name": "ES1", "kind": "ES", "capacity": cap}, {"name": "ED1", "kind": "ED", "capacity": cap}],
            "links": {"rate": 1.0, "propagation": 0.0, "edges": [["ED1", "ES1"]]},
            "ms_classes": {}, "microservices": [ms],
            "task_types": {"types": [{"name": "t", "input_mb": 1.0, "deadline_ms": 1e6, "stages": ["m"]}]},
            "users": {"list": [{"name": "u", "gateway": "ES1"}], "rate_per_ms": users_rate}}


class _Route:
    """Keeps ``counts`` light instances and routes every waiting stage to node 0 (ES1)."""

    name = "route"

    def __init__(self, counts):
        self.counts = counts

    def reset(self, ctx):
        pass

    def decide(self, state):
        from ..control.base import Decision

        return Decision(light_counts=self.counts, parallelism=20,
                        route=np.zeros(state.n_waiting, dtype=np.int64))


def queue_check(servers=(1, 2, 4), service: float = 1.0, budget: float = 2.0, eps: float = 0.05,
                factors=(0.5, 0.75, 1.0, 1.25), horizon: int = 20_000, seed: int = 0):
    """The core sizing rule E22–E23 against the simulator: c deterministic instances of one core
    MS fed by Poisson arrivals at ``factor`` × g(c); predicted and simulated Pr{W > budget}.

    Returns
    -------
    pandas.DataFrame
        ``servers``, ``factor``, ``rate`` (jobs/ms), ``utilisation``, ``predicted``, ``simulated``.
    """
    import pandas as pd

    from ..placement.queueing import max_rate, wait_tail
    from ..scenario import sample_scenario, spec_from_dict
    from ..sim.engine import simulate
    from ..workload import poisson_arrivals

    rows = []
    for c in servers:
        g = max_rate(c, service, budget, eps)
        for f in factors:
            lam = min(f * g, 0.98 * c / service)
            sc = sample_scenario(spec_from_dict(_one_ms_doc("core", 1.0, 1.0 / service, lam, horizon),
                                                source="queue_check"), seed=seed)
            x = np.zeros((sc.n_nodes, 1), int)
            x[0, 0] = c
            res = simulate(sc, poisson_arrivals(sc, seed), x, _Route(np.zeros((sc.n_nodes, 1), int)), seed=seed)
            wait = res.task_latency - service
            rows.append(dict(servers=c, factor=f, rate=lam, utilisation=lam * service / c,
                             predicted=wait_tail(budget, c, lam, service), simulated=float(np.mean(wait > budget))))
    return pd.DataFrame(rows)


def ablation_effects(df, ci: float = 0.95, seed: int = 0):
    """Paired effect of switching each ingredient off: (variant − full) per draw and load.

    ``df`` is a sweep of :func:`ablation_spec`. Returns one row per (load, variant, metric):
    ``mean_diff`` and the bootstrap interval ``boot_low`` / ``boot_high``, ``n`` draws.
    """
    import json

    import pandas as pd

    from .stats import paired_differences

    names = {json.dumps(v, sort_keys=True): k for k, v in ABLATIONS.items()}
    d = df.assign(method=df["controller"].map(names))
    out = []
    for metric in ("on_time_ratio", "cost_total"):
        p = paired_differences(d, metric, baseline="full", by=("load",), ci=ci, seed=seed)
        out.append(p.assign(metric=metric).rename(columns={"method": "variant"}))
    return pd.concat(out, ignore_index=True)
