"""Solving a :class:`~edgefm.placement.facility.FacilityProblem`: checks, the MILP back-end, reduced-cost fixing.

The problem's data and the program it builds live in :mod:`edgefm.placement.facility`; this
module decides how it is solved (:func:`solve_facility`), including the reduced-cost fixing of
large uncapacitated problems from an LP bound and a swap local-search incumbent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgefm.placement.facility import FacilityProblem, facility_milp, unpack_solution
from edgefm.placement.milp import MILP, solve

__all__ = ["FacilityResult", "solve_facility"]


@dataclass(frozen=True, eq=False)
class FacilityResult:
    """Solution of a :class:`FacilityProblem`.

    Attributes
    ----------
    status, objective, bound, gap, seconds, nodes, solver, message
        As in :class:`~edgefm.placement.milp.MILPResult`.
    open : ndarray of bool, shape (I,) or None
        Open sites ``y``.
    assignment : ndarray, shape (I, J) or None
        Share ``x_ij`` of demand ``j`` served at site ``i`` (columns sum to 1).
    backup : ndarray of bool, shape (I, J) or None
        Backup site ``z_ij`` of each demand (N-1 models only).
    """

    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    nodes: int
    open: np.ndarray | None
    assignment: np.ndarray | None
    backup: np.ndarray | None
    solver: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.assignment is not None

    @property
    def open_sites(self) -> np.ndarray:
        """Indices of open sites."""
        return np.flatnonzero(self.open) if self.open is not None else np.zeros(0, int)


def solve_facility(problem: FacilityProblem, solver: str = "scip", time_limit: float | None = None,
                   gap: float = 1e-9, threads: int = 1, verbose: bool = False,
                   node_limit: int | None = None, reduce: bool | None = None) -> FacilityResult:
    """Check necessary conditions, build the MILP and solve it.

    Parameters
    ----------
    problem : FacilityProblem
    solver, time_limit, gap, threads, verbose, node_limit
        Passed to :func:`edgefm.placement.milp.solve`.
    reduce : bool, optional
        Reduced-cost fixing for uncapacitated, non-survivable problems: solve the LP
        relaxation (bound ``LB``), find an incumbent ``UB`` by swap local search, and drop
        every ``x_ij``/``y_i`` whose LP reduced cost exceeds ``UB - LB`` (it cannot be in a
        solution better than the incumbent; Nemhauser & Wolsey 1988, Sec. II.6). Exact: the
        result is still a proven optimum. ``None`` (default) applies it when valid and the
        model has at least 2000 assignment variables.

    Raises
    ------
    InfeasibleError
        A necessary condition fails (message says which, and by how much) or the solver
        proves infeasibility (message names the constraint family).
    SolverError
        The solver fails or stops at a limit without an incumbent.
    """
    import time

    problem.check()
    t0 = time.perf_counter()
    valid = bool(np.isinf(problem.capacity).all()) and not problem.survivable
    n_x = int(np.isfinite(problem.cost).sum())
    if reduce is None:
        reduce = valid and n_x >= 2000
    elif reduce and not valid:
        raise ValueError("reduce=True needs an uncapacitated problem without survivability")
    model, start, lb_lp, note = facility_milp(problem), None, float("nan"), ""
    solved = problem
    if reduce:
        solved, model, start, lb_lp, note = _reduce(problem, model)
    res = solve(model, solver=solver, time_limit=time_limit, gap=gap, threads=threads,
                verbose=verbose, node_limit=node_limit, start=start,
                emphasis="hardlp" if reduce else None)  # degenerate p-median LPs
    res.raise_for_status()
    y, assign, backup = unpack_solution(solved, res.x)
    bound = res.bound if not np.isfinite(lb_lp) else np.nanmax([res.bound, lb_lp])
    from edgefm.placement.milp import rel_gap
    return FacilityResult(res.status, res.objective, float(bound), rel_gap(res.objective, bound),
                          time.perf_counter() - t0, res.nodes, y, assign, backup, res.solver,
                          res.message + note)


def _open_cost(C: np.ndarray, f: np.ndarray, S: np.ndarray) -> float:
    return float(f[S].sum() + C[S].min(axis=0).sum()) if S.size else float("inf")


def _swap_search(C: np.ndarray, f: np.ndarray, S: np.ndarray, lo: int, hi: int,
                 max_passes: int = 200) -> np.ndarray:
    """Best-improvement add/drop/swap local search for uncapacitated location (Teitz & Bart 1968)."""
    I = C.shape[0]
    S = np.array(sorted(set(S.tolist())), dtype=int)
    best = _open_cost(C, f, S)
    for _ in range(max_passes):
        cand, cand_cost = None, best
        inS = np.zeros(I, bool)
        inS[S] = True
        out_all = np.flatnonzero(~inS)
        m_all = C[S].min(axis=0)
        if S.size < hi and out_all.size:  # add
            costs = f[S].sum() + f[out_all] + np.minimum(C[out_all], m_all).sum(axis=1)
            k = int(np.argmin(costs))
            if costs[k] < cand_cost - 1e-9:
                cand, cand_cost = np.append(S, out_all[k]), float(costs[k])
        for a in S:
            rest = S[S != a]
            m1 = C[rest].min(axis=0) if rest.size else np.full(C.shape[1], np.inf)
            base = f[rest].sum()
            if S.size > lo and rest.size:  # drop
                c = base + m1.sum()
                if c < cand_cost - 1e-9:
                    cand, cand_cost = rest, float(c)
            if out_all.size:  # swap
                costs = base + f[out_all] + np.minimum(C[out_all], m1).sum(axis=1)
                k = int(np.argmin(costs))
                if costs[k] < cand_cost - 1e-9:
                    cand, cand_cost = np.append(rest, out_all[k]), float(costs[k])
        if cand is None:
            break
        S, best = np.sort(cand), cand_cost
    return S


def _reduce(problem: FacilityProblem, model: MILP):
    """Reduced-cost fixing (see :func:`solve_facility`); returns the smaller problem."""
    from dataclasses import replace

    from edgefm.placement.milp import lp_bound

    I, J = problem.cost.shape
    lb, xlp, rc_lo, rc_up = lp_bound(model)
    lo, hi = problem.card_range()
    k = int(np.clip(np.sum(xlp[:I] > 0.5), max(lo, 1), hi))
    S = np.argsort(-xlp[:I], kind="stable")[:k]
    C = problem.cost
    if not np.isfinite(C[S].min(axis=0)).all():  # LP rounding leaves a demand uncovered
        return problem, model, None, lb, ""
    S = _swap_search(C, problem.fixed_cost, S, max(lo, 1), hi)
    ub = _open_cost(C, problem.fixed_cost, S)
    tol = 1e-6 * max(1.0, abs(ub))
    xi, xj = np.nonzero(np.isfinite(C))
    drop = lb + rc_lo[I:] > ub + tol
    y_lb = (lb + rc_up[:I] > ub + tol).astype(float)
    y_ub = np.where(lb + rc_lo[:I] > ub + tol, 0.0, 1.0)
    cost2 = C.copy()
    cost2[xi[drop], xj[drop]] = np.inf
    reduced = replace(problem, cost=cost2)
    m2 = facility_milp(reduced)
    m2 = replace(m2, lb=np.concatenate([y_lb, m2.lb[I:]]), ub=np.concatenate([y_ub, m2.ub[I:]]))
    # incumbent in the reduced variable order: nearest open site per demand
    y = np.zeros(I)
    y[S] = 1.0
    near = S[np.argmin(C[S], axis=0)]
    ri, rj = np.nonzero(np.isfinite(cost2))
    xs = (ri == near[rj]).astype(float)
    note = (f"; reduced-cost fixing: LP bound {lb:.10g}, incumbent {ub:.10g}, kept "
            f"{int((~drop).sum())} of {drop.size} assignment variables")
    return reduced, m2, np.concatenate([y, xs]), lb, note
