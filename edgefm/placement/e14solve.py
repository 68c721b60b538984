"""Placing the core MSs: :func:`place`, the entry above every E14 solver (docs/model.md §5.4).

The placement package reads top-down: this module chooses and runs the solvers; the solvers
(:mod:`~edgefm.placement.nodedp`, :mod:`~edgefm.placement.decompose`, :mod:`~edgefm.placement.relax`,
:mod:`~edgefm.placement.greedy`, the back-ends of :mod:`~edgefm.placement.milp`) sit below it; the
program itself (data, MILP, checks, :class:`~edgefm.placement.model.Placement`) is
:mod:`edgefm.placement.model`, which imports no solver.

:func:`place` builds the data of E14 and checks its necessary conditions; the rest of this module
turns that into a proven (or time-limited) solution:

* :func:`_method` picks the method (``place``'s ``method="auto"`` rule);
* :func:`_solve` runs it: the exact node DP (:mod:`edgefm.placement.nodedp`), the node
  decomposition (:mod:`edgefm.placement.decompose`) or a back-end on the whole program
  (:func:`edgefm.placement.milp.solve`); a node DP past its limits hands the program on;
* :func:`_run` turns a failed solve into one clear :class:`~edgefm.errors.InfeasibleError` or
  :class:`~edgefm.errors.SolverError`;
* :func:`_search` is the ρ-retention κ search of E17;
* :func:`e14_feasible` decides feasibility without optimising.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import InfeasibleError, SolverError
from ..scenario.schema import Scenario
from .model import E14Data, Placement, build_e14, check_necessary, e14_data, make_placement, max_support
from .profile import MeanProfile, mean_profile

__all__ = ["place", "e14_feasible", "DECOMPOSE_ABOVE"]

_SOLVERS = ("scip", "highs", "relax", "greedy")

# --------------------------------------------------------------------------- solving
#: Above this many (node, core MS) pairs, ``method="auto"`` turns to the node decomposition for a
#: literal program that the node DP cannot take (or that has ``max_sites``).
DECOMPOSE_ABOVE = 200
_METHODS = ("auto", "direct", "decompose", "dp")


def _method(method: str, solver: str, data: E14Data, max_sites: int | None = None) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    if method == "auto":  # the bounded caps make x nearly binary, and SCIP solves the whole program fast
        if solver != "scip" or data.variant != "literal":
            return "direct"
        if max_sites is None:
            return "dp"
        return "decompose" if data.n_pairs > DECOMPOSE_ABOVE else "direct"
    if method == "decompose" and solver != "scip":
        raise ValueError(f"method='decompose' prices and branches with SCIP; it cannot use solver={solver!r}")
    if method == "dp" and max_sites is not None:
        raise ValueError("method='dp' handles the covering rows (demand, kappa, survivability) only, not "
                         "max_sites; use method='direct'")
    return method


def _solve(scenario, data, kappa, max_sites, survivable, solver, time_limit, gap, threads, node_limit,
           method="direct", dp_memo: dict | None = None):
    """Solve E14 at a fixed κ by ``method``. ``dp_memo`` (a dict kept by one κ search) holds the node
    DP's outcome per (κ, survivable): the DP ignores ``gap``, so the search's re-solve of a κ at a
    finer gap would repeat the same DP (its proven optimum, or its stop at the pattern or work
    limit and the incumbent it hands on). A stop at the time limit is not kept."""
    from dataclasses import replace as _replace

    from .milp import solve
    from .nodedp import DPLimitError, solve_e14_dp

    stopped, incumbent = "", None
    if method == "dp":  # exact when it finishes; past its limits SCIP (or `solver`) takes the program
        t0 = time.perf_counter()
        key = (int(kappa or 0), bool(survivable))
        try:
            dp = dp_memo.get(key) if dp_memo is not None else None
            if isinstance(dp, DPLimitError):
                raise dp
            if dp is None:
                try:
                    dp = solve_e14_dp(scenario, data, kappa=kappa or 0, survivable=survivable, time_limit=time_limit)
                except DPLimitError as exc:
                    if dp_memo is not None and "out of time" not in str(exc):
                        dp_memo[key] = exc
                    raise
                if dp_memo is not None:
                    dp_memo[key] = dp
            return _dp_result(data, dp, kappa, survivable)
        except DPLimitError as exc:
            stopped = f"node DP stopped ({exc}); "
            if time_limit is not None:
                time_limit = max(time_limit - (time.perf_counter() - t0), 0.01)
            method, incumbent = _fallback(solver, data), exc.incumbent  # the DP's best placement starts SCIP
    model = build_e14(scenario, data, kappa=kappa, max_sites=max_sites, survivable=survivable)
    if method == "decompose":
        res = _solve_decomposed(scenario, data, model, kappa, max_sites, survivable, time_limit, gap, threads,
                                node_limit)
    else:
        res = solve(model, solver=solver, time_limit=time_limit, gap=gap, threads=threads, node_limit=node_limit,
                    start=None if incumbent is None else _model_x(incumbent, model.n_vars))
    return _replace(res, message=stopped + res.message) if stopped else res


def _dp_result(data, dp, kappa, survivable):
    """A :class:`~edgefm.placement.nodedp.DPResult` as a MILPResult over E14's variables [x, b]."""
    from .milp import MILPResult

    with_b = bool(kappa and kappa > 0) or survivable  # as build_e14 would (the DP has no max_sites)
    x = None if dp.x is None else _model_x(dp.x, data.n_pairs * (2 if with_b else 1))
    return MILPResult(dp.status, dp.objective, dp.bound, dp.gap, dp.seconds, 0, x, "dp", dp.message)


