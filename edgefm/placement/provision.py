"""The ``edgefm`` method's tier 1: network-aware, queue-sized, overload-aware provisioning.

One mixed-integer program (docs/model.md, E24) chooses, for every microservice —
core *and* light — how many instances run on each node, and how many tasks of each
(user, task type) class the system admits:

    maximise    B Σ_{u,n} α_{u,n}  −  Σ_{v,m} c̄_m x_{v,m}  −  γ Σ y_{u,n,i,v} e_{u,n,i,v}
    subject to  Σ_v y_{u,n,i,v} = α_{u,n}                    every class (u,n), stage i   (flow)
                Σ_{(u,n,i) on m} a_m y_{u,n,i,v} ≤ ρ_m f̄_m x_{v,m}   every node v, MS m         (service)
                Σ_m r_{m,k} x_{v,m} ≤ R_{v,k}                every node v, resource k     (E8)
                0 ≤ α_{u,n} ≤ λ_{u,n},  y ≥ 0,  x ∈ ℕ,  y_{u,n,i,v} = 0 unless (u,n,i,v) is on time

* α_{u,n} (tasks/ms) is the admitted rate of the class, y_{u,n,i,v} the part of it whose
  stage i runs on node v. The admission weight B is large enough that admitting a task
  always beats its cost, so the program is lexicographic: the most tasks the resources
  can serve (the integer, network-aware form of the capacity bound of
  :mod:`edgefm.experiments.bound`), then the cheapest instances that serve them, then the
  shortest paths.
* ρ_m is the utilisation at which the pooled queue of m keeps its waiting time within
  the budget w_m with probability 1 − ε at the full offered rate (:mod:`edgefm.placement.queueing`):
  core MSs by the c-server tail E22–E23 (deterministic service), light MSs by effective
  capacity E23b (a Gamma rate redrawn every slot) and by their admission cap: c instances take
  at most c·y_max jobs at once, which must hold a slot's arrivals with probability 1 − ε. w_m is the smallest per-stage share of a task type's slack
  (deadline − shortest mean path − one slot per stage) over the types that use m.
* Locality repair: the program picks nodes per (node, MS) pair, not per path, so after a solve
  every admitted class's shortest path over the planned hosts (:func:`best_paths`) is checked
  against D_n minus one slot per stage; a class that misses it gets its unrestricted shortest
  path pinned (x ≥ 1 on those pairs) and the program is solved again (up to
  :data:`REPAIR_ROUNDS` rounds; ``info`` reports the rounds, the pinned pairs and the classes
  still late).
* "On time" (u, n, i, v): the shortest mean path of the class through stage i on
  node v (the mean profile's prefix, the service, and the shortest way from v to the
  sink) fits in D_n minus one slot per stage; e is its excess over the class's
  shortest path (ms), which γ prices lightly so that stages stay near their data.
* c̄_m = c_mt + c_pl + c_dp / T: an instance's cost per slot over the horizon.

Solved with SCIP through :func:`edgefm.placement.milp.solve` (HiGHS as the alternative);
the result carries the solver's status and gap.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from ..errors import InfeasibleError, TimeLimitWarning
from ..network import network
from .milp import MILP, solve
from .profile import fits_alone, mean_profile
from .queueing import light_servers, max_rate, servers_for

__all__ = ["Provision", "provision", "stage_budgets", "path_tails", "best_paths"]

#: Version of the program E24; part of the placement cache key, so a change re-solves.
PROGRAM_VERSION = 13
#: Admission weight B of E24 (cost units per admitted task/ms): far above any per-slot cost
#: of serving one task/ms, so admitting comes first.
ADMIT_WEIGHT = 1e4
#: Relative gap of the first (admission) solve: Σα within 0.5 % of its optimum, status and gap reported.
ADMIT_GAP = 5e-3
#: Branch-and-bound nodes per solve: the deterministic stop (a time limit depends on the machine and its
#: load, so two runs of one seed could differ); the time limit only guards against a pathological solve.
NODE_LIMIT = 2000
#: Rounds of the locality repair of E24 (pin a late class's shortest path and solve again).
REPAIR_ROUNDS = 3
#: γ of E24: cost units per (task/ms × ms) of path excess.
PATH_WEIGHT = 0.05
#: Spread tiers of ``spread="auto"`` (E24): the largest share of any core MS's instances one node may
#: hold, tightest first. A tier is kept only when it admits as many tasks as the loosest one, so fault
#: tolerance never costs admitted tasks; at nominal load the tightest tier usually admits all.
SPREAD_TIERS = (1 / 3, 1 / 2)


@dataclass(frozen=True)
class Provision:
    """Result of :func:`provision`.

    Attributes
    ----------
    status : str
        The solver's status (``"optimal"``, ``"time_limit"``, …).
    gap : float
        Relative MIP gap of the incumbent.
    seconds : float
        Build and solve time.
    x : ndarray, shape (V, M) int
        Core instance counts (light columns 0): what the engine places.
    light_x : ndarray, shape (V, M) int
        Light instance counts (core columns 0): the controller's standing light pool.
    alpha : ndarray, shape (U, N)
        Admitted rate of each (user, type) class (tasks/ms).
    lam : ndarray, shape (U, N)
        Offered rate λ_{u,n} (tasks/ms).
    rho : ndarray, shape (M,)
        Utilisation cap ρ_m of E23 (nan for unused MSs).
    budget : ndarray, shape (M,)
        Waiting budget w_m (ms).
    solver : str
    """

    status: str
    gap: float
    seconds: float
    x: np.ndarray
    light_x: np.ndarray
    alpha: np.ndarray
    lam: np.ndarray
    rho: np.ndarray
    budget: np.ndarray
    solver: str
    objective: float = float("nan")
    info: dict = field(default_factory=dict, repr=False)

    @property
    def admit_share(self) -> float:
        """Σ α / Σ λ: the share of offered tasks the plan admits."""
        tot = float(self.lam.sum())
        return float(self.alpha.sum() / tot) if tot > 0 else 1.0

    def table(self, scenario):
        """One row per used MS: kind, offered and admitted work (MB/ms), core or light instances,
        ρ_m, budget w_m (ms), and the utilisation of the planned instances at the admitted rate."""
        import pandas as pd

        rows = []
        for m, ms in enumerate(scenario.microservices):
            if not np.isfinite(self.budget[m]):
                continue
            uses = [n for n in range(scenario.n_types) if scenario.uses(n, m)]
            offered = float(self.lam[:, uses].sum()) * ms.work
            admitted = float(self.alpha[:, uses].sum()) * ms.work
            c = int((self.x + self.light_x)[:, m].sum())
            rows.append(dict(ms=ms.name, kind="core" if ms.is_core else "light", offered_mb_per_ms=offered,
                             admitted_mb_per_ms=admitted, instances=c, nodes=int(np.count_nonzero(
                                 (self.x + self.light_x)[:, m])), rho=float(self.rho[m]),
                             budget_ms=float(self.budget[m]),
                             utilisation=admitted / (c * ms.mean_rate) if c else float("nan")))
        return pd.DataFrame(rows)

    @property
    def admit(self) -> np.ndarray:
        """α / λ per class, shape (U, N) (1 where λ = 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.lam > 0, self.alpha / np.where(self.lam > 0, self.lam, 1.0), 1.0)


