"""E14 solved exactly by dynamic programming over nodes, pruned by a Lagrangian bound.

E14's capacity and linking rows are local to one node; only the *covering* rows couple the
nodes: demand Σ_v x_{v,m} ≥ N_m, the diversity floor Σ b ≥ κ (E17) and, as an option,
survivability Σ_v b_{v,m} ≥ 2. Write a node's choice as a pattern x_v (its instance counts), its
cost c_v(x_v) and its coverage g_v(x_v) ≥ 0 of those rows (right-hand side h). Then

    E14 = min Σ_v c_v(x_v)   s.t.   Σ_v g_v(x_v) ≥ h,   x_v a pattern of node v.

Three facts make this small on the paper scenario:

1. **Patterns.** A node hosts a handful of core MSs; its integer points are enumerated. A point to
   which one more instance of a pair with negative coefficient still fits is dominated (it costs
   more and covers less), so only the points maximal in those pairs are kept.
2. **States.** Coverage beyond h is worth nothing, so a partial solution over the first nodes is
   summarised by its capped coverage k = min(Σ g, h) and its cost; of two partial solutions with
   the same k the dearer one is dropped. Processing nodes one by one is a dynamic program whose
   states are the points of the grid 0 ≤ k ≤ h.
3. **Pruning.** For multipliers μ ≥ 0 of the covering rows the Lagrangian bound (Geoffrion 1974)
   L(μ) = Σ_v φ_v + μ·h, φ_v = min_x c_v(x) − μ·g_v(x), is a lower bound on E14, and a state
   (k, cost) after some nodes can only be completed at a cost of at least
   cost + Σ_{v left} φ_v + μ·(h − k). States whose bound exceeds a known solution's cost are
   dropped; so are single patterns whose own excess over φ_v does. μ maximises L: the Lagrangian
   dual, a small LP solved by Kelley's cutting planes (each round prices every pattern of every
   node, exactly). Its bound equals the Dantzig–Wolfe bound of :mod:`edgefm.placement.decompose`.

The known solution comes from a first pass that keeps only the ``beam`` states of smallest bound;
the exact pass then keeps everything within the bound. Every state the exact pass drops provably
cannot beat the incumbent, so the best complete state is optimal: status ``"optimal"`` with gap 0,
no branch-and-bound. The last node needs no pairing: a suffix-minimum table over the grid gives,
for every state, the cheapest pattern that covers what is left. When the beam finds nothing, exact
passes run with the bound L + δ|L| for growing δ (a pass that finds a placement within its bound
has found the optimum), the last without a bound, which either finds the optimum or proves that no
placement exists. Infeasibility is also proven at once when L exceeds the cost of every placement
(the nodes' convex hulls cannot cover h).

The method is exact but not polynomial: patterns and states can grow fast with node capacity,
the demands N_m and κ. :func:`solve_e14_dp` stops with :class:`DPLimitError` when they pass its
limits, and :func:`edgefm.placement.e14solve.place` then hands the program to SCIP.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import SolverError

__all__ = ["solve_e14_dp", "DPResult", "DPLimitError", "node_patterns", "lagrangian_dual"]

_TOL = 1e-9
_BLOCK = 1 << 19  # (state, pattern) pairs formed at once
_GRID = 4_000_000  # largest coverage grid the last node is tabulated on


class DPLimitError(SolverError):
    """The node DP would pass its pattern, work or time limit; solve the program otherwise.

    ``incumbent`` is the best placement found before stopping (instances per pair, shape (P,)),
    or None: a feasible start for the solver that takes over.
    """

    def __init__(self, message: str, incumbent: np.ndarray | None = None):
        super().__init__(message)
        self.incumbent = incumbent


@dataclass(frozen=True, eq=False)
class DPResult:
    """Outcome of :func:`solve_e14_dp`.

    Attributes
    ----------
    status : str
        ``"optimal"`` or ``"infeasible"`` (both proven).
    objective, bound, gap : float
        Optimum (``nan`` when infeasible), the same value as its bound, and gap 0.
    x : ndarray or None
        Instances per pair, shape (P,) int, in :class:`~edgefm.placement.model.E14Data` order.
    lagrangian : float
        The Lagrangian (Dantzig–Wolfe) bound max_μ L(μ).
    heuristic : float
        Objective of the beam pass (``nan`` if it found nothing).
    seconds : float
    patterns : tuple of int
        Patterns kept per node.
    states : int
        Most states alive after one node (exact pass).
    work : int
        (state, pattern) combinations examined by both passes.
    message : str
    """

    status: str
    objective: float
    bound: float
    gap: float
    x: np.ndarray | None
    lagrangian: float
    heuristic: float
    seconds: float
    patterns: tuple[int, ...] = ()
    states: int = 0
    work: int = 0
    message: str = ""
    info: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- patterns
def node_patterns(r: np.ndarray, R: np.ndarray, cap: np.ndarray, coef: np.ndarray,
                  max_patterns: int = 500_000) -> np.ndarray:
    """The integer points of one node that are maximal in its negative-coefficient pairs.

    Parameters
    ----------
    r : ndarray, shape (n, K)
        Resource demand of one instance of each of the node's n pairs.
    R : ndarray, shape (K,)
        The node's usable capacity.
    cap : ndarray, shape (n,) int
        Upper bound on each pair's instances.
    coef : ndarray, shape (n,)
        Objective coefficient of each pair.
    max_patterns : int
        Raise :class:`DPLimitError` when the enumeration would hold more points.

    Returns
    -------
    ndarray, shape (Q, n) int
        Every x with 0 ≤ x ≤ cap and r^T x ≤ R such that no pair j with coef_j < 0 and
        x_j < cap_j still fits. Capacity is tested with a relative tolerance of 1e-9.

    Examples
    --------
    >>> node_patterns(np.array([[2.0], [3.0]]), np.array([7.0]), np.array([5, 5]), np.array([-1.0, -1.0]))
    array([[3, 0],
           [2, 1],
           [0, 2]])
    """
    r = np.asarray(r, float)
    n = len(cap)
    lim = np.asarray(R, float) * (1 + _TOL) + _TOL
    neg = np.asarray(coef) < 0
    fill = int(np.argmax(np.where(neg, cap, -1))) if neg.any() else -1  # set last, to its most
    X = np.zeros((1, n), dtype=np.int64)
    used = np.zeros((1, r.shape[1]))
    for j in (j for j in range(n) if j != fill):
        parts, uses = [], []
        for c in range(int(cap[j]) + 1):
            u = used + c * r[j]
            ok = np.all(u <= lim, axis=1)
            if not ok.any():
                break
            Xc = X[ok]
            Xc[:, j] = c
            parts.append(Xc)
            uses.append(u[ok])
        X, used = np.concatenate(parts), np.concatenate(uses)
        if len(X) > max_patterns:
            raise DPLimitError(f"a node has more than {max_patterns} patterns")
    if fill >= 0:
        rf = r[fill]
        pos = rf > 0
        room = np.floor(((lim - used)[:, pos] / rf[pos]).min(axis=1) + _TOL) if pos.any() else np.full(len(X), np.inf)
        k = np.clip(room, 0, cap[fill]).astype(np.int64)
        X[:, fill] = k
        used = used + k[:, None] * rf
    keep = np.ones(len(X), dtype=bool)
    for j in np.flatnonzero(neg):
        keep &= ~((X[:, j] < cap[j]) & np.all(used + r[j] <= lim, axis=1))
    return X[keep]


# --------------------------------------------------------------------------- Lagrangian dual
def lagrangian_dual(costs: list, covers: list, rhs: np.ndarray, max_rounds: int = 500):
    """max_{μ ≥ 0} L(μ) = Σ_v min_q (costs[v][q] − μ·covers[v][q]) + μ·rhs, by Kelley's cutting planes.

    Parameters
    ----------
    costs : list of ndarray, shape (Q_v,)
    covers : list of ndarray, shape (Q_v, J)
        Cost and coverage of every pattern of every node.
    rhs : ndarray, shape (J,)

    Returns
    -------
    L : float
        The best L(μ) met, a valid lower bound (exact pricing over all patterns).
    mu : ndarray, shape (J,)
    phi : ndarray, shape (V,)
        φ_v = min_q costs[v][q] − μ·covers[v][q] at that μ.
    rounds : int
    """
    from scipy.optimize import linprog

    V, J = len(costs), len(rhs)
    scale = max(max((float(np.abs(c).max()) for c in costs if len(c)), default=1.0), 1.0)
    rows = [[int(np.argmin(c))] for c in costs]
    best = (-np.inf, np.zeros(J), np.array([c.min() for c in costs]))
    obj = -np.concatenate([rhs, np.ones(V)])
    bounds = [(0.0, 1e3 * scale)] * J + [(None, None)] * V  # a box keeps the first LPs bounded
    for rnd in range(1, max_rounds + 1):
        A = np.zeros((sum(map(len, rows)), J + V))
        b = np.empty(len(A))
        i = 0
        for v, qs in enumerate(rows):
            for q in qs:
                A[i, :J], A[i, J + v], b[i] = covers[v][q], 1.0, costs[v][q]
                i += 1
        lp = linprog(obj, A_ub=A, b_ub=b, bounds=bounds, method="highs")
        if lp.status != 0:
            raise SolverError(f"HiGHS failed on the Lagrangian dual of E14: {lp.message}")
        mu = np.maximum(lp.x[:J], 0.0)
        red = [c - g @ mu for c, g in zip(costs, covers)]
        phi = np.array([x.min() for x in red])
        L = float(phi.sum() + mu @ rhs)
        if L > best[0]:
            best = (L, mu, phi)
        new = 0
        for v, x in enumerate(red):
            q = int(np.argmin(x))
            if q not in rows[v]:
                rows[v].append(q)
                new += 1
        if new == 0 or -lp.fun - best[0] <= 1e-10 * max(1.0, abs(best[0])):
            break
    return best[0], best[1], best[2], rnd


# --------------------------------------------------------------------------- the DP
def _cheapest_per_key(keys: np.ndarray, costs: np.ndarray, radix: np.ndarray | None) -> np.ndarray:
    """Indices of the cheapest row of every distinct key (rows of ``keys``).

    With ``radix`` (when the key grid can be numbered in 64 bits) a key's number identifies it.
    Otherwise rows are sorted by a 64-bit hash, then cost, and a row is kept when its key differs
    from the previous row's: a hash collision can only keep a dominated row, never drop one.
    """
    if radix is not None:
        code = keys @ radix
        o = np.lexsort((costs, code))
        first = np.ones(len(o), dtype=bool)
        first[1:] = code[o][1:] != code[o][:-1]
        return o[first]
    w = np.random.default_rng(0x5EED).integers(1, 2 ** 62, size=keys.shape[1], dtype=np.int64) | 1
    with np.errstate(over="ignore"):
        o = np.lexsort((costs, keys @ w))
    ko = keys[o]
    first = np.ones(len(o), dtype=bool)
    first[1:] = np.any(ko[1:] != ko[:-1], axis=1)
    return o[first]


def _radix(rhs: np.ndarray) -> np.ndarray | None:
    """Place values numbering the grid 0 ≤ k ≤ rhs, or None when it has 2⁶² points or more."""
    if float(np.prod(rhs.astype(float) + 1)) >= 2.0 ** 62:
        return None
    return np.cumprod(np.concatenate([[1], rhs[:-1] + 1])).astype(np.int64)


def _pairs(counts: np.ndarray, offset: int):
    """(state, candidate) index pairs when state s takes candidates 0 … counts[s] − 1."""
    parent = np.repeat(np.arange(offset, offset + len(counts)), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    return parent, np.arange(len(parent)) - start


def _sweep(cands, order, rhs, mu, phi, ub, beam, deadline, max_work):
    """One pass over the nodes; returns (best objective, chosen candidate per node, max states, work).

    ``cands[v]`` = (capped keys, costs, pattern indices, excess), sorted by excess. A state of bound
    b can only take the candidates with excess ≤ ub − b (the bound rises by at least the excess),
    a prefix of that order.
    """
    J, radix = len(rhs), _radix(rhs)
    reach = np.zeros((len(order) + 1, J), dtype=np.int64)  # most coverage the nodes left can add
    for i in range(len(order) - 1, -1, -1):
        reach[i] = reach[i + 1] + cands[order[i]][0].max(axis=0)
    phi_left = np.concatenate([np.cumsum(phi[order][::-1])[::-1], [0.0]])
    tol = 1e-9 * max(1.0, abs(ub)) if np.isfinite(ub) else 0.0
    keys, costs, bnds = np.zeros((1, J), dtype=np.int64), np.zeros(1), np.array([phi_left[0] + rhs @ mu])
    trail, most, work = [], 1, 0
    grid = float(np.prod(rhs + 1.0))
    for i, v in enumerate(order):
        K, C, _, E = cands[v]
        counts = np.searchsorted(E, ub + tol - bnds, side="right")
        if i == len(order) - 1 and grid <= min(_GRID, 2.0 * counts.sum()):
            # the last node by table look-up when the table is smaller than the pairs
            return _finish(keys, costs, trail, K, C, rhs, ub + tol, most, work + len(keys) + len(K))
        work += int(counts.sum())
        if work > max_work:
            raise DPLimitError("the node DP would pass its limit on examined (state, pattern) pairs")
        if time.perf_counter() > deadline:
            raise DPLimitError("the node DP ran out of time")
        parts, a = [], 0
        while a < len(keys):  # blocks of about _BLOCK pairs
            b = a + max(1, int(np.searchsorted(np.cumsum(counts[a:]), _BLOCK)))
            parent, choice = _pairs(counts[a:b], a)
            nk = np.minimum(keys[parent] + K[choice], rhs)
            nc = costs[parent] + C[choice]
            bnd = nc + phi_left[i + 1] + (rhs - nk) @ mu
            ok = np.flatnonzero(np.all(nk + reach[i + 1] >= rhs, axis=1) & (bnd <= ub + tol))
            parts.append((nk[ok], nc[ok], bnd[ok], parent[ok], choice[ok]))
            a = b
        nk, nc, bnd, parent, choice = (np.concatenate(z) for z in zip(*parts))
        o = _cheapest_per_key(nk, nc, radix)
        if beam is not None and len(o) > beam:
            o = o[np.argpartition(bnd[o], beam)[:beam]]
        keys, costs, bnds = nk[o], nc[o], bnd[o]
        trail.append((parent[o], choice[o]))
        most = max(most, len(keys))
        if not len(keys):
            return np.inf, None, most, work
    # every surviving state covers rhs (reach of no nodes is 0)
    return float(costs.min()), _backtrack(trail, int(np.argmin(costs))), most, work


def _backtrack(trail, s: int) -> list:
    """The candidate each node took on the way to state ``s`` of the last level of ``trail``."""
    picks = [0] * len(trail)
    for i in range(len(trail) - 1, -1, -1):
        parent, choice = trail[i]
        picks[i] = int(choice[s])
        s = int(parent[s])
    return picks


def _finish(keys, costs, trail, K, C, rhs, ub, most, work):
    """Complete every state with the last node's cheapest candidate covering rhs − key.

    Like every pass, it reports only a placement of cost ≤ ``ub``: one above it would not be
    proven optimal, since the pass dropped states that could only beat it by less than that.

    f(y) = min{C_q : K_q ≥ y} over the grid 0 ≤ y ≤ rhs is a suffix minimum, one
    ``minimum.accumulate`` per axis; then each state needs one look-up.
    """
    f = np.full(tuple(int(h) + 1 for h in rhs), np.inf)
    np.minimum.at(f, tuple(K.T), C)
    for ax in range(len(rhs)):
        f = np.flip(np.minimum.accumulate(np.flip(f, ax), axis=ax), ax)
    tot = costs + f[tuple((rhs - keys).T)]
    s = int(np.argmin(tot))
    if not (np.isfinite(tot[s]) and tot[s] <= ub):
        return np.inf, None, most, work
    need = rhs - keys[s]
    q = np.flatnonzero(np.all(K >= need, axis=1))
    q = int(q[np.argmin(C[q])])
    return float(tot[s]), _backtrack(trail, s) + [q], most, work


def _coverage(X: np.ndarray, ms: np.ndarray, core: list, kappa: int, survivable: bool) -> np.ndarray:
    """Coverage of the covering rows (demand per core MS, κ, survivability per core MS) by patterns X."""
    J = len(core)
    G = np.zeros((len(X), J + (kappa > 0) + (J if survivable else 0)), dtype=np.int64)
    col = {m: j for j, m in enumerate(core)}
    for i, m in enumerate(ms):
        G[:, col[m]] = X[:, i]
        if survivable:
            G[:, J + (kappa > 0) + col[m]] = X[:, i] > 0
    if kappa > 0:
        G[:, J] = np.count_nonzero(X, axis=1)
    return G


def solve_e14_dp(scenario, data, kappa: int = 0, survivable: bool = False, time_limit: float | None = None,
                 beam: int = 128, max_patterns: int = 500_000, max_work: float = 1e7) -> DPResult:
    """Solve E14 exactly by the node DP of this module (κ floor and survivability included).

    Parameters
    ----------
    scenario : Scenario
    data : E14Data
        From :func:`~edgefm.placement.model.e14_data` (literal or bounded variant).
    kappa : int
        Diversity floor κ (E17).
    survivable : bool
        Every core MS on at least 2 nodes.
    time_limit : float, optional
        Seconds; past it the DP stops with :class:`DPLimitError`.
    beam : int
        States kept per node by the heuristic pass that supplies the pruning bound.
    max_patterns, max_work : int, float
        Limits on patterns per node and on (state, pattern) pairs examined by all passes
        together (about 2.5 s per 10⁷ on one core).

    Returns
    -------
    DPResult
        Status ``"optimal"`` or ``"infeasible"``, both proven.

    Raises
    ------
    DPLimitError
        A limit would be passed; nothing is proven.

    Examples
    --------
    >>> import edgefm
    >>> from edgefm.placement.model import e14_data
    >>> s = edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=0)
    >>> res = solve_e14_dp(s, e14_data(s, variant="literal"))
    >>> res.status, res.gap
    ('optimal', 0.0)
    """
    t0 = time.perf_counter()
    deadline = t0 + (np.inf if time_limit is None else float(time_limit))
    core = list(data.core)
    rhs = np.concatenate([data.N[core], [kappa] if kappa > 0 else [], [2] * len(core) if survivable else []])
    rhs = rhs.astype(np.int64)
    V = scenario.n_nodes
    pats, costs, covers = [], [], []
    for v in range(V):
        at = np.flatnonzero(data.pv == v)
        X = node_patterns(data.r[data.pm[at]], data.R[v], data.cap[at], data.coef[at], max_patterns)
        pats.append((at, X))
        costs.append(X @ data.coef[at])
        covers.append(_coverage(X, data.pm[at], core, kappa, survivable))
        if time.perf_counter() > deadline:
            raise DPLimitError("the node DP ran out of time while enumerating patterns")
    L, mu, phi, rounds = lagrangian_dual(costs, covers, rhs.astype(float))
    patterns = tuple(len(c) for c in costs)
    info = {"rounds": rounds, "mu": mu.tolist()}
    worst = float(np.maximum(data.coef, 0) @ data.cap)  # no placement costs more
    if L > worst + 1e-9 * max(1.0, abs(worst)):
        return DPResult("infeasible", np.nan, np.nan, np.nan, None, L, np.nan, time.perf_counter() - t0, patterns,
                        0, 0, f"node DP: the Lagrangian bound {L:.6g} exceeds {worst:.6g}, the cost of any "
                        f"placement: even the nodes' convex hulls cannot cover the demand, κ and survivability rows",
                        info)

    # per node, the cheapest pattern of every capped coverage, by excess over φ_v: the bound of any
    # state rises by at least the excess of the pattern it takes (and the cheapest of a coverage
    # has its least excess, so the bound filters of the passes below are prefixes of this order)
    radix, ranked = _radix(rhs), []
    for v in range(V):
        key = np.minimum(covers[v], rhs)
        idx = _cheapest_per_key(key, costs[v], radix)
        excess = costs[v][idx] - key[idx] @ mu - phi[v]
        o = np.argsort(excess, kind="stable")
        ranked.append((key[idx[o]], costs[v][idx[o]], idx[o], excess[o]))

    def candidates(ub, limit=None):
        """The ranked patterns whose excess the bound ``ub`` allows (at most ``limit`` per node)."""
        tol = 1e-9 * max(1.0, abs(ub)) if np.isfinite(ub) else 0.0
        out = []
        for K, C, idx, E in ranked:
            n = int(np.searchsorted(E, ub - L + tol, side="right")) if np.isfinite(ub) else len(E)
            n = n if limit is None else min(n, limit)
            out.append((K[:n], C[:n], idx[:n], E[:n]))
        return out

    work = 0

    def run(ub, width=None, limit=None):
        nonlocal work
        cands = candidates(ub, limit)
        if any(len(c[1]) == 0 for c in cands):
            return np.inf, None, 0, cands, []
        order = sorted(range(V), key=lambda v: len(cands[v][1]))
        best, picks, most, w = _sweep(cands, order, rhs, mu, phi, ub, width, deadline, max_work - work)
        work += w
        return best, picks, most, cands, order

    # exact passes with a growing bound ub = L + Δ, doubling Δ from 10⁻⁴|L| up to the beam's placement
    # (or 100 % of |L| without one): the first pass that finds a placement within its bound has found
    # the optimum, and a pass whose bound lies below the optimum drops its states early, so it is cheap
    def placement(picks, cands, order):
        x = np.zeros(data.n_pairs, dtype=np.int64)
        for i, v in enumerate(order):
            at, X = pats[v]
            x[at] = X[cands[v][2][picks[i]]]
        return x

    heur, picks, most, cands, order = run(np.inf, beam, 4 * beam)
    start = placement(picks, cands, order) if picks is not None else None
    scale = max(1.0, abs(L))
    top = heur - L if np.isfinite(heur) else scale
    delta = min(1e-4 * scale, top)
    try:
        while True:
            ub = L + delta if delta < top else (heur if np.isfinite(heur) else np.inf)
            if not np.isfinite(ub) and np.prod(rhs + 1.0) > 2e5:
                raise DPLimitError("the node DP found no placement within 100 % of its Lagrangian bound and the "
                                   "coverage grid is too large to search without it")
            best, picks, most, cands, order = run(ub)
            if picks is not None or not np.isfinite(ub):
                break
            delta = min(top, 2 * delta)
    except DPLimitError as exc:
        raise DPLimitError(str(exc), incumbent=start) from None
    if picks is None or not np.isfinite(best):
        return DPResult("infeasible", np.nan, np.nan, np.nan, None, L, heur, time.perf_counter() - t0, patterns,
                        most, work, "node DP: no placement covers the demand, κ and survivability rows",
                        info)
    x = placement(picks, cands, order)
    obj = float(data.coef @ x)
    msg = (f"node DP: {sum(patterns)} patterns, Lagrangian bound {L:.6g} ({rounds} rounds), beam {heur:.6g}, "
           f"exact pass {most} states, {work} combinations")
    return DPResult("optimal", obj, obj, 0.0, x, L, heur, time.perf_counter() - t0, patterns, most, work,
                    msg, info)