def _model_x(x_pairs: np.ndarray, n_vars: int) -> np.ndarray:
    """Instances per pair as E14's ``n_vars`` variables [x, b], b = [x ≥ 1] when the model has b."""
    return np.concatenate([x_pairs, (x_pairs > 0)[: n_vars - len(x_pairs)]]).astype(float)


def _solve_decomposed(scenario, data, model, kappa, max_sites, survivable, time_limit, gap, threads, node_limit):
    """Dantzig–Wolfe bound and price-and-branch incumbent; SCIP on the full model closes what is left."""
    import warnings
    from dataclasses import replace as _replace

    from ..errors import TimeLimitWarning
    from .decompose import decompose_e14
    from .milp import MILPResult, rel_gap, solve

    t0 = time.perf_counter()
    dw = decompose_e14(scenario, data, kappa=kappa, max_sites=max_sites, survivable=survivable,
                       time_limit=time_limit, gap=gap, model=model)
    msg = (f"Dantzig-Wolfe: {dw.rounds} pricing rounds, {dw.columns} patterns, "
           f"{'converged' if dw.converged else 'stopped'}, bound {dw.bound:.6g}, "
           f"price-and-branch {dw.objective:.6g} ({dw.seconds:.2f} s)")
    start = None
    if dw.x is not None:
        start = _model_x(dw.x, model.n_vars)
        if dw.gap <= gap:
            return MILPResult("optimal", dw.objective, dw.bound, dw.gap, time.perf_counter() - t0, 0, start,
                              "scip", msg + f"; optimal within relative gap {gap:g}")
    left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
    if left is not None and left <= 0.05:
        if start is None:
            return MILPResult("time_limit", np.nan, dw.bound, np.nan, time.perf_counter() - t0, 0, None, "scip", msg)
        warnings.warn(f"E14 decomposition stopped at its time limit with relative gap {dw.gap:.3g}",
                      TimeLimitWarning, stacklevel=3)
        return MILPResult("time_limit", dw.objective, dw.bound, dw.gap, time.perf_counter() - t0, 0, start,
                          "scip", msg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)  # re-issued below with the combined gap
        res = solve(model, solver="scip", time_limit=left, gap=gap, threads=threads, node_limit=node_limit,
                    start=start)
    if res.status in ("infeasible", "unbounded", "error"):
        return _replace(res, seconds=time.perf_counter() - t0)
    bound = np.nanmax([res.bound, dw.bound]) if np.isfinite([res.bound, dw.bound]).any() else np.nan
    g = rel_gap(res.objective, bound)
    status = "optimal" if res.status == "optimal" or (np.isfinite(g) and g <= gap) else res.status
    if status != "optimal" and res.ok:
        warnings.warn(f"E14 (decomposed) stopped at its {status.replace('_', ' ')} with relative gap {g:.3g}",
                      TimeLimitWarning, stacklevel=3)
    return _replace(res, status=status, bound=float(bound), gap=g, seconds=time.perf_counter() - t0,
                    message=msg + f"; then SCIP on the full model: {res.message}")


