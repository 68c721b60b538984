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
from edgefm.placement.milp import MILP

__all__ = ["FacilityProblem", "facility_milp", "unpack_solution", "pmedian", "capacitated_facility_location"]


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
        lo, hi = self.card_range()
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

    def card_range(self) -> tuple[int, int]:
        """The least and most sites that may open (from ``n_open``, ``max_open``, ``min_open``)."""
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


# ---------------------------------------------------------------- the program
def facility_milp(problem: FacilityProblem) -> MILP:
    """The MILP of ``problem`` (variables ``[y, x_allowed, z_allowed]``; see module docstring)."""
    I, J = problem.cost.shape
    xi, xj = np.nonzero(np.isfinite(problem.cost))  # allowed primary pairs, row-major
    nx = xi.size
    zi, zj = np.nonzero(problem.backup_allowed) if problem.survivable else (np.zeros(0, int),) * 2
    nz = zi.size
    n = I + nx + nz
    X0, Z0 = I, I + nx
    d, Q = problem.demand, problem.capacity
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
    if problem.survivable and problem.backup_capacity == "reserve":
        kz = cap_row[zi] >= 0
        add(cap_row[zi[kz]], Z0 + np.flatnonzero(kz), d[zj[kz]])
    add(cap_row[cap_sites], cap_sites, -Q[cap_sites])
    bounds(np.full(cap_sites.size, -np.inf), np.zeros(cap_sites.size),
           [f"capacity[{i}]" for i in cap_sites.tolist()])
    r += cap_sites.size
    # cardinality
    c_lo, c_hi = problem.card_range()
    if c_lo > 0 or c_hi < I:
        add(np.full(I, r), np.arange(I), np.ones(I))
        bounds([c_lo], [c_hi], ["open[0]"])
        r += 1
    if problem.survivable:
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
    c = np.concatenate([problem.fixed_cost, problem.cost[xi, xj], problem.backup_weight * problem.cost[zi, zj]])
    integ = np.zeros(n, dtype=bool)
    integ[:I] = True
    integ[Z0:] = True
    if problem.single_source:
        integ[X0:Z0] = True
    var_names = ([f"y[{i}]" for i in range(I)] + [f"x[{a},{b}]" for a, b in zip(xi, xj)]
                 + [f"z[{a},{b}]" for a, b in zip(zi, zj)])
    return MILP(c=c, A=A, lb_row=np.concatenate(lo), ub_row=np.concatenate(hi),
                lb=np.zeros(n), ub=np.ones(n), integrality=integ, var_names=var_names,
                row_names=names)

def unpack_solution(problem: FacilityProblem, x: np.ndarray):
    """Open sites ``y`` (I,), assignment shares (I, J) and backups (I, J) or None, from the MILP's ``x``."""
    I, J = problem.cost.shape
    xi, xj = np.nonzero(np.isfinite(problem.cost))
    y = x[:I] > 0.5
    assign = np.zeros((I, J))
    assign[xi, xj] = np.clip(x[I:I + xi.size], 0.0, 1.0)
    backup = None
    if problem.survivable:
        zi, zj = np.nonzero(problem.backup_allowed)
        backup = np.zeros((I, J), dtype=bool)
        backup[zi, zj] = x[I + xi.size:] > 0.5
    return y, assign, backup


# ---------------------------------------------------------------- classic cases
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