def path_tails(scenario, n: int) -> np.ndarray:
    """Shortest mean time from the finish of each stage of type ``n`` on each node to the
    finish of its sink (transfers and mean services of the stages below), shape (n_stages, V)."""
    tt = scenario.task_types[n]
    net = network(scenario)
    mss = scenario.microservices
    fits = fits_alone(scenario)
    V = scenario.n_nodes
    tail = np.full((tt.n_stages, V), np.inf)
    order = [tt.sink]
    tail[tt.sink] = 0.0
    # stages in reverse topological order: children before parents
    done = {tt.sink}
    while len(done) < tt.n_stages:
        for i in range(tt.n_stages):
            c = tt.child[i]
            if i not in done and c in done:
                mc = tt.stages[c]
                down = np.where(fits[mc], mss[mc].mean_service_ms + tail[c], np.inf)  # (V,) at child node
                t_out = net.transfer_matrix(mss[tt.stages[i]].output)  # (V, V)
                tail[i] = np.min(t_out + down[None, :], axis=1)
                done.add(i)
                order.append(i)
    return tail


def best_paths(scenario, hosts: np.ndarray):
    """Shortest mean path of every (user, type) class when stage m may run only on ``hosts[m]``
    (bool, shape (M, V)): transfers (E2) and mean services, no waiting.

    Returns
    -------
    finish : ndarray, shape (U, N)
        Mean sink finish after arrival (ms); ``inf`` where no host path exists.
    nodes : dict (u, n) -> tuple of int
        The node of each stage (type order) on that path (absent where ``finish`` is inf).
    """
    net = network(scenario)
    mss = scenario.microservices
    U, N = scenario.n_users, scenario.n_types
    finish = np.full((U, N), np.inf)
    nodes = {}
    for n, tt in enumerate(scenario.task_types):
        t_in = net.transfer_matrix(tt.input_mb)
        t_out = [net.transfer_matrix(mss[m].output) for m in tt.stages]
        order = []  # parents before children
        left = set(range(tt.n_stages))
        while left:
            for i in sorted(left):
                if all(p not in left for p in tt.parents[i]):
                    order.append(i)
                    left.discard(i)
        for u, user in enumerate(scenario.users):
            fin = {}
            for i in order:
                m = tt.stages[i]
                if not tt.parents[i]:
                    pre = t_in[user.gateway].copy()
                else:
                    pre = np.max([np.min(fin[p][:, None] + t_out[p], axis=0) for p in tt.parents[i]], axis=0)
                fin[i] = np.where(hosts[m], pre + mss[m].mean_service_ms, np.inf)
            sink = tt.sink
            if not np.isfinite(fin[sink]).any():
                continue
            finish[u, n] = float(fin[sink].min())
            at = {sink: int(np.argmin(fin[sink]))}
            stack = [sink]
            while stack:
                i = stack.pop()
                for p in tt.parents[i]:
                    at[p] = int(np.argmin(fin[p] + t_out[p][:, at[i]]))
                    stack.append(p)
            nodes[(u, n)] = tuple(at[i] for i in range(tt.n_stages))
    return finish, nodes