def _diagnose(scenario, data, kappa, max_sites, survivable, solver) -> str:
    """Name the constraint family whose removal makes E14 feasible."""
    trials = []
    if kappa or max_sites is not None:
        trials.append(("the diversity floor κ / max_sites (E17)", dict(kappa=0, max_sites=None, survivable=survivable)))
    if survivable:
        trials.append(("survivability (each core MS on >= 2 nodes)", dict(kappa=kappa, max_sites=max_sites,
                                                                         survivable=False)))
    for name, kw in trials:
        res = _solve(scenario, data, solver=solver, time_limit=10.0, gap=1e-4, threads=1, node_limit=None, **kw)
        if res.status not in ("infeasible",):
            return f"E14 is infeasible because of {name} (kappa={kappa}, max_sites={max_sites}); relax it"
    what = "the bounded caps with " if data.variant == "bounded" else ""
    return (f"E14 is infeasible: {what}capacity (per node and resource) and demand (N_m = "
            f"{dict((scenario.microservices[m].name, int(data.N[m])) for m in data.core)}) cannot hold together; "
            f"lower the load or the reserve, or add capacity")


def _run(scenario, data, kappa, max_sites, survivable, solver, time_limit, gap, threads, node_limit,
         method="direct", dp_memo: dict | None = None):
    res = _solve(scenario, data, kappa, max_sites, survivable, solver, time_limit, gap, threads, node_limit,
                 method, dp_memo)
    if res.status == "infeasible":
        raise InfeasibleError(_diagnose(scenario, data, kappa, max_sites, survivable, solver))
    if res.status in ("time_limit", "node_limit") and res.x is None:
        raise SolverError(f"{solver} stopped at its {res.status.replace('_', ' ')} before finding any feasible "
                          f"placement; raise the limit")
    if res.status not in ("optimal", "time_limit", "node_limit"):
        raise SolverError(f"{solver} failed on E14 ({res.status}): {res.message}")
    return res


def _fallback(solver: str, data: E14Data) -> str:
    """Where a program goes when the node DP passes its limits."""
    return "decompose" if solver == "scip" and data.n_pairs > DECOMPOSE_ABOVE else "direct"


def _used(method: str, res, solver: str, data: E14Data) -> str:
    """The method that produced ``res``."""
    return _fallback(solver, data) if method == "dp" and res.solver != "dp" else method


