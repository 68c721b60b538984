"""Network-aware assignment form of the core placement (docs/model.md §5.7) for a :class:`Scenario`.

Demands d = (u, n, m): every core MS m of task type n for user u with λ_{u,n} > 0. Each carries a
mean occupancy o_d = λ_{u,n} a_m / f_m (busy instances, Little's law) and a mean finish time
fin_{d,v} = ``mean_profile(s).finish[u, n, m, v]`` (ms after arrival, docs/model.md §5.1). Demand d may use node
v when fin_{d,v} ≤ D_n (its *latency budget*) and one instance of m fits on v; a demand with no
such node has its budget relaxed to its best node(s) (recorded in ``info["relaxed"]``).

Variables: x_{v,m} ∈ ℕ core instances, y_{v,m} ∈ {0, 1} (the site (v, m) hosts m), w_{d,v} ∈ [0, 1]
(share of d served at v) and, for N−1 survivability, z_{d,v} ∈ {0, 1} (backup node of d)::

    min  Σ x_{v,m} (c_dp_m + T c_mt_m) + ω · TΔ · Σ_d λ_d Σ_v fin_{d,v} w_{d,v}
    s.t. Σ_v w_{d,v} = 1                                   (assign)      ∀ d
         w_{d,v} ≤ y_{v,m}                                 (link_w)      allowed (d, v)
         Σ_{d ∋ m} o_d w_{d,v} ≤ util · x_{v,m}            (host)        ∀ sites (v, m)
         Σ_m r_{m,k} x_{v,m} ≤ R_{v,k} (1 − reserve)       (cap)         ∀ v, k
         y_{v,m} ≤ x_{v,m} ≤ U_{v,m} y_{v,m}               (link_lo/hi)
         Σ y ≥ κ (min_sites),  Σ y ≤ K (max_sites)         (min_sites / max_sites)
         Σ_v z_{d,v} = 1,  z_{d,v} ≤ y_{v,m},  z_{d,v} + w_{d,v} ≤ 1   (backup, backup_link, disjoint)

with U_{v,m} = min_k ⌊R_{v,k}(1 − reserve) / r_{m,k}⌋. The first objective term is the E6 core cost;
the second prices expected latency: ω is a cost per task·ms, TΔ λ_d the number of tasks of d over
the horizon, so the term is ω times the total expected task·ms (each stage's finish time measured
from arrival along the mean-value DAG, so it grows with how far from the gateway the stage runs).
The default ω = mean core c_mt (cost of one core instance for one slot per task·ms of latency): on
the paper scenario moving one demand (λ ≈ 0.8 /ms) 1 ms closer over T = 1000 slots is worth
≈ 3200, close to one core instance (c_dp + T c_mt = 4020), so both terms shape the solution.
``latency_weight=0`` gives the cheapest placement that respects the budgets.

Backup capacity (``backup_capacity``): ``"ignore"`` (default) only requires every demand to have a
hosting site within budget on a node none of its primary shares uses, so after losing any one
node each demand still has a host (possibly overloaded). ``"reserve"`` adds the backup occupancy
to the host row, Σ_d o_d (w_{d,v} + z_{d,v}) ≤ util · x_{v,m}: sound (after losing node f, node v
receives at most Σ_d o_d w_{d,f} z_{d,v} ≤ Σ_d o_d z_{d,v}) but conservative, since it reserves
for all failures at once. ``"failover"`` adds, per core MS m and node f, the aggregate N−1 capacity
row Σ_{v ≠ f} failover_util · x_{v,m} ≥ Σ_{d ∋ m} o_d (after losing f the other instances of m
carry its whole mean occupancy at utilisation ``failover_util``, default 1); it is exact for the
aggregate capacity but does not check that the re-routed shares stay within their budgets (the z
backups do that per demand, for one node of each demand).

p-median and capacitated facility location are the special cases solved by
:mod:`edgefm.placement.facility`; this module builds the scenario-specific form.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..errors import InfeasibleError, SolverError
from ..scenario.schema import RESOURCES, Scenario
from .profile import MeanProfile, mean_profile

__all__ = ["AssignmentData", "assignment_data", "build_assignment", "assign_placement", "n1_violations"]

_TOL = 1e-9
_BACKUP = ("ignore", "reserve", "failover")


@dataclass(frozen=True, eq=False)
class AssignmentData:
    """Numbers of one assignment instance.

    Attributes
    ----------
    demands : ndarray, shape (D, 3) int
        (user, type, core MS) of each demand.
    rate, occ : ndarray, shape (D,)
        λ_{u,n} (tasks/ms) and o_d = λ a_m / f_m (busy instances).
    finish : ndarray, shape (D, V)
        Mean finish time fin_{d,v} (ms, +inf where m cannot run).
    deadline : ndarray, shape (D,)
        D_n of the demand's type.
    allowed : ndarray, shape (D, V) bool
        Nodes within the (possibly relaxed) budget that can host m.
    relaxed : list of dict
        Demands whose budget was relaxed to their best node.
    U : ndarray, shape (V, M) int
        Capacity bound on instances per site.
    R : ndarray, shape (V, K)
        Usable capacity.
    core : tuple of int
    """

    demands: np.ndarray
    rate: np.ndarray
    occ: np.ndarray
    finish: np.ndarray
    deadline: np.ndarray
    allowed: np.ndarray
    relaxed: list
    U: np.ndarray
    R: np.ndarray
    core: tuple
    profile: MeanProfile

    @property
    def n_demands(self) -> int:
        return len(self.demands)


def _U(R: np.ndarray, r: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(r[None] > 0, np.floor(R[:, None, :] / np.where(r > 0, r, 1.0)[None] + _TOL), np.inf)
    u = q.min(axis=2)
    return np.where(np.isfinite(u), np.maximum(u, 0), 1e4).astype(int)


def _dname(s: Scenario, d) -> str:
    u, n, m = (int(i) for i in d)
    return f"(user {s.users[u].name}, type {s.task_types[n].name}, core MS {s.microservices[m].name})"


def assignment_data(scenario: Scenario, profile: MeanProfile | None = None,
                    reserve: float | None = None) -> AssignmentData:
    """Demands, occupancies, finish times and allowed nodes of the assignment form (module doc)."""
    prof = mean_profile(scenario) if profile is None else profile
    reserve = scenario.placement.reserve if reserve is None else float(reserve)
    R = scenario.capacity * (1.0 - reserve)
    U = _U(R, scenario.demand)
    lam = scenario.arrival_rates
    mss = scenario.microservices
    rows, rate, occ, fin, dl, allowed, relaxed = [], [], [], [], [], [], []
    for n, tt in enumerate(scenario.task_types):
        for u in range(scenario.n_users):
            if lam[u, n] <= 0:
                continue
            for m in tt.stages:
                if not mss[m].is_core:
                    continue
                f = np.asarray(prof.finish[u, n, m], dtype=float)
                ok = np.isfinite(f) & (U[:, m] >= 1)
                if not ok.any():
                    raise InfeasibleError(
                        f"demand {_dname(scenario, (u, n, m))} has no node where it can run: "
                        f"{mss[m].name} or an MS upstream of it fits on no node; add capacity")
                a = ok & (f <= tt.deadline_ms + _TOL)
                if not a.any():
                    best = f[ok].min()
                    a = ok & (f <= best + _TOL)
                    relaxed.append({"user": scenario.users[u].name, "type": tt.name, "ms": mss[m].name,
                                    "deadline_ms": float(tt.deadline_ms), "best_finish_ms": float(best)})
                rows.append((u, n, m))
                rate.append(lam[u, n])
                occ.append(lam[u, n] * mss[m].mean_service_ms)
                fin.append(f)
                dl.append(tt.deadline_ms)
                allowed.append(a)
    V = scenario.n_nodes
    return AssignmentData(
        demands=np.array(rows, dtype=int).reshape(-1, 3), rate=np.array(rate, float), occ=np.array(occ, float),
        finish=np.array(fin, float).reshape(-1, V), deadline=np.array(dl, float),
        allowed=np.array(allowed, bool).reshape(-1, V), relaxed=relaxed, U=U, R=R,
        core=tuple(scenario.core_ms), profile=prof)


def _check(scenario: Scenario, data: AssignmentData, survivable: bool, util: float, min_sites, max_sites,
           backup_capacity: str = "ignore") -> None:
    """Raise :class:`InfeasibleError` when a necessary condition fails (before any solve)."""
    mss, nodes = scenario.microservices, scenario.nodes
    U = data.U
    names = lambda mask: ", ".join(nodes[v].name for v in np.flatnonzero(mask))  # noqa: E731
    for i, d in enumerate(data.demands):
        m = d[2]
        most = util * U[data.allowed[i], m].sum()
        if data.occ[i] > most + _TOL:
            raise InfeasibleError(
                f"demand {_dname(scenario, d)} needs {data.occ[i]:.3g} busy instances but its nodes within the "
                f"{data.deadline[i]:.4g} ms budget ({names(data.allowed[i])}) hold at most {most:.3g} at "
                f"util {util:g}; raise util, the deadline or those nodes' capacity")
        if survivable and data.allowed[i].sum() < 2:
            raise InfeasibleError(
                f"N-1: demand {_dname(scenario, d)} has only node {names(data.allowed[i])} within its "
                f"{data.deadline[i]:.4g} ms budget, a backup needs a second one; relax the deadline or drop "
                f"survivable")
    need = np.zeros(len(RESOURCES))
    for m in data.core:
        of = data.demands[:, 2] == m
        if not of.any():
            continue
        where = data.allowed[of].any(axis=0)
        tot = data.occ[of].sum()
        most = util * U[where, m].sum()
        if tot > most + _TOL:
            raise InfeasibleError(
                f"core MS {mss[m].name!r} serves {tot:.3g} busy instances but its usable nodes ({names(where)}) "
                f"hold at most {most:.3g} at util {util:g}; raise util or add capacity")
        factor = 2.0 if survivable and backup_capacity == "reserve" else 1.0
        need += math.ceil(factor * tot / util - _TOL) * scenario.demand[m]
    have = data.R.sum(axis=0)
    for k in range(len(RESOURCES)):
        if need[k] > have[k] + _TOL:
            raise InfeasibleError(
                f"resource {RESOURCES[k]}: the core instances needed at util {util:g}"
                f"{' with reserved backups (twice the occupancy)' if survivable and backup_capacity == 'reserve' else ''}"
                f" use {need[k]:.1f} but all nodes hold {have[k]:.1f}; lower the load, raise util or add capacity")
    served = sorted(set(data.demands[:, 2].tolist()))
    least = len(served) * (2 if survivable else 1)
    if max_sites is not None and max_sites < least:
        raise InfeasibleError(f"max_sites = {max_sites} < {least}: each of the {len(served)} core MSs needs "
                              f"{'2 sites (N-1)' if survivable else 'a site'}")
    pairs = int(np.count_nonzero(U[:, list(data.core)] >= 1))
    if min_sites is not None and min_sites > pairs:
        raise InfeasibleError(f"min_sites = {min_sites} exceeds the {pairs} (node, core MS) sites that can host "
                              f"an instance; lower min_sites")
    if min_sites is not None and max_sites is not None and min_sites > max_sites:
        raise InfeasibleError(f"min_sites = {min_sites} exceeds max_sites = {max_sites}")


def build_assignment(scenario: Scenario, data: AssignmentData, *, survivable: bool = False,
                     min_sites: int | None = None, max_sites: int | None = None, util: float = 0.8,
                     latency_weight: float | None = None, backup_capacity: str = "ignore",
                     failover_util: float = 1.0):
    """The assignment form as a :class:`~edgefm.placement.milp.MILP` (module doc).

    Returns
    -------
    model : MILP
        Columns [x_p, y_p (sites p), w_a (allowed (d, v) pairs a), z_a (if survivable)].
    layout : dict
        ``pv, pm`` (site node/MS), ``ad, av`` (pair demand/node), and column offsets.
    """
    import scipy.sparse as sp

    from .milp import MILP

    if backup_capacity not in _BACKUP:
        raise ValueError(f"backup_capacity must be one of {_BACKUP}, got {backup_capacity!r}")
    if not 0 < util <= 1:
        raise ValueError(f"util must be in (0, 1], got {util}")
    omega = default_latency_weight(scenario) if latency_weight is None else float(latency_weight)
    V, K = scenario.n_nodes, len(RESOURCES)
    core = list(data.core)
    mask = np.zeros_like(data.U, dtype=bool)
    mask[:, core] = data.U[:, core] >= 1
    pv, pm = np.nonzero(mask)
    order = np.lexsort((pv, pm))
    pv, pm = pv[order], pm[order]
    P = len(pv)
    site = -np.ones((V, scenario.n_ms), dtype=int)
    site[pv, pm] = np.arange(P)
    ad, av = np.nonzero(data.allowed)
    A_ = len(ad)
    ap = site[av, data.demands[ad, 2]]
    assert (ap >= 0).all()
    X, Y, W = 0, P, 2 * P
    Z = W + A_
    n = Z + (A_ if survivable else 0)
    rows, cols, vals, lo, hi, rn = [], [], [], [], [], []

    def row(cs, vs, low, up, name):
        i = len(lo)
        rows.extend([i] * len(cs))
        cols.extend(int(c) for c in cs)
        vals.extend(float(v) for v in vs)
        lo.append(low)
        hi.append(up)
        rn.append(name)

    ids = np.arange(A_)
    for i in range(data.n_demands):
        of = ids[ad == i]
        row(W + of, np.ones(len(of)), 1.0, 1.0, f"assign[{i}]")
        if survivable:
            row(Z + of, np.ones(len(of)), 1.0, 1.0, f"backup[{i}]")
    for a in range(A_):
        row([W + a, Y + ap[a]], [1.0, -1.0], -np.inf, 0.0, f"link_w[{a}]")
        if survivable:
            row([Z + a, Y + ap[a]], [1.0, -1.0], -np.inf, 0.0, f"backup_link[{a}]")
            row([Z + a, W + a], [1.0, 1.0], -np.inf, 1.0, f"disjoint[{a}]")
    for p in range(P):
        at = ids[ap == p]
        o = data.occ[ad[at]]
        cs, vs = list(W + at), list(o)
        if survivable and backup_capacity == "reserve":
            cs += list(Z + at)
            vs += list(o)
        row(cs + [X + p], vs + [-util], -np.inf, 0.0, f"host[{p}]")
        row([X + p, Y + p], [1.0, -1.0], 0.0, np.inf, f"link_lo[{p}]")
        row([X + p, Y + p], [1.0, -float(data.U[pv[p], pm[p]])], -np.inf, 0.0, f"link_hi[{p}]")
    if survivable and backup_capacity == "failover":
        # after losing node f, the other sites of m carry all of m's occupancy at failover_util
        for m in core:
            tot = data.occ[data.demands[:, 2] == m].sum()
            of = np.flatnonzero(pm == m)
            for f in np.unique(pv[of]):
                keep = of[pv[of] != f]
                row(X + keep, np.full(len(keep), failover_util), tot, np.inf, f"failover[{f},{m}]")
    r = scenario.demand
    for v in range(V):
        at = np.flatnonzero(pv == v)
        for k in range(K):
            coef = r[pm[at], k]
            nz = coef > 0
            if nz.any():
                row(X + at[nz], coef[nz], -np.inf, data.R[v, k], f"cap[{v},{RESOURCES[k]}]")
    if min_sites is not None:
        row(Y + np.arange(P), np.ones(P), float(min_sites), np.inf, "min_sites")
    if max_sites is not None:
        row(Y + np.arange(P), np.ones(P), -np.inf, float(max_sites), "max_sites")
    T, dt = scenario.horizon_slots, scenario.slot_ms
    mss = scenario.microservices
    c = np.zeros(n)
    c[X:Y] = [mss[m].cost_deploy + T * mss[m].cost_maintain for m in pm]
    c[W:Z] = omega * T * dt * data.rate[ad] * data.finish[ad, av]
    lb = np.zeros(n)
    ub = np.ones(n)
    ub[X:Y] = data.U[pv, pm]
    integ = np.ones(n, dtype=int)
    integ[W:Z] = 0
    A = sp.csr_matrix((vals, (rows, cols)), shape=(len(lo), n))
    model = MILP(c, A, np.array(lo), np.array(hi), lb, ub, integ, row_names=rn)
    layout = dict(pv=pv, pm=pm, ad=ad, av=av, X=X, Y=Y, W=W, Z=Z, omega=omega)
    return model, layout


def default_latency_weight(scenario: Scenario) -> float:
    """ω = mean c_mt over core MSs: one core instance-slot per task·ms of expected latency (module doc)."""
    core = scenario.core_ms
    return float(np.mean([scenario.microservices[m].cost_maintain for m in core])) if core else 0.0


def assign_placement(scenario: Scenario, solver: str = "scip", survivable: bool = False,
                     min_sites: int | None = None, max_sites: int | None = None, util: float = 0.8,
                     latency_weight: float | None = None, time_limit: float | None = 60,
                     gap: float = 1e-4, backup_capacity: str = "ignore", failover_util: float = 1.0,
                     threads: int = 1, profile: MeanProfile | None = None):
    """Place the core MSs with the network-aware assignment form (docs/model.md §5.7).

    Parameters
    ----------
    scenario : Scenario
    solver : {"scip", "highs"}
    survivable : bool
        Add N−1 backups: every demand gets a backup node within its budget, distinct from all
        nodes serving it.
    min_sites, max_sites : int, optional
        Cardinality Σ y ≥ κ / ≤ K on the (node, core MS) sites in use.
    util : float
        Target utilisation of a core instance, in (0, 1].
    latency_weight : float, optional
        ω, cost per task·ms of expected latency; default :func:`default_latency_weight`.
    time_limit, gap : float
        Solver limits (seconds, relative MIP gap).
    backup_capacity : {"ignore", "reserve", "failover"}
        Whether and how backups reserve capacity (module doc).
    failover_util : float
        Utilisation allowed after a failure with ``backup_capacity="failover"``.
    profile : MeanProfile, optional

    Returns
    -------
    Placement
        The :class:`edgefm.placement.model.Placement` dataclass with ``variant`` ``"assignment"`` or
        ``"assignment_n1"``, ``kappa`` = number of sites, ``score`` = nan, and ``info`` holding
        ``shares`` / ``backups`` (one dict per used (demand, node)), ``relaxed`` demands,
        ``latency_weight``, ``cost_latency`` and ``mean_finish_ms`` (λ-weighted).

    Raises
    ------
    InfeasibleError
        A necessary condition fails (named), or the solver proves infeasibility (with the
        constraint family whose removal restores LP feasibility).
    SolverError
        No incumbent within the limits, or a back-end failure.

    Examples
    --------
    >>> import edgefm
    >>> s = edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=0)
    >>> p = assign_placement(s, solver="highs")
    >>> p.variant, p.status
    ('assignment', 'optimal')
    """
    from .milp import solve
    from .model import Placement

    if solver not in ("scip", "highs"):
        raise ValueError(f"solver must be 'scip' or 'highs', got {solver!r}")
    t0 = time.perf_counter()
    data = assignment_data(scenario, profile)
    _check(scenario, data, survivable, util, min_sites, max_sites, backup_capacity)
    model, L = build_assignment(scenario, data, survivable=survivable, min_sites=min_sites, max_sites=max_sites,
                                util=util, latency_weight=latency_weight, backup_capacity=backup_capacity,
                                failover_util=failover_util)
    res = solve(model, solver=solver, time_limit=time_limit, gap=gap, threads=threads)
    variant = "assignment_n1" if survivable else "assignment"
    if res.status == "infeasible":
        raise InfeasibleError(f"{variant} form is infeasible ({res.message}); relax that constraint, the "
                              f"deadlines or util, or add capacity")
    if res.x is None:
        raise SolverError(f"{solver} found no {variant} placement ({res.status}): {res.message}; raise time_limit")
    if res.status not in ("optimal", "time_limit", "node_limit"):
        raise SolverError(f"{solver} failed on the {variant} form ({res.status}): {res.message}")
    sol = res.x
    pv, pm, ad, av = L["pv"], L["pm"], L["ad"], L["av"]
    V, M = scenario.n_nodes, scenario.n_ms
    x = np.zeros((V, M), dtype=int)
    x[pv, pm] = np.rint(sol[L["X"]:L["Y"]]).astype(int)
    x.setflags(write=False)
    w = np.zeros((data.n_demands, V))
    w[ad, av] = np.clip(sol[L["W"]:L["Z"]], 0.0, 1.0)
    z = None
    if survivable:
        z = np.zeros((data.n_demands, V), dtype=int)
        z[ad, av] = np.rint(sol[L["Z"]:]).astype(int)
    T = scenario.horizon_slots
    mss, nodes = scenario.microservices, scenario.nodes
    cost_core = float(sum(x[v, m] * (mss[m].cost_deploy + T * mss[m].cost_maintain)
                          for v, m in zip(pv, pm)))

    def listing(arr):
        out = []
        for i, v in zip(*np.nonzero(arr > 1e-9)):
            u, n, m = data.demands[i]
            out.append({"user": scenario.users[u].name, "type": scenario.task_types[n].name, "ms": mss[m].name,
                        "node": nodes[v].name, "share": float(arr[i, v]),
                        "finish_ms": float(data.finish[i, v])})
        return out

    fin = np.where(data.allowed, data.finish, 0.0)
    mean_fin = float((data.rate * (w * fin).sum(axis=1)).sum() / data.rate.sum()) if data.n_demands else 0.0
    info = {"shares": listing(w), "relaxed": list(data.relaxed), "latency_weight": L["omega"], "util": util,
            "backup_capacity": backup_capacity if survivable else None, "n_demands": data.n_demands,
            "cost_latency": float(res.objective - cost_core), "mean_finish_ms": mean_fin,
            "demands": data.demands, "w": w, "allowed": data.allowed, "min_sites": min_sites,
            "max_sites": max_sites, "total_seconds": time.perf_counter() - t0}
    if survivable:
        info["backups"] = listing(z)
        info["z"] = z
    return Placement(status=res.status, objective=float(res.objective), bound=float(res.bound),
                     gap=float(res.gap), seconds=float(res.seconds), nodes=int(res.nodes),
                     kappa=int(np.count_nonzero(x)), variant=variant, solver=solver, x=x, cost_core=cost_core,
                     score=float("nan"), node_names=tuple(nd.name for nd in nodes),
                     ms_names=tuple(m.name for m in mss), info=info)


def n1_violations(scenario: Scenario, x: np.ndarray, allowed: np.ndarray | None = None,
                  demands: np.ndarray | None = None) -> list[str]:
    """Single-node failures after which some demand has no surviving host within its budget.

    ``x`` is a (V, M) placement (or a :class:`Placement`); ``allowed`` (D, V) and ``demands`` (D, 3)
    default to :func:`assignment_data` of the scenario. Returns one message per (failed node,
    demand) that loses every host; empty when the placement is N−1 survivable.
    """
    x = np.asarray(getattr(x, "x", x))
    if allowed is None or demands is None:
        data = assignment_data(scenario)
        allowed, demands = data.allowed, data.demands
    out = []
    for f in range(scenario.n_nodes):
        for i, d in enumerate(demands):
            hosts = allowed[i] & (x[:, d[2]] > 0)
            hosts[f] = False
            if not hosts.any():
                out.append(f"losing node {scenario.nodes[f].name} leaves demand {_dname(scenario, d)} without a "
                           f"host within its budget")
    return out
