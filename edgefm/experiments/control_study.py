"""Studies of the tier-2 light controller (Algorithm 1, Eqs. E18–E21) as tidy tables.

Each function runs a few simulations of :class:`~edgefm.control.proposed.ProposedController`
on the E14 core placement and returns a :class:`pandas.DataFrame` (one row per run,
slot or sampled slot). Notebook 04 calls these and plots them with
:mod:`edgefm.plots.control`.
"""
from __future__ import annotations

import numpy as np

from .runner import core_placement

__all__ = ["run_controller", "light_cost", "run_row", "slot_series", "eta_sweep", "gap_study",
           "decision_time_study", "compare_study"]


def run_controller(scenario, controller, seed: int = 0, n_slots: int | None = None, placement=None):
    """Simulate ``controller`` on ``scenario`` with Poisson arrivals of ``seed``.

    Unlike :func:`~edgefm.experiments.runner.run_method` the caller keeps the
    controller object, so its counters (debts, ``diff_slots``, probe records)
    can be read after the run. ``placement`` defaults to the cached E14 SCIP
    placement of ``scenario``.
    """
    from ..sim.engine import simulate
    from ..workload import poisson_arrivals

    if placement is None:
        placement = core_placement(scenario, "scip")
        if isinstance(placement, tuple):  # (Placement, load it was sized for)
            placement = placement[0]
    x = np.asarray(getattr(placement, "x", placement), dtype=int)
    arr = poisson_arrivals(scenario, seed, n_slots=n_slots)
    return simulate(scenario, arr, x, controller, seed=seed)


def light_cost(result) -> float:
    """Total light-instance cost of a run (E7: deploy + maintain + parallel)."""
    return float(sum(v for k, v in result.cost_parts.items() if k.startswith("light")))


def run_row(result, controller=None, **extra) -> dict:
    """A flat summary row of one run: outcome counts, latency, light cost,
    decision times and, given the controller, the final latency debt excess
    Σ_j (H_j − H_min) (Eq. E18) and the fallback uses."""
    row = dict(method=result.method, seed=result.seed, load=result.load, arrivals=result.arrivals,
               on_time=result.on_time, late=result.late, unfinished=result.unfinished,
               on_time_ratio=result.on_time_ratio, latency_mean=result.latency_ms["mean"],
               latency_p95=result.latency_ms["p95"], light_cost=light_cost(result),
               mean_light_instances=float(np.mean(result.light_instances)) if len(result.light_instances) else 0.0,
               decision_ms_median=result.decision_ms["median"], decision_ms_p99=result.decision_ms["p99"],
               slots=result.slots)
    if controller is not None and hasattr(controller, "debt"):
        d = controller.debt
        row["debt_excess"] = float((d.H - d.h_min).sum())
        row["fallback_uses"] = int(getattr(controller, "fallback_uses", 0))
    row.update(extra)
    return row


def slot_series(result):
    """Per-slot series of a run: ``slot`` index, ``light_instances`` (deployed
    light instances) and ``waiting`` (stages waiting, light and core)."""
    import pandas as pd

    return pd.DataFrame({"slot": np.arange(len(result.light_instances)),
                         "light_instances": np.asarray(result.light_instances),
                         "waiting": np.asarray(result.waiting)})


def eta_sweep(scenario, etas, seed: int = 0, n_slots: int | None = None, kind: str = "ec"):
    """One run per η (the E19 cost weight); one row per η (see :func:`run_row`)."""
    import pandas as pd

    from ..control.proposed import ProposedController

    rows = []
    for eta in etas:
        ctrl = ProposedController(kind=kind, eta=float(eta))
        res = run_controller(scenario, ctrl, seed, n_slots)
        rows.append(run_row(res, ctrl, eta=float(eta)))
    return pd.DataFrame(rows)


def gap_study(scenario, seed: int = 0, n_slots: int | None = None, every: int = 5, max_stages: int = 30,
              max_samples: int = 20, time_limit: float = 10.0, eta: float | None = None):
    """Greedy (Algorithm 1) vs exact E19 optimum on sampled slots of one run.

    Wraps the controller in :class:`~edgefm.control.exact.GapProbe`; one row per
    sampled slot with ``greedy``, ``exact``, ``gap`` (relative), ``n_waiting``,
    ``status`` and slot ``t``.
    """
    import pandas as pd

    from ..control.exact import GapProbe
    from ..control.proposed import ProposedController

    probe = GapProbe(ProposedController(kind="ec", eta=eta), every=every, max_stages=max_stages,
                     max_samples=max_samples, time_limit=time_limit)
    run_controller(scenario, probe, seed, n_slots)
    cols = ["t", "n_waiting", "greedy", "exact", "gap", "status"]
    df = pd.DataFrame(probe.records, columns=cols)
    df["abs_gap"] = df["greedy"] - df["exact"]
    return df


def decision_time_study(scenario, loads, seed: int = 0, n_slots: int | None = None, kinds=("ec",)):
    """Per-slot decision time (median / P99 / max, ms) of Algorithm 1 at each
    load multiplier; the core placement is solved for each load."""
    import pandas as pd

    from ..control.proposed import ProposedController

    rows = []
    for load in loads:
        sc = scenario.with_load(float(load))
        for kind in kinds:
            ctrl = ProposedController(kind=kind)
            res = run_controller(sc, ctrl, seed, n_slots)
            row = run_row(res, ctrl)
            row["decision_ms_max"] = res.decision_ms["max"]
            row["mean_waiting"] = float(np.mean(res.waiting)) if len(res.waiting) else 0.0
            rows.append(row)
    return pd.DataFrame(rows)


def compare_study(scenario, seed: int = 0, n_slots: int | None = None):
    """How often g_ε (Proposed) and g_avg (PropAvg) decisions differ.

    Runs each kind with ``compare=True`` (every slot also solved with the other
    delay model on the same state); one row per kind with ``diff_slots``,
    ``diff_stages``, the decided slots and the fractions (stages relative to the
    summed per-slot waiting counts, an upper bound on the stages decided).
    """
    import pandas as pd

    from ..control.proposed import ProposedController

    rows = []
    for kind in ("ec", "avg"):
        ctrl = ProposedController(kind=kind, compare=True)
        res = run_controller(scenario, ctrl, seed, n_slots)
        stage_slots = int(np.sum(res.waiting))
        rows.append(run_row(res, ctrl, kind=kind, decided_slots=ctrl.slots, diff_slots=ctrl.diff_slots,
                            diff_stages=ctrl.diff_stages, stage_slots=stage_slots,
                            frac_slots=ctrl.diff_slots / max(ctrl.slots, 1),
                            frac_stages=ctrl.diff_stages / max(stage_slots, 1)))
    return pd.DataFrame(rows)