def _search(scenario, data, max_sites, survivable, solver, time_limit, gap, threads, node_limit,
            method="direct") -> Placement:
    """κ search (module docstring): largest κ with objective(κ) ≤ OPT₀ + (1 − ρ)|OPT₀|.

    OPT₀ is solved to ``gap``. A trial κ is decided from a coarse solve (gap ≥ 1e-3): admissible when
    its incumbent is within the threshold, not when its bound exceeds it, else re-solved to ``gap``.
    The largest conceivable κ (:func:`max_support`) is tried first (often admissible), then bisection;
    the chosen κ* is re-solved to ``gap`` if its solve was coarse.
    """
    rho = scenario.placement.rho
    t0 = time.perf_counter()
    trace, used = [], set()
    coarse = max(gap, 1e-3)
    dp_memo: dict = {}  # the node DP's outcome per κ: a re-solve at a finer gap does not repeat it

    def budget():
        return None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 0.01)

    def attempt(k, g):
        res = _solve(scenario, data, k, max_sites, survivable, solver, budget(), g, threads, node_limit, method,
                     dp_memo)
        used.add(_used(method, res, solver, data))
        obj = None if res.x is None else float(data.coef @ np.rint(res.x[: data.n_pairs]))
        trace.append([k, res.status, obj])
        return res, obj

    def admissible(k):
        res, obj = attempt(k, coarse)
        if obj is not None and obj <= threshold + tol:
            return res, coarse
        if obj is None or not np.isfinite(res.bound) or res.bound > threshold + tol or coarse == gap:
            return None, None
        res, obj = attempt(k, gap)
        return (res, gap) if obj is not None and obj <= threshold + tol else (None, None)

    res0 = _run(scenario, data, 0, max_sites, survivable, solver, budget(), gap, threads, node_limit, method,
                dp_memo)
    used.add(_used(method, res0, solver, data))
    if res0.x is None:
        raise SolverError(f"E14 kappa search: the kappa = 0 solve found no solution within the time limit "
                          f"({res0.status}, {res0.seconds:.1f} s); raise time_limit or pass kappa")
    opt0 = float(data.coef @ np.rint(res0.x[: data.n_pairs]))
    trace.append([0, res0.status, opt0])
    threshold = opt0 + (1.0 - rho) * abs(opt0)
    tol = 1e-9 * max(1.0, abs(threshold))
    lo = int(np.count_nonzero(np.rint(res0.x[: data.n_pairs])))  # κ ≤ support keeps OPT₀
    best, best_gap = res0, gap
    top = max_support(scenario, data) if max_sites is None else min(max_support(scenario, data), max_sites)
    hi = top + 1  # infeasible by counting
    if top > lo:
        res, g = admissible(top)
        if res is not None:
            lo, best, best_gap = top, res, g
        else:
            hi = top
    while hi - lo > 1:
        mid = (lo + hi) // 2
        res, g = admissible(mid)
        if res is not None:
            lo, best, best_gap = mid, res, g
        else:
            hi = mid
    if best_gap > gap:
        fine, _ = attempt(lo, gap)
        if fine.x is not None:  # else the budget ran out: keep the coarse incumbent (certified=False below)
            best = fine
    # the search is certified only when every solve was proven (optimal within its gap, or infeasible)
    certified = all(t[1] in ("optimal", "infeasible") for t in trace)
    info = {"certified": certified, "search_seconds": time.perf_counter() - t0, "kappa_trace": trace,
            "opt0": opt0, "threshold": threshold, "rho": rho, "solves": len(trace), "max_support": top,
            "method": "+".join(sorted(used))}
    return make_placement(scenario, data, best.x, status=best.status, bound=best.bound, gap=best.gap,
                      seconds=best.seconds, nodes=best.nodes, kappa=lo, solver=solver, info=info)


# --------------------------------------------------------------------------- entry points
def e14_feasible(scenario: Scenario, variant: str | None = None, solver: str = "scip",
                 time_limit: float | None = None) -> bool:
    """Whether E14 (with κ = 0) has a feasible placement, without optimising it.

    Checks the necessary conditions, then solves the program with a zero
    objective, so the solver stops at the first feasible point (or proves
    infeasibility). Far cheaper than :func:`place` near the capacity limit,
    where the literal program's knapsacks are hard to optimise.

    Raises
    ------
    SolverError
        The solver stopped (time limit) before deciding.
    """
    from dataclasses import replace as _replace

    from .milp import solve

    data = e14_data(scenario, variant=variant)
    try:
        check_necessary(scenario, data)
    except InfeasibleError:
        return False
    model = build_e14(scenario, data)
    model = _replace(model, c=np.zeros_like(model.c), objective_constant=0.0)
    res = solve(model, solver=solver, time_limit=time_limit)
    if res.status == "infeasible":
        return False
    if res.x is not None:
        return True
    raise SolverError(f"E14 feasibility undecided: {res.status} after {res.seconds:.1f} s")