def _depth(tt) -> int:
    """Stages on the longest root-to-sink path."""
    best = 0
    for i in range(tt.n_stages):
        d, c = 1, tt.child[i]
        while c >= 0:
            d, c = d + 1, tt.child[c]
        best = max(best, d)
    return best


def stage_budgets(scenario, profile=None) -> tuple[np.ndarray, np.ndarray]:
    """Waiting budget w_m per MS and the on-time mask of E24.

    Returns
    -------
    budget : ndarray, shape (M,)
        w_m (ms): over the task types n that use m, the smallest median-over-users slack
        (D_n − shortest mean path − one slot per stage) divided by the stages on the
        longest path of n; at least 0. ``nan`` for MSs no type uses.
    excess : list over types of ndarray (U, n_stages, V)
        Path excess e (ms) of running stage i of (u, n) on v; ``inf`` where that path
        misses the deadline budget (D_n minus one slot per stage) or m does not fit.
    """
    prof = mean_profile(scenario) if profile is None else profile
    dt = scenario.slot_ms
    M = scenario.n_ms
    budget = np.full(M, np.inf)
    excess = []
    for n, tt in enumerate(scenario.task_types):
        tails = path_tails(scenario, n)
        depth = _depth(tt)
        allowed = tt.deadline_ms - depth * dt
        svc = np.array([scenario.microservices[m].mean_service_ms for m in tt.stages])
        # path time through stage i on v: prefix + service + tail; (U, n_stages, V)
        path = prof.prefix[:, n, list(tt.stages), :] + svc[None, :, None] + tails[None, :, :]
        best = path.min(axis=2)  # (U, n_stages); equal over stages of one user up to round-off
        shortest = best[:, tt.sink]
        slack = allowed - shortest
        fin = np.isfinite(slack)
        share = float(np.median(slack[fin])) / depth if fin.any() else 0.0
        for m in tt.stages:
            budget[m] = min(budget[m], max(share, 0.0))
        e = np.where(path <= allowed + 1e-9, path - shortest[:, None, None], np.inf)
        excess.append(e)
    budget[~np.isfinite(budget)] = np.nan
    return budget, excess


def _rho(scenario, budget: np.ndarray, eps: float, strict: bool = True) -> tuple[np.ndarray, dict]:
    """ρ_m of E23 at the full offered rate of m (nan for unused MSs); 1 for every MS when
    ``eps`` is None (fluid sizing from the mean: the ablation of E22–E23).

    A pool that no size keeps within its budget at ε (a light MS whose own random service
    already exceeds a short budget with probability > ε) raises :class:`InfeasibleError` when
    ``strict``; otherwise its ε is doubled until a size exists (at most 0.5) and the relaxed
    value is returned in the dict ``{MS name: ε_m}``."""
    lam = scenario.arrival_rates
    rho = np.full(scenario.n_ms, np.nan)
    relaxed = {}
    for m, ms in enumerate(scenario.microservices):
        if not np.isfinite(budget[m]):
            continue
        if eps is None:
            rho[m] = 1.0
            continue
        rate = sum(float(lam[:, n].sum()) for n in range(scenario.n_types) if scenario.uses(n, m))
        s = ms.mean_service_ms
        if rate <= 0:
            rho[m] = 1.0
        elif ms.is_core:
            e, c = _ladder(ms, eps, strict, relaxed, lambda e: servers_for(rate, s, budget[m], e, 0.0), budget[m])
            rho[m] = max_rate(c, s, budget[m], e, 0.0) * s / c
        else:
            e, c = _ladder(ms, eps, strict, relaxed, lambda e: light_servers(rate, ms.work, ms.shape, ms.scale,
                                                                             budget[m], e, scenario.slot_ms, split=True),
                           budget[m])
            # admission cap: an instance takes at most y_max jobs at once, and a slot's arrivals
            # (Poisson(λΔ)) must find room with probability 1 − ε
            from scipy.stats import poisson

            per_slot = float(poisson.ppf(1 - e, rate * scenario.slot_ms))
            c = max(c, int(np.ceil(per_slot / scenario.control.y_max - 1e-9)))
            rho[m] = rate * s / c
    return rho, relaxed


