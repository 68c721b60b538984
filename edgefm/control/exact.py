"""Exact per-slot reference for Algorithm 1: the E19 slot problem as an integer program.

Same problem as :func:`~edgefm.control.proposed.solve_greedy` (same start set,
costs, capacities, d̂ model and penalties), solved to optimality by SCIP
(PySCIPOpt, imported inside the functions). Variables, per light MS m with
waiting stages and up node v:

- n_{v,m} ∈ ℕ new instances beyond the start set, e_{v,m} ≥ start + n − prev,
  e ≥ 0 (deployment increase, E7);
- z_{s,v,l} ∈ {0,1}: stage s is the l-th job (level l) of an instance on v.

Level l on v can take at most (#start instances with occupancy < l) + n_{v,m}
stages — the water-filling picture of joining the least-occupied instance —
each stage takes at most one level, and an unassigned stage pays 2D_n + Δ.
Resources (E8): Σ_m r_{m,k} n_{v,m} ≤ avail_{v,k}. Minimise
η·C_light + Σ_s H_s [Σ z_{s,v,l} (ready_{s,v} − now + g(l)) + (1 − Σ z) pen_s].

The IP may give the best levels to the heaviest stages, whereas the greedy
routes in data-ready order, so greedy ≥ exact always (the greedy's solution is
feasible here); the gap is what the low-complexity greedy gives up. Meant for
small states (a few dozen waiting stages).
"""
from __future__ import annotations

import numpy as np

from ..errors import SolverError

__all__ = ["solve_exact", "per_slot_gap", "GapProbe"]


def solve_exact(problem, g, time_limit: float = 30.0, fix_x=None) -> dict:
    """Solve a :class:`~edgefm.control.proposed.SlotProblem` exactly (``fix_x``:
    optionally fix the (V, M) counts and optimise the routing only).

    Returns ``dict(objective, x (V, M), status, bound)``.
    """
    from pyscipopt import Model, quicksum

    P = problem
    V = P.start.shape[0]
    mdl = Model("slot")
    mdl.hideOutput()
    mdl.setParam("limits/time", float(time_limit))
    obj = []
    const = 0.0
    nvar = {}
    for m, (rows, R, w, pen) in P.groups.items():
        S = len(rows)
        occ = P.occ.get(m) or [[] for _ in range(V)]
        top = max((o for ov in occ for o in ov), default=0)
        levels = range(1, min(P.y, top + S) + 1)
        assigned = [[] for _ in range(S)]
        for v in np.flatnonzero(P.up).tolist():
            start = int(P.start[v, m])
            fit = np.min(np.where(P.demand[m] > 0, P.avail[v] / np.where(P.demand[m] > 0, P.demand[m], 1), np.inf))
            ub = int(min(S, np.floor(fit + 1e-9)))
            if fix_x is not None:
                ub = int(fix_x[v, m]) - start
            n = mdl.addVar(vtype="I", lb=0 if fix_x is None else ub, ub=max(ub, 0), name=f"n_{v}_{m}")
            e = mdl.addVar(lb=0, name=f"e_{v}_{m}")
            mdl.addCons(e >= start + n - int(P.prev[v, m]))
            nvar[(v, m)] = n
            obj.append(P.eta * (P.c_dp[m] * e + P.c_run[m] * (start + n)))
            for lv in levels:
                zs = []
                for i in range(S):
                    d = R[i][v] + g[m, lv]
                    if d < pen[i]:
                        z = mdl.addVar(vtype="B", name=f"z_{i}_{v}_{lv}_{m}")
                        zs.append(z)
                        assigned[i].append(z)
                        obj.append(w[i] * (d - pen[i]) * z)
                if zs:
                    have = sum(1 for o in occ[v] if o < lv)
                    mdl.addCons(quicksum(zs) <= have + n)
        for i in range(S):
            const += w[i] * pen[i]
            if assigned[i]:
                mdl.addCons(quicksum(assigned[i]) <= 1)
    # MSs without waiting stages keep their start set
    for m in np.flatnonzero(P.light).tolist():
        if m not in P.groups:
            const += P.eta * float((np.maximum(0, P.start[:, m] - P.prev[:, m]) * P.c_dp[m]
                                    + P.start[:, m] * P.c_run[m]).sum())
    for v in np.flatnonzero(P.up).tolist():
        ms = [m for (vv, m) in nvar if vv == v]
        for k in range(P.demand.shape[1]):
            if any(P.demand[m, k] > 0 for m in ms):
                mdl.addCons(quicksum(P.demand[m, k] * nvar[(v, m)] for m in ms) <= P.avail[v, k] + 1e-9)
    mdl.setObjective(quicksum(obj) if obj else 0, "minimize")
    mdl.optimize()
    status = mdl.getStatus()
    if mdl.getNSols() == 0:
        raise SolverError(f"exact slot problem: SCIP status {status}, no solution")
    x = P.start.copy()
    for (v, m), n in nvar.items():
        x[v, m] += int(round(mdl.getVal(n)))
    return dict(objective=float(mdl.getObjVal() + const), bound=float(mdl.getDualbound() + const),
                x=x, status=status)


def per_slot_gap(state, scenario, controller, time_limit: float = 30.0) -> dict:
    """Greedy (Algorithm 1) vs exact optimum of the E19 slot problem of ``state``.

    ``controller`` is a reset :class:`~edgefm.control.proposed.ProposedController`;
    its debts are read without being updated. Returns
    ``dict(greedy, exact, gap=(greedy − exact)/|exact|, n_waiting, status)``.
    """
    from .proposed import solve_greedy

    P = controller.problem(state)
    gr = solve_greedy(P, controller.g)
    ex = solve_exact(P, controller.g, time_limit)
    gap = (gr.objective - ex["objective"]) / max(abs(ex["objective"]), 1e-12)
    return dict(greedy=gr.objective, exact=ex["objective"], gap=gap, n_waiting=state.n_waiting,
                status=ex["status"], t=state.t)


class GapProbe:
    """Wrap a :class:`~edgefm.control.proposed.ProposedController` and record
    :func:`per_slot_gap` every ``every`` slots whose number of waiting stages is in
    [1, ``max_stages``] (at most ``max_samples``). Results in ``self.records``."""

    def __init__(self, inner, every: int = 10, max_stages: int = 30, max_samples: int = 20,
                 time_limit: float = 10.0):
        self.inner, self.every, self.max_stages, self.max_samples = inner, every, max_stages, max_samples
        self.time_limit = time_limit
        self.name = inner.name
        self.records: list = []

    def reset(self, ctx):
        self.sc = ctx.scenario
        self.inner.reset(ctx)
        self.records = []

    def decide(self, state):
        if (state.t % self.every == 0 and 0 < state.n_waiting <= self.max_stages
                and len(self.records) < self.max_samples):
            self.records.append(per_slot_gap(state, self.sc, self.inner, self.time_limit))
        return self.inner.decide(state)