def place(scenario: Scenario, solver: str = "scip", kappa: int | None = None, variant: str | None = None,
          time_limit: float | None = None, gap: float = 1e-6, threads: int = 1, max_sites: int | None = None,
          survivable: bool = False, node_limit: int | None = None, profile: MeanProfile | None = None,
          method: str = "auto") -> Placement:
    """Place the core microservices with the paper's program E14 (docs/model.md §5.4).

    Parameters
    ----------
    scenario : Scenario
    solver : {"scip", "highs", "relax", "greedy"}
        Exact back-end (through :func:`edgefm.placement.milp.solve`), the cvxpy relaxation with
        rounding (:func:`~edgefm.placement.relax.relaxed_placement`) or the least-loaded greedy
        baseline (:func:`~edgefm.placement.greedy.greedy_placement`, ignores κ and the objective).
    kappa : int, optional
        Diversity floor κ of E17; ``None`` uses ``scenario.placement.kappa`` and, if that is
        ``None`` too, searches κ with ρ (module docstring).
    variant : {"literal", "bounded"}, optional
        Default ``scenario.placement.variant``.
    time_limit : float, optional
        Seconds; for a κ search, the budget of the whole search. A stop returns the incumbent
        with status ``"time_limit"`` and its gap.
    gap : float
        Relative MIP gap at which the solver stops.
    threads : int
    max_sites : int, optional
        Consolidation direction ‖X‖₀ ≤ max_sites.
    survivable : bool
        Require every core MS on at least 2 nodes.
    node_limit : int, optional
        Branch-and-bound node limit (status ``"node_limit"``).
    profile : MeanProfile, optional
        A precomputed :func:`~edgefm.placement.profile.mean_profile`.
    method : {"auto", "direct", "decompose", "dp"}
        How E14 is attacked. ``"direct"``: ``solver`` on the whole program. ``"decompose"``: the
        node decomposition of :mod:`edgefm.placement.decompose` (Dantzig–Wolfe bound,
        price-and-branch incumbent), then SCIP on the whole program for what is left of the gap,
        warm-started (SCIP only). ``"dp"``: the exact node DP of :mod:`edgefm.placement.nodedp`
        (pattern enumeration, Lagrangian pruning; no branch and bound); a program past its limits
        goes to the decomposition (SCIP, above :data:`DECOMPOSE_ABOVE` (node, core MS) pairs) or
        to ``solver`` on the whole program; not with ``max_sites``. ``"auto"``: ``"dp"`` for the
        literal variant with SCIP; otherwise ``"direct"`` (the bounded variant's caps make x
        nearly binary and SCIP fast), or ``"decompose"`` for a literal program with ``max_sites``
        above :data:`DECOMPOSE_ABOVE` pairs. The method that produced the result is
        ``info["method"]``.

    Returns
    -------
    Placement

    Raises
    ------
    InfeasibleError
        With the failing necessary condition, or the constraint family, named.
    SolverError
        A back-end failure other than infeasibility.

    Examples
    --------
    >>> import edgefm
    >>> s = edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=0)
    >>> p = place(s, solver="highs", kappa=0)
    >>> p.status
    'optimal'
    """
    if solver not in _SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(_SOLVERS)}, got {solver!r}")
    prof = mean_profile(scenario) if profile is None else profile
    if solver == "greedy":
        from .greedy import greedy_placement

        return greedy_placement(scenario, profile=prof)
    variant = scenario.placement.variant if variant is None else variant
    data = e14_data(scenario, prof, variant)
    kappa = scenario.placement.kappa if kappa is None else int(kappa)
    check_necessary(scenario, data, kappa or 0, max_sites, survivable)
    method = _method(method, solver, data, max_sites)
    if solver == "relax":
        from .relax import relaxed_placement

        return relaxed_placement(scenario, kappa=kappa, variant=variant, max_sites=max_sites,
                                 survivable=survivable, profile=prof)
    if kappa is not None:
        res = _run(scenario, data, kappa, max_sites, survivable, solver, time_limit, gap, threads, node_limit,
                   method)
        return make_placement(scenario, data, res.x, status=res.status, bound=res.bound, gap=res.gap,
                          seconds=res.seconds, nodes=res.nodes, kappa=kappa, solver=solver,
                          info={"search_seconds": res.seconds, "method": _used(method, res, solver, data),
                                "message": res.message})
    return _search(scenario, data, max_sites, survivable, solver, time_limit, gap, threads, node_limit, method)