def _ladder(ms, eps, strict, relaxed, size, budget: float = float("nan")) -> tuple[float, int]:
    """``(ε, size(ε))`` at the ε where ``size`` finds a pool: ``eps`` itself, or (not ``strict``) the first
    of 2ε, 4ε, …, 0.5 that does, recorded in ``relaxed``; one clear error naming the MS and its waiting
    budget otherwise (a budget far below the MS's service time is the deadlines' doing, not ε's)."""
    e = eps
    while True:
        try:
            c = size(e)
            if e != eps:
                relaxed[ms.name] = e
            return e, c
        except ValueError as exc:
            if strict or e >= 0.5:
                tight = np.isfinite(budget) and budget < ms.mean_service_ms
                hint = (f"its waiting budget is {budget:.3g} ms, less than its mean service "
                        f"{ms.mean_service_ms:.3g} ms: the deadlines leave it almost no time to wait after the "
                        f"shortest path's transfers and services (slow links or tight deadlines; "
                        f"docs/model.md §11.2), which no eps can fix" if tight else "use a larger eps")
                raise InfeasibleError(f"eps = {e:g}: no pool of {ms.name} meets its waiting budget with probability "
                                      f"1 - eps ({exc}); {hint}") from None
            e = min(2.0 * e, 0.5)


def provision(scenario, core_x=None, eps: float = 0.05, solver: str = "scip", time_limit: float | None = 300.0,
              gap: float = 1e-3, spread: float | str | None = "auto", survivable: bool = False,
              occupancy=None, strict_eps: bool = False, core_floor=None) -> Provision:
    """Solve the ``edgefm`` provisioning program E24 (module doc).

    Parameters
    ----------
    scenario : Scenario
    core_x : array (V, M) of int, optional
        Keep these core counts fixed (e.g. another method's placement) and provision only the
        light pool and the admission rates.
    eps : float or None
        Probability ε that a stage waits longer than its budget (E22–E23); ``None`` sizes
        from the mean (ρ_m = 1: the fluid capacity of the bound, the ablation of E22–E23).
    solver : {"scip", "highs"}
    time_limit : float, optional
        Seconds, a safety net only: every solve stops deterministically after
        :data:`NODE_LIMIT` branch-and-bound nodes (status ``"node_limit"`` with its gap), so the
        same scenario gives the same plan on any machine; a time-limit stop returns the
        incumbent with status ``"time_limit"`` and may then depend on the machine.
    spread : float, "auto" or None
        Fault tolerance: no node may hold more than this share of any core MS's instances
        (``0.5``: losing any one node leaves at least half of every core pool; light pools are
        re-homed by the controller when a node fails). ``"auto"`` (default): the tightest of
        :data:`SPREAD_TIERS` that admits as many tasks as the loosest (the admitted rate first,
        then the spread, then the cost; ``info["spread"]`` says which). ``None``: no limit.
    survivable : bool
        N−1 capacity: without any one node, every core pool still serves the rate the N−1 program
        admits (``info["n1_alpha"]``) at its utilisation ρ_m (more instances; for deployments that
        must ride out a failure). The returned light pools and admission rates are those of these
        core counts with every node up, so N−1 never thins normal operation.
    occupancy : array (M,) of float, optional
        E28: time a core instance of MS m is committed per unit of its service (≥ 1; the data's
        wait on an instance already dispatched to, measured by a pilot run,
        :func:`edgefm.experiments.calibrate.calibrated_plan`); a core pool then serves
        ρ_m f̄_m / κ_m per instance. Light entries are ignored. Default: 1 everywhere.
    core_floor : array (V, M) of int, optional
        At least these core counts (instances that already run, E32: the re-plan after a failure
        keeps every surviving core instance and adds to it). Not with ``core_x`` or ``survivable``.
    strict_eps : bool
        Raise :class:`~edgefm.errors.InfeasibleError` when a pool cannot meet its budget at ε;
        by default its ε is doubled until it can (at most 0.5) and ``info["eps_relaxed"]`` names
        each such MS with the ε it got.
    gap : float
        Relative MIP gap of the second solve. The program is solved lexicographically (the
        weight B is not used numerically): first the largest admitted rate Σα (to
        :data:`ADMIT_GAP`), then, with Σα held at that value, the cheapest instances and
        shortest paths (to ``gap``), each within half of ``time_limit``.

    Returns
    -------
    Provision

    Examples
    --------
    >>> import edgefm
    >>> s = edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=3)
    >>> p = provision(s)
    >>> p.status, round(p.admit_share, 3)
    ('optimal', 1.0)
    """
    cx = None if core_x is None else tuple(map(tuple, np.asarray(core_x, int)))
    e = None if eps is None else float(eps)
    if e is not None and not 0.0 < e < 1.0:
        raise ValueError(f"eps must be a probability in (0, 1) or None, got {eps!r}")
    occ = None
    if occupancy is not None:
        k = np.asarray(occupancy, float)
        if k.shape != (scenario.n_ms,) or not np.all(np.isfinite(k)) or (k < 1.0).any():
            raise ValueError(f"occupancy must be {scenario.n_ms} finite factors >= 1 (one per MS), got {occupancy!r}")
        k = np.where(np.asarray(scenario.is_core), k, 1.0)
        occ = None if (k == 1.0).all() else tuple(float(v) for v in k)
    opts = (occ, bool(strict_eps))
    floor = None
    if core_floor is not None:
        if cx is not None or survivable:
            raise ValueError("core_floor cannot be combined with core_x or survivable")
        fl = np.asarray(core_floor)
        if fl.shape != (scenario.n_nodes, scenario.n_ms) or (fl < 0).any():
            raise ValueError(f"core_floor must be ({scenario.n_nodes}, {scenario.n_ms}) counts >= 0, got shape {fl.shape}")
        fl = np.where(np.asarray(scenario.is_core)[None, :], fl, 0).astype(int)
        floor = tuple(map(tuple, fl)) if fl.any() else None
    if isinstance(spread, str) and spread != "auto":
        raise ValueError(f"spread must be a share in (0, 1], 'auto' or None, got {spread!r}")

    def solve_spread(core, n1):
        if isinstance(spread, str):
            return _auto_spread(scenario, core, e, solver, time_limit, float(gap), n1, opts, floor)
        share = None if spread is None else float(spread)
        return _provision(scenario, core, e, solver, time_limit, float(gap), share, n1, opts, True, floor)

    if survivable and cx is None:
        # N-1 core counts; then the light pools and admission of those counts with every node up (the
        # controller re-solves the admission when a node fails, E27), so N-1 never thins normal operation
        n1 = solve_spread(None, True)
        run = solve_spread(tuple(map(tuple, np.asarray(n1.x, int))), False)
        out = replace(run, info={**run.info, "survivable": True, "n1_alpha": n1.alpha,
                                 "n1_admit_share": n1.admit_share, "spread": n1.info.get("spread", spread)})
    else:
        out = solve_spread(cx, bool(survivable))
    if out.info["dropped_classes"]:
        from ..errors import ScenarioWarning

        warnings.warn(f"{scenario.name}: the nodes cannot host every stage of {out.info['dropped_classes']} "
                      "(user, task type) classes within their deadlines at once; the plan admits none of their "
                      "tasks", ScenarioWarning, stacklevel=2)
    return out


