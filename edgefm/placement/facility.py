"""Network-aware assignment (facility location) with optional N-1 backups.

Sites ``i`` (candidate hosts) have capacity ``Q_i`` (``inf`` = uncapacitated) and opening
cost ``f_i``; demands ``j`` have amount ``d_j``; ``c_ij`` is the cost of sending ALL of
``j``'s demand to ``i`` (``inf`` = not allowed, e.g. outside ``j``'s latency budget).
Variables: ``y_i`` in {0, 1} (open), ``x_ij`` in [0, 1] (share of ``j`` served at ``i``;
binary with ``single_source=True``) and, for N-1 survivability, binary backups ``z_ij``::

    min  sum_i f_i y_i + sum_ij c_ij x_ij + w sum_ij c_ij z_ij
    s.t. sum_i x_ij = 1                    (assign)      for all j
         x_ij <= y_i                       (link)        for allowed (i, j)
         sum_j d_j x_ij <= Q_i y_i         (capacity)    for finite Q_i
         sum_i y_i  = p  /  <= K  /  >= k  (open)
         sum_i z_ij = 1, z_ij <= y_i       (backup, backup_link)
         z_ij + x_ij <= 1                  (disjoint)    backup on a node serving none of j

The disaggregated link rows make the LP relaxation strong (Cornuejols, Nemhauser &
Wolsey 1990). The p-median problem is the special case ``f = 0``, ``Q = inf``,
``d = 1``, ``sum y = p`` (Hakimi 1965); capacitated facility location keeps ``f`` and ``Q``
with splittable demand (OR-Library ``cap``; Beasley 1988).

Backup capacity (``backup_capacity``): ``"ignore"`` (default) checks only that a distinct
open node within budget exists for every demand; ``"reserve"`` adds ``d_j z_ij`` to the
capacity row of ``i``, a conservative reservation that keeps every backup load admissible
even if all nodes failed at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from edgefm.errors import InfeasibleError, ScenarioError
from edgefm.placement.milp import MILP, solve

__all__ = ["FacilityProblem", "FacilityResult", "solve_facility", "pmedian",
           "capacitated_facility_location"]


def _arr(a, shape, name, *, allow_inf=False, nonneg=True) -> np.ndarray:
    v = np.asarray(a, dtype=float)
    if v.ndim == 0 and len(shape) == 1:
        v = np.full(shape, float(v))
    if v.shape != shape:
        raise ScenarioError(f"expected shape {shape}, got {v.shape}", field=name)
    if np.isnan(v).any():
        raise ScenarioError("contains NaN", field=name)
    if not allow_inf and not np.isfinite(v).all():
        raise ScenarioError("must be finite", field=name)
    if nonneg and (v < 0).any():
        k = np.unravel_index(int(np.argmax(v < 0)), v.shape)
        raise ScenarioError(f"must be >= 0, got {v[k]} at index {tuple(map(int, k))}", field=name)
    return v


@dataclass(frozen=True, eq=False)
class FacilityProblem:
    """Data of the assignment / facility-location model (see module docstring).

    Parameters
    ----------
    cost : ndarray, shape (I, J)
        ``c_ij``, cost of serving all of demand ``j`` at site ``i``; ``inf`` = not allowed.
    demand : ndarray, shape (J,)
        ``d_j >= 0``.
    capacity : ndarray, shape (I,)
        ``Q_i``, ``inf`` for uncapacitated sites.
    fixed_cost : ndarray, shape (I,)
        ``f_i``, cost of opening site ``i``.
    n_open, max_open, min_open : int, optional
        Cardinality ``sum y = p``, ``<= K``, ``>= k``.
    single_source : bool
        Binary ``x`` (each demand served by exactly one site).
    survivable : bool
        Add N-1 backups ``z``.
    backup_allowed : ndarray of bool, shape (I, J), optional
        Where a backup may go (its latency budget); always intersected with finite ``cost``.
    backup_weight : float
        Weight of backup cost in the objective (0 = feasibility only).
    backup_capacity : {"ignore", "reserve"}
        See module docstring.
    """

    cost: np.ndarray
    demand: np.ndarray
    capacity: np.ndarray
    fixed_cost: np.ndarray
    n_open: int | None = None
    max_open: int | None = None
    min_open: int | None = None
    single_source: bool = False
    survivable: bool = False
    backup_allowed: np.ndarray | None = None
    backup_weight: float = 0.0
    backup_capacity: str = "ignore"

    def __post_init__(self):
        cost = np.asarray(self.cost, dtype=float)
        if cost.ndim != 2:
            raise ScenarioError(f"must be a 2-D (sites x demands) array, got {cost.ndim}-D", field="cost")
        I, J = cost.shape
        s = object.__setattr__
        s(self, "cost", _arr(cost, (I, J), "cost", allow_inf=True, nonneg=False))
        if np.isneginf(self.cost).any():
            raise ScenarioError("must not be -inf", field="cost")
        s(self, "demand", _arr(self.demand, (J,), "demand"))
        s(self, "capacity", _arr(self.capacity, (I,), "capacity", allow_inf=True))
        s(self, "fixed_cost", _arr(self.fixed_cost, (I,), "fixed_cost", nonneg=False))
        mask = np.isfinite(self.cost) if self.backup_allowed is None else np.asarray(self.backup_allowed, bool)
        if mask.shape != (I, J):
            raise ScenarioError(f"expected shape {(I, J)}, got {mask.shape}", field="backup_allowed")
        s(self, "backup_allowed", mask & np.isfinite(self.cost))
        for nm in ("n_open", "max_open", "min_open"):
            v = getattr(self, nm)
            if v is not None and (int(v) != v or v < 0):
                raise ScenarioError(f"must be a non-negative integer, got {v!r}", field=nm)
        if self.backup_capacity not in ("ignore", "reserve"):
            raise ScenarioError(f"must be 'ignore' or 'reserve', got {self.backup_capacity!r}",
                                field="backup_capacity")
        if self.backup_weight < 0 or not np.isfinite(self.backup_weight):
            raise ScenarioError(f"must be finite and >= 0, got {self.backup_weight}", field="backup_weight")

    @property
    def n_sites(self) -> int:
        return self.cost.shape[0]

    @property
    def n_demands(self) -> int:
        return self.cost.shape[1]

    # ------------------------------------------------------------ feasibility
    def check(self) -> None:
        """Raise :class:`InfeasibleError` if an obvious necessary condition fails."""
        I, J = self.cost.shape
        allowed = np.isfinite(self.cost)
        d, Q = self.demand, self.capacity
        lo, hi = self._card_range()
        if lo > hi:
            raise InfeasibleError(f"open-site limits conflict: need at least {lo} but at most {hi} "
                                  f"of {I} sites open")
        for j in range(J):
            if not allowed[:, j].any():
                raise InfeasibleError(f"demand j={j} has no site within its latency budget")
        total = float(d.sum())
        if total > Q.sum() * (1 + 1e-12):
            raise InfeasibleError(f"demand {total:g} exceeds total site capacity {Q.sum():g}")
        for j in range(J):
            reach = Q[allowed[:, j]]
            top = reach.max() if self.single_source else reach.sum()
            if d[j] > top * (1 + 1e-12):
                what = "the largest capacity" if self.single_source else "the total capacity"
                raise InfeasibleError(f"demand j={j} of {d[j]:g} exceeds {what} {top:g} of its "
                                      f"{int(allowed[:, j].sum())} allowed site(s)")
        if hi < I and np.isfinite(total):
            best = np.sort(Q)[::-1][:hi].sum()
            if total > best * (1 + 1e-12):
                nm = "n_open" if self.n_open is not None else "max_open"
                raise InfeasibleError(f"{nm}={hi} sites hold at most {best:g} (the {hi} largest "
                                      f"capacities) < demand {total:g}; allow more open sites")
        if self.survivable:
            if hi < 2:
                raise InfeasibleError(f"N-1 survivability needs 2 open sites, but at most {hi} may open")
            for j in range(J):
                prim, back = np.flatnonzero(allowed[:, j]), np.flatnonzero(self.backup_allowed[:, j])
                if back.size == 0 or np.union1d(prim, back).size < 2:
                    raise InfeasibleError(f"N-1: demand j={j} has only "
                                          f"{np.union1d(prim, back).size} allowed site(s); a backup "
                                          f"on another node needs at least 2")

    def _card_range(self) -> tuple[int, int]:
        I = self.n_sites
        lo, hi = 0, I
        if self.n_open is not None:
            lo, hi = int(self.n_open), int(self.n_open)
        if self.max_open is not None:
            hi = min(hi, int(self.max_open))
        if self.min_open is not None:
            lo = max(lo, int(self.min_open))
        if lo > I:
            raise InfeasibleError(f"{lo} open sites requested but only {I} candidate sites exist")
        return lo, hi

    # ---------------------------------------------------------------- model
    def to_milp(self) -> MILP:
        """Build the MILP (variables ``[y, x_allowed, z_allowed]``; see module docstring)."""
        I, J = self.cost.shape
        xi, xj = np.nonzero(np.isfinite(self.cost))  # allowed primary pairs, row-major
        nx = xi.size
        zi, zj = np.nonzero(self.backup_allowed) if self.survivable else (np.zeros(0, int),) * 2
        nz = zi.size
        n = I + nx + nz
        X0, Z0 = I, I + nx
        d, Q = self.demand, self.capacity
        rows, cols, vals, lo, hi, names = [], [], [], [], [], []
        r = 0

        def add(rr, cc, vv):
            rows.append(np.asarray(rr))
            cols.append(np.asarray(cc))
            vals.append(np.asarray(vv, float))

        def bounds(lo_, hi_, names_):
            lo.append(np.asarray(lo_, float))
            hi.append(np.asarray(hi_, float))
            names.extend(names_)

        # assign: sum_i x_ij = 1
        add(r + xj, X0 + np.arange(nx), np.ones(nx))
        bounds(np.ones(J), np.ones(J), [f"assign[{j}]" for j in range(J)])
        r += J
        # link: x_ij - y_i <= 0
        k = np.arange(nx)
        add(np.concatenate([r + k, r + k]), np.concatenate([X0 + k, xi]),
            np.concatenate([np.ones(nx), -np.ones(nx)]))
        bounds(np.full(nx, -np.inf), np.zeros(nx), [f"link[{a},{b}]" for a, b in zip(xi.tolist(), xj.tolist())])
        r += nx
        # capacity: sum_j d_j x_ij (+ d_j z_ij) - Q_i y_i <= 0 for finite Q_i
        cap_sites = np.flatnonzero(np.isfinite(Q))
        cap_row = np.full(I, -1)
        cap_row[cap_sites] = r + np.arange(cap_sites.size)
        keep = cap_row[xi] >= 0
        add(cap_row[xi[keep]], X0 + k[keep], d[xj[keep]])
        if self.survivable and self.backup_capacity == "reserve":
            kz = cap_row[zi] >= 0
            add(cap_row[zi[kz]], Z0 + np.flatnonzero(kz), d[zj[kz]])
        add(cap_row[cap_sites], cap_sites, -Q[cap_sites])
        bounds(np.full(cap_sites.size, -np.inf), np.zeros(cap_sites.size),
               [f"capacity[{i}]" for i in cap_sites.tolist()])
        r += cap_sites.size
        # cardinality
        c_lo, c_hi = self._card_range()
        if c_lo > 0 or c_hi < I:
            add(np.full(I, r), np.arange(I), np.ones(I))
            bounds([c_lo], [c_hi], ["open[0]"])
            r += 1
        if self.survivable:
            kz = np.arange(nz)
            add(r + zj, Z0 + kz, np.ones(nz))  # backup: sum_i z_ij = 1
            bounds(np.ones(J), np.ones(J), [f"backup[{j}]" for j in range(J)])
            r += J
            add(np.concatenate([r + kz, r + kz]), np.concatenate([Z0 + kz, zi]),
                np.concatenate([np.ones(nz), -np.ones(nz)]))  # backup_link: z_ij <= y_i
            bounds(np.full(nz, -np.inf), np.zeros(nz),
                   [f"backup_link[{a},{b}]" for a, b in zip(zi.tolist(), zj.tolist())])
            r += nz
            # disjoint: z_ij + x_ij <= 1 where both exist
            xpos = np.full((I, J), -1)
            xpos[xi, xj] = np.arange(nx)
            both = np.flatnonzero(xpos[zi, zj] >= 0)
            nb = both.size
            add(np.concatenate([r + np.arange(nb)] * 2),
                np.concatenate([Z0 + both, X0 + xpos[zi[both], zj[both]]]), np.ones(2 * nb))
            bounds(np.full(nb, -np.inf), np.ones(nb),
                   [f"disjoint[{a},{b}]" for a, b in zip(zi[both].tolist(), zj[both].tolist())])
            r += nb
        A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(r, n))
        c = np.concatenate([self.fixed_cost, self.cost[xi, xj], self.backup_weight * self.cost[zi, zj]])
        integ = np.zeros(n, dtype=bool)
        integ[:I] = True
        integ[Z0:] = True
        if self.single_source:
            integ[X0:Z0] = True
        var_names = ([f"y[{i}]" for i in range(I)] + [f"x[{a},{b}]" for a, b in zip(xi, xj)]
                     + [f"z[{a},{b}]" for a, b in zip(zi, zj)])
        return MILP(c=c, A=A, lb_row=np.concatenate(lo), ub_row=np.concatenate(hi),
                    lb=np.zeros(n), ub=np.ones(n), integrality=integ, var_names=var_names,
                    row_names=names)

    def _unpack(self, x: np.ndarray):
        I, J = self.cost.shape
        xi, xj = np.nonzero(np.isfinite(self.cost))
        y = x[:I] > 0.5
        assign = np.zeros((I, J))
        assign[xi, xj] = np.clip(x[I:I + xi.size], 0.0, 1.0)
        backup = None
        if self.survivable:
            zi, zj = np.nonzero(self.backup_allowed)
            backup = np.zeros((I, J), dtype=bool)
            backup[zi, zj] = x[I + xi.size:] > 0.5
        return y, assign, backup


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
    model, start, lb_lp, note = problem.to_milp(), None, float("nan"), ""
    solved = problem
    if reduce:
        solved, model, start, lb_lp, note = _reduce(problem, model)
    res = solve(model, solver=solver, time_limit=time_limit, gap=gap, threads=threads,
                verbose=verbose, node_limit=node_limit, start=start,
                emphasis="hardlp" if reduce else None)  # degenerate p-median LPs
    res.raise_for_status()
    y, assign, backup = solved._unpack(res.x)
    bound = res.bound if not np.isfinite(lb_lp) else np.nanmax([res.bound, lb_lp])
    from edgefm.placement.milp import _rel_gap
    return FacilityResult(res.status, res.objective, float(bound), _rel_gap(res.objective, bound),
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
    lo, hi = problem._card_range()
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
    m2 = reduced.to_milp()
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


def pmedian(dist, p: int) -> FacilityProblem:
    """The p-median problem on a (sites x demands) distance matrix (``inf`` = unreachable).

    Minimises the total distance from each demand to its nearest of ``p`` open sites
    (Hakimi 1965): zero opening costs, unit demands, no capacities, ``sum y = p``.
    """
    dist = np.asarray(dist, dtype=float)
    if dist.ndim != 2:
        raise ScenarioError(f"must be a 2-D matrix, got {dist.ndim}-D", field="dist")
    I, J = dist.shape
    return FacilityProblem(cost=dist, demand=np.ones(J), capacity=np.full(I, np.inf),
                           fixed_cost=np.zeros(I), n_open=int(p))


def capacitated_facility_location(capacity, fixed_cost, demand, alloc_cost, *,
                                  single_source: bool = False) -> FacilityProblem:
    """Capacitated facility location with splittable demand (OR-Library ``cap``).

    ``alloc_cost[i, j]`` is the cost of serving ALL of customer ``j``'s demand at site ``i``,
    so it is used directly as ``c_ij`` with fractional ``x_ij`` (Beasley 1988).
    """
    return FacilityProblem(cost=alloc_cost, demand=demand, capacity=capacity,
                           fixed_cost=fixed_cost, single_source=single_source)