def _auto_spread(scenario, cx, eps, solver, time_limit, gap, survivable, opts=(None, False),
                 floor=None) -> Provision:
    """``spread="auto"``: tightest tier of :data:`SPREAD_TIERS` that admits as much as the loosest.

    A tier that cannot give every on-time class a host for each stage (the spread rows leave some
    core MS too few nodes) is skipped; when every tier is, the plan has no spread limit
    (``info["spread"] = None``) and, if even that must leave classes out, says how many
    (``info["dropped_classes"]``; :func:`provision` warns)."""
    from ..errors import InfeasibleError

    if cx is not None:  # core counts given: the spread rows (core MSs only) do not apply
        return _provision(scenario, cx, eps, solver, time_limit, gap, float(SPREAD_TIERS[-1]), survivable, opts, True)
    tried = []
    for s in SPREAD_TIERS:
        try:
            p = _provision(scenario, cx, eps, solver, time_limit, gap, float(s), survivable, opts, False, floor)
        except InfeasibleError:
            continue
        tried.append((s, p))
        if p.admit_share >= 1 - 1e-9:  # every task admitted: no looser tier admits more
            break
    if not tried:
        p = _provision(scenario, cx, eps, solver, time_limit, gap, None, survivable, opts, True, floor)
        return replace(p, info={**p.info, "spread": None})
    loose = tried[-1][1]
    s, best = next((s, p) for s, p in tried if p.admit_share >= loose.admit_share * (1 - 1e-9) - 1e-12)
    return replace(best, info={**best.info, "spread": float(s)})


@lru_cache(maxsize=64)
def _provision(scenario, core_x, eps, solver, time_limit, gap, spread=None, survivable=False,
               opts=(None, False), drop: bool = False, floor=None) -> Provision:
    with warnings.catch_warnings():
        return _solve(scenario, core_x, eps, solver, time_limit, gap, spread, survivable, opts, drop, floor=floor)


def _solve(scenario, core_x, eps, solver, time_limit, gap, spread=None, survivable=False,
           opts=(None, False), drop: bool = False, soft: bool = False, floor=None) -> Provision:
    """E24 as in the module doc. ``soft``: each on-time class's reach rows hold only if the class is
    admitted (a binary z per class, and a type admits at most the rate of its admitted classes). With
    ``drop``, a program whose reach rows cannot all hold (the nodes cannot host every stage of every
    on-time class at once) is solved again ``soft``; without it, it raises InfeasibleError. ``floor``:
    lower bounds on the core counts (E32)."""
    t0 = time.perf_counter()
    sc = scenario
    U, N, M, V = sc.n_users, sc.n_types, sc.n_ms, sc.n_nodes
    mss = sc.microservices
    lam = np.asarray(sc.arrival_rates, float)
    prof = mean_profile(sc)
    budget, excess = stage_budgets(sc, prof)
    occupancy, strict = opts
    rho, relaxed = _rho(sc, budget, eps, strict)
    if occupancy is not None:  # E28: a core instance serves ρ_m f̄_m / κ_m
        rho = rho / np.asarray(occupancy)
    fits = fits_alone(sc).T  # (V, M)
    used = np.isfinite(budget)
    T = max(int(sc.horizon_slots), 1)
    cbar = np.array([m.cost_maintain + m.cost_parallel + m.cost_deploy / T for m in mss])

    # per-class on-time check and per-pair path excess (λ-weighted mean over the classes using m)
    class_ok = np.zeros((U, N), bool)
    pen_num = np.zeros((V, M))
    pen_den = np.zeros((V, M))
    for n, tt in enumerate(sc.task_types):
        e = excess[n]  # (U, n_stages, V)
        class_ok[:, n] = np.isfinite(e).any(axis=2).all(axis=1) & (lam[:, n] > 0)
        for i, m in enumerate(tt.stages):
            w = lam[:, n][:, None] * class_ok[:, n][:, None]
            pen_num[:, m] += (np.where(np.isfinite(e[:, i, :]), e[:, i, :], 0.0) * w).sum(axis=0)
            pen_den[:, m] += (np.isfinite(e[:, i, :]) * w).sum(axis=0)
    reach = pen_den > 0  # some on-time class can use pair (v, m)
    penalty = np.where(reach, pen_num / np.where(reach, pen_den, 1.0), np.inf)

    # variables: x (pairs), alpha (U*N)
    pairs = [(v, m) for m in range(M) for v in range(V)
             if fits[v, m] and used[m] and (reach[v, m] or (core_x is not None and core_x[v][m])
                                            or (floor is not None and floor[v][m]))]
    pidx = {p: k for k, p in enumerate(pairs)}
    nx = len(pairs)
    na = N  # admitted rate per type; split over its on-time users in proportion to λ
    cls = [(int(u), int(n)) for u, n in zip(*np.nonzero(class_ok))] if soft else []
    zcol = {cl: nx + na + j for j, cl in enumerate(cls)}  # soft: admission switch z of each on-time class
    nvar = nx + na + len(cls)
    c = np.zeros(nvar)
    lb = np.zeros(nvar)
    ub = np.full(nvar, np.inf)
    integ = np.zeros(nvar, bool)
    for k, (v, m) in enumerate(pairs):
        c[k] = cbar[m] + PATH_WEIGHT * (penalty[v, m] if np.isfinite(penalty[v, m]) else 0.0)
        integ[k] = True
        if core_x is not None and mss[m].is_core:
            lb[k] = ub[k] = core_x[v][m]
        elif floor is not None and mss[m].is_core:
            lb[k] = floor[v][m]
    lam_ok = np.where(class_ok, lam, 0.0)
    ub[nx:nx + na] = lam_ok.sum(axis=0)
    ub[nx + na:] = 1.0
    integ[nx + na:] = True

    rows, cols, vals, lo_r, hi_r = [], [], [], [], []
    r = 0
    # service (E23 pooled): a_m Σ_{(u,n) ∋ m} α_{u,n} ≤ ρ_m f̄_m Σ_v x_{v,m}
    for m in np.flatnonzero(used).tolist():
        ms = mss[m]
        for n in range(N):
            if sc.uses(n, m):
                rows.append(r), cols.append(nx + n), vals.append(ms.work)
        for k, (v, pm) in enumerate(pairs):
            if pm == m:
                rows.append(r), cols.append(k), vals.append(-rho[m] * ms.mean_rate)
        lo_r.append(-np.inf), hi_r.append(0.0)
        r += 1
    # reach (E24): every on-time class finds, for each of its stages, an instance on a node through
    # which its path fits the deadline (identical rows merged)
    seen = set()
    for n, tt in enumerate(sc.task_types):
        e = excess[n]
        for u in np.flatnonzero(class_ok[:, n]).tolist():
            for i, m in enumerate(tt.stages):
                ks = tuple(pidx[(v, m)] for v in np.flatnonzero(np.isfinite(e[u, i])).tolist() if (v, m) in pidx)
                key = (ks, u, n) if soft else ks
                if key in seen:
                    continue
                seen.add(key)
                for k in ks:
                    rows.append(r), cols.append(k), vals.append(1.0)
                if soft:  # Σ x ≥ z_{u,n}
                    rows.append(r), cols.append(zcol[(u, n)]), vals.append(-1.0)
                lo_r.append(0.0 if soft else 1.0), hi_r.append(np.inf)
                r += 1
    if soft:  # a type admits at most the rate of its admitted classes: α_n ≤ Σ_u λ_{u,n} z_{u,n}
        for n in range(N):
            rows.append(r), cols.append(nx + n), vals.append(1.0)
            for (u, n2), k in zcol.items():
                if n2 == n:
                    rows.append(r), cols.append(k), vals.append(-float(lam[u, n]))
            lo_r.append(-np.inf), hi_r.append(0.0)
            r += 1
    # spread (E24, option): no node holds more than `spread` of the instances of any MS
    if spread is not None:
        for m in np.flatnonzero(used & sc.is_core).tolist():  # light pools are re-homed online (E27)
            if core_x is not None:
                continue
            ks = [k for k, (v, pm) in enumerate(pairs) if pm == m]
            for k in ks:
                for q in ks:
                    rows.append(r), cols.append(q), vals.append((1.0 if q == k else 0.0) - spread)
                lo_r.append(-np.inf), hi_r.append(0.0)
                r += 1
    # N-1 capacity (option): without any one node, every core pool still serves what is admitted
    if survivable and core_x is None:
        for m in np.flatnonzero(used & sc.is_core).tolist():
            ks = [k for k, (v, pm) in enumerate(pairs) if pm == m]
            nodes = sorted({pairs[k][0] for k in ks})
            for v in nodes:
                for n in range(N):
                    if sc.uses(n, m):
                        rows.append(r), cols.append(nx + n), vals.append(mss[m].work)
                for k in ks:
                    if pairs[k][0] != v:
                        rows.append(r), cols.append(k), vals.append(-rho[m] * mss[m].mean_rate)
                lo_r.append(-np.inf), hi_r.append(0.0)
                r += 1
    # E8 per node and resource (fixed core counts on pairs outside the program reduce the capacity)
    R = np.array(sc.capacity, float)
    if core_x is not None:
        cx = np.asarray(core_x, float)
        off = np.array([[cx[v, m] if (v, m) not in pidx else 0.0 for m in range(M)] for v in range(V)])
        R = R - off @ sc.demand
    for v in range(V):
        for k in range(R.shape[1]):
            entries = [(q, float(sc.demand[m, k])) for q, (pv, m) in enumerate(pairs) if pv == v and sc.demand[m, k] > 0]
            if entries:
                for q, d in entries:
                    rows.append(r), cols.append(q), vals.append(d)
                lo_r.append(-np.inf), hi_r.append(float(R[v, k]))
                r += 1
    # Lexicographic solve: (1) the most admitted tasks, (2) the cheapest, shortest way to serve them.
    A = sp.csr_matrix((vals, (rows, cols)), shape=(r, nvar))
    lo_r, hi_r = np.array(lo_r), np.array(hi_r)
    c1 = np.zeros(nvar)
    c1[nx:nx + na] = -1.0
    budget_s = time_limit
    lam_tot = float(lam.sum())
    t1 = time.perf_counter()
    warnings.simplefilter("ignore", TimeLimitWarning)  # the result carries the status and the gap
    # Locality repair: a plan whose pools leave some admitted class without a host path that fits its
    # deadline (the stages' nodes are chosen per pair, not per path) gets that class's shortest path
    # pinned (x ≥ 1 on its pairs) and is solved again, up to REPAIR_ROUNDS times.
    allowed = np.array([tt.deadline_ms - _depth(tt) * sc.slot_ms for tt in sc.task_types])
    free_paths = best_paths(sc, fits.T & used[:, None])[1]
    pinned = 0
    kept = None  # the last round that solved: (res, first, admit_status, admit_gap, late, full, pinned)
    repair_stop = None
    for rnd in range(REPAIR_ROUNDS + 1):
        # shortcut: when every class has an on-time path, try admitting everything at once (exact, and
        # the usual case at nominal load); only if that is infeasible run the two levels
        full = None
        if not soft and ub[nx:nx + na].sum() >= lam_tot * (1 - 1e-12):
            lb_full = lb.copy()
            lb_full[nx:nx + na] = ub[nx:nx + na]
            full = solve(MILP(c=c, A=A, lb_row=lo_r, ub_row=hi_r, lb=lb_full, ub=ub, integrality=integ),
                         solver=solver, time_limit=None if time_limit is None else time_limit / 2, gap=gap,
                         node_limit=NODE_LIMIT)
            if full.status == "infeasible" or not full.ok:
                full = None
        if full is not None:
            first = res = full
            admit_status, admit_gap = "optimal", 0.0
        else:
            first = solve(MILP(c=c1, A=A, lb_row=lo_r, ub_row=hi_r, lb=lb, ub=ub, integrality=integ),
                          solver=solver, time_limit=None if time_limit is None else time_limit / 2, gap=ADMIT_GAP,
                          node_limit=NODE_LIMIT)
            if first.status == "infeasible" and kept is not None:
                # this round's pins do not fit the nodes together: keep the last plan that solved
                res, first, admit_status, admit_gap, late, full, pinned = kept
                repair_stop = "pins infeasible"
                rnd -= 1
                break
            if first.status == "infeasible" and drop and not soft:
                # the nodes cannot hold a host for every stage of every on-time class at once: let the
                # program choose which classes to admit
                return _solve(scenario, core_x, eps, solver, budget_s, gap, spread, survivable, opts, soft=True,
                              floor=floor)
            first.raise_for_status()
            admit_status, admit_gap = first.status, float(first.gap)
            best = -float(first.objective)
            if time_limit is not None:
                time_limit = max(1.0, budget_s - (time.perf_counter() - t1))
            row = sp.csr_matrix((np.ones(na), (np.zeros(na, int), np.arange(nx, nx + na))), shape=(1, nvar))
            model = MILP(c=c, A=sp.vstack([A, row]).tocsr(), lb_row=np.append(lo_r, best * (1 - 1e-9)),
                         ub_row=np.append(hi_r, np.inf), lb=lb, ub=ub, integrality=integ)
            res = solve(model, solver=solver, time_limit=time_limit, gap=gap, start=first.x, node_limit=NODE_LIMIT)
        res.raise_for_status()
        xr = np.zeros((V, M), dtype=np.int64)
        for k, (v, m) in enumerate(pairs):
            xr[v, m] = int(round(res.x[k]))
        if core_x is not None:
            xr[:, sc.is_core] = np.asarray(core_x, dtype=np.int64)[:, sc.is_core]
        fin, _ = best_paths(sc, (xr > 0).T)
        a_r = res.x[nx:nx + na]
        served = class_ok & (a_r[None, :] > 1e-9)
        late = served & (fin > allowed[None, :] + 1e-9)
        kept = (res, first, admit_status, admit_gap, late, full, pinned)
        if rnd == REPAIR_ROUNDS or not late.any():
            break
        grew = False
        for u, n in zip(*np.nonzero(late)):
            path = free_paths.get((int(u), int(n)))
            if path is None:
                continue
            for i, v in enumerate(path):
                k = pidx.get((v, sc.task_types[n].stages[i]))
                if k is not None and lb[k] < 1 and not (core_x is not None and mss[pairs[k][1]].is_core):
                    lb[k] = 1
                    grew = True
                    pinned += 1
        if not grew:
            break
        if time_limit is not None:
            time_limit = budget_s
    z = res.x
    x_all = np.zeros((V, M), dtype=np.int64)
    for k, (v, m) in enumerate(pairs):
        x_all[v, m] = int(round(z[k]))
    if core_x is not None:
        cx = np.asarray(core_x, dtype=np.int64)
        x_all[:, sc.is_core] = cx[:, sc.is_core]
    dropped = 0
    if soft:  # classes the program did not admit get no rate
        for (u, n), k in zcol.items():
            if z[k] < 0.5:
                lam_ok[u, n] = 0.0
                dropped += 1
    a_n = np.clip(z[nx:nx + na], 0.0, lam_ok.sum(axis=0))
    tot = lam_ok.sum(axis=0)
    alpha = lam_ok * np.where(tot > 0, a_n / np.where(tot > 0, tot, 1.0), 0.0)[None, :]
    x = np.where(sc.is_core[None, :], x_all, 0)
    light_x = np.where(sc.is_core[None, :], 0, x_all)
    for a in (x, light_x, alpha, rho, budget):
        a.setflags(write=False)
    status = res.status if admit_status == "optimal" else admit_status
    return Provision(status=status, gap=float(res.gap), seconds=time.perf_counter() - t0, x=x,
                     light_x=light_x, alpha=alpha, lam=lam, rho=rho, budget=budget, solver=res.solver,
                     objective=float(res.objective),
                     info=dict(n_vars=nvar, n_rows=r, admit_status=admit_status, admit_gap=admit_gap,
                               all_admitted=full is not None, repair_rounds=rnd, pinned_pairs=pinned,
                               repair_stopped=repair_stop,
                               late_classes=int(late.sum()), eps_relaxed=relaxed, dropped_classes=dropped,
                               occupancy=None if occupancy is None else list(occupancy),
                               solver_seconds=res.seconds + (0.0 if first is res else first.seconds)))
