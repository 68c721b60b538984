"""``proposed`` / ``propavg``: Algorithm 1, the greedy drift-plus-penalty controller.

Each slot (docs/model.md §6.5):

1. update the latency debts H_j (Eq. E18, :class:`~edgefm.control.lyapunov.LatencyDebt`);
2. start from the busy light instances (plus, with ``keep_alive > 0``, idle
   instances used within the last ``keep_alive`` slots);
3. repeatedly add the one (MS, node) instance that lowers the E19 objective
   ``η·C_light + Σ_s H_s d̂_s`` most, routing greedily after each candidate
   addition — stages in data-ready order, each to the node whose least-occupied
   instance gives the smallest d̂ = (ready − now) + g(occupancy) — and stop when
   no addition improves the objective (or no node has room, E8).

``kind="ec"`` uses the statistical delay g_ε of Eq. E21, ``kind="avg"`` the
mean delay g_avg (PropAvg, the paper's ablation).

Complexity. Given the instance counts the objective separates by light MS, and
adding an instance of MS m only changes the routing of m's stages, so gains are
cached per (MS, node) and only MS m's row is re-evaluated after an addition
(other rows only lose nodes that no longer fit). Routing uses the water-filling
identity: joining the least-occupied instance each time hands out the sorted
multiset of the instances' free levels {o_i+1, …, y}, so a node is a sorted list
of g values and routing a stage is a scan over hosting nodes (no heaps). The g
table is computed once per run.

Choices (documented, docs/model.md §6.5 leaves them open): parallelism is y = y_max
everywhere — y only caps admission and E7 charges c_pl per instance, so a
larger cap never costs and routing already decides the occupancy. A stage whose
best d̂ exceeds the unassigned penalty 2D_n + Δ is left waiting.

Servable rule (docs/model.md §6.2; literal by default, as the paper states it): with ``fallback=True`` (the registered
variant ``proposed+fallback``) an occupancy whose g_ε has
no θ* uses the mean service time; every routed stage placed at such an
occupancy increments :attr:`ProposedController.fallback_uses`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._kernels_greedy import greedy_state
from .base import Decision, RunContext, State
from .lyapunov import LatencyDebt, unassigned_penalty

__all__ = ["ProposedController", "SlotProblem", "GreedySolution", "slot_problem", "solve_greedy",
           "route_levels", "delay_tables"]


def delay_tables(scenario, kind: str = "ec", fallback: bool = True, epsilon=None, y_max=None, window=None):
    """The (M, y_max+1) g table and fallback mask of a scenario (core rows are +inf)."""
    from ..delay import delay_table

    c = scenario.control
    ms = scenario.microservices
    light = ~scenario.is_core
    yM = int(c.y_max if y_max is None else y_max)
    g = np.full((scenario.n_ms, yM + 1), np.inf)
    fb = np.zeros(g.shape, dtype=bool)
    idx = np.flatnonzero(light)
    if len(idx):
        t = delay_table([ms[m].work for m in idx], [ms[m].shape for m in idx], [ms[m].scale for m in idx],
                        y_max=yM, epsilon=c.epsilon if epsilon is None else epsilon, slot=scenario.slot_ms,
                        window=c.window_ms if window is None else window, kind=kind, fallback=fallback)
        g[idx] = t.g
        fb[idx] = t.fallback_mask
    return g, fb


@dataclass
class SlotProblem:
    """The per-slot problem of Eq. E19, grouped by light MS.

    ``groups[m] = (rows, R, w, pen)``: the state rows of MS m's waiting stages in
    data-ready order, their (S_m, V) ready − now (``inf`` on down nodes), debts
    H and unassigned penalties. ``occ[m][v]`` lists the occupancies of the start
    instances of m on v. ``start``/``prev`` are (V, M) counts (start set and the
    counts of the previous slot), ``avail`` (V, K) resources left beyond the
    start set.
    """

    now: float
    eta: float
    y: int
    groups: dict
    occ: dict
    start: np.ndarray
    prev: np.ndarray
    up: np.ndarray
    avail: np.ndarray
    demand: np.ndarray
    c_dp: np.ndarray
    c_run: np.ndarray
    light: np.ndarray
    n_waiting: int

    def cost(self, x) -> float:
        """η-free E7 cost of (V, M) counts ``x`` (light columns)."""
        inc = np.maximum(0, x - self.prev)
        per = inc * self.c_dp + x * self.c_run
        return float(per[:, self.light].sum())


@dataclass
class GreedySolution:
    """Result of :func:`solve_greedy`: counts (V, M), route (S,), level (S,) of
    each routed stage (0 = waiting), objective (E19), predicted d̂ (S,), the
    additions made, in order, as (MS, node)."""

    x: np.ndarray
    route: np.ndarray
    level: np.ndarray
    objective: float
    dhat: np.ndarray
    added: list = field(default_factory=list)


def slot_problem(state: State, scenario, weights, penalties, start, eta: float, y: int) -> SlotProblem:
    """Build the per-slot problem from a :class:`State`, stage weights H (S,),
    unassigned penalties 2D_n + Δ (S,) and the start counts (V, M) (busy + kept instances)."""
    V, M = scenario.n_nodes, scenario.n_ms
    now = state.now
    dem = scenario.demand
    start = np.asarray(start, dtype=np.int64)
    prev = np.asarray(state.light_counts, dtype=np.int64)
    avail = np.where(state.node_up[:, None], state.free_capacity + (prev - start) @ dem, 0.0)
    # occupancies of the start instances: busy rows first, then idle ones kept
    occ = {}
    jobs = [[[] for _ in range(V)] for _ in range(M)]
    order = np.argsort(-np.asarray(state.inst_jobs), kind="stable")
    for i in order.tolist():
        v, m, o = int(state.inst_node[i]), int(state.inst_ms[i]), int(state.inst_jobs[i])
        if len(jobs[m][v]) < start[v, m]:
            jobs[m][v].append(o)
    for v, m in zip(*np.nonzero(start)):
        lst = jobs[m][v]
        lst.extend([0] * int(start[v, m] - len(lst)))
    groups = {}
    if state.n_waiting:
        R = np.where(state.node_up[None, :], state.ready - now, np.inf)
        first = R.min(axis=1)
        ms = np.asarray(state.stage_ms)
        for m in np.unique(ms).tolist():
            rows = np.flatnonzero(ms == m)
            rows = rows[np.argsort(first[rows], kind="stable")]
            groups[m] = (rows, R[rows].tolist(), np.asarray(weights, dtype=float)[rows].tolist(),
                         np.asarray(penalties, dtype=float)[rows].tolist())
    for m in groups:
        occ[m] = jobs[m]
    for m in np.flatnonzero(start.any(axis=0)).tolist():
        occ.setdefault(m, jobs[m])
    ms_ = scenario.microservices
    c_dp = np.array([x.cost_deploy for x in ms_], dtype=float)
    c_run = np.array([x.cost_maintain + x.cost_parallel for x in ms_], dtype=float)
    return SlotProblem(now=now, eta=float(eta), y=int(y), groups=groups, occ=occ, start=start, prev=prev,
                       up=np.asarray(state.node_up, dtype=bool).copy(), avail=avail, demand=dem, c_dp=c_dp, c_run=c_run, light=~scenario.is_core,
                       n_waiting=state.n_waiting)


def _levels(occ_v, y: int, limit: int) -> list:
    """Sorted free levels {o+1..y} of the instances with occupancies ``occ_v`` (first ``limit``)."""
    out = []
    for o in occ_v:
        out.extend(range(o + 1, y + 1))
    out.sort()
    return out[:limit]


def _merge_new(levels: list, y: int, limit: int) -> list:
    """Levels after adding one empty instance (offers 1..y)."""
    out = sorted(levels + list(range(1, y + 1)))
    return out[:limit]


def route_levels(R, w, pen, GV, hosts, want_route: bool = False, start: int = 0, k0=None, obj0: float = 0.0):
    """Greedy routing of one MS (Algorithm 1 inner loop).

    Stages (rows of ``R``, already in data-ready order) go one by one to the
    host v minimising ``R[i][v] + GV[v][k_v]`` where ``GV[v]`` is the sorted
    list of g values of v's free levels and ``k_v`` how many stages v already
    took; a stage whose best d̂ is not below ``pen[i]`` waits. Returns the
    weighted delay Σ w·d̂ (and, with ``want_route``, node, slot index k and d̂
    per stage). ``start``, ``k0`` and ``obj0`` resume a routing at stage
    ``start`` with the counts ``k0`` and the running objective ``obj0`` the
    earlier stages left (the sum then matches a full routing bit for bit).
    """
    k = [0] * len(GV) if k0 is None else list(k0)
    # a host's current marginal g (inf once full): updated only when it takes a stage
    cur = [GV[v][k[v]] if k[v] < len(GV[v]) else np.inf for v in range(len(GV))]
    obj = obj0
    nodes, ks, dh = [], [], []
    for i in range(start, len(R)):
        Ri = R[i]
        best = pen[i]
        bv = -1
        for v in hosts:
            d = Ri[v] + cur[v]
            if d < best:
                best = d
                bv = v
        obj += w[i] * best
        if bv >= 0:
            kv = k[bv]
            if want_route:
                nodes.append(bv)
                ks.append(kv)
            kv += 1
            k[bv] = kv
            gv = GV[bv]
            cur[bv] = gv[kv] if kv < len(gv) else np.inf
        elif want_route:
            nodes.append(-1)
            ks.append(-1)
        if want_route:
            dh.append(best)
    if want_route:
        return obj, nodes, ks, dh
    return obj


#: Networks with more nodes than this prune candidates and resume routings (:meth:`_MSState.first_stage`);
#: on smaller ones the bookkeeping costs more than it saves. Decisions are identical either way.
PRUNE_ABOVE = 16


class _MSState:
    """Greedy bookkeeping of one light MS: levels per node, their g values, and the base routing's d̂."""

    __slots__ = ("m", "R", "Ra", "w", "pen", "levels", "gv", "limit", "base", "dhat", "prefix", "counts", "gains",
                 "track")

    def __init__(self, m, R, w, pen, occ_m, y, grow, V, track=True):
        self.m, self.R, self.w, self.pen = m, R, w, pen
        self.track = track  # keep what first_stage / gain_of need (worth it on large networks only)
        self.Ra = np.asarray(R, dtype=float).reshape(len(R), V) if track else None
        self.limit = len(R)
        self.levels = [_levels(occ_m[v], y, self.limit) if occ_m is not None else [] for v in range(V)]
        self.gv = [[grow[l] for l in lv] for lv in self.levels]
        self.rebase()
        self.gains = np.full(V, -np.inf)

    def hosts(self, gv):
        return [v for v in range(len(gv)) if gv[v]]

    def evaluate(self, gv):
        return route_levels(self.R, self.w, self.pen, gv, self.hosts(gv))

    def rebase(self):
        """Route with the current levels: objective ``base``, each stage's d̂, and per stage i the
        weighted delay of stages < i (``prefix``) and the stages each node took before i (``counts``)."""
        if not self.track:
            self.base = self.evaluate(self.gv)
            return
        self.base, nodes, _, dh = route_levels(self.R, self.w, self.pen, self.gv, self.hosts(self.gv),
                                               want_route=True)
        self.dhat = np.asarray(dh, dtype=float)
        S, V = self.Ra.shape
        # running sums in the routing loop's own order (np.cumsum adds left to right)
        self.prefix = np.concatenate([[0.0], np.cumsum(np.asarray(self.w, dtype=float) * self.dhat)])
        took = np.zeros((S + 1, V), dtype=np.int64)
        routed = np.flatnonzero(np.asarray(nodes) >= 0)
        took[routed + 1, np.asarray(nodes)[routed]] = 1
        self.counts = np.cumsum(took, axis=0)

    def gain_of(self, gv: list, hosts: list, first: int) -> float:
        """Base objective minus the routing objective with ``gv`` (v's levels changed).

        Stages before ``first`` (the first stage that could pick v, see :meth:`first_stage`)
        route as in the base routing, so the routing resumes there.
        """
        total = route_levels(self.R, self.w, self.pen, gv, hosts, start=first, k0=self.counts[first].tolist(),
                             obj0=float(self.prefix[first]))
        return self.base - total

    def first_stage(self, g1: float) -> np.ndarray:
        """Per node v, the first stage i with R[i, v] + g1 ≤ d̂_i (S where none), shape (V,).

        Exact pruning and resumption: until the first stage that routes differently,
        a routing with one more instance on v equals the base one, and that stage i
        must then pick v with d̂ at most its base d̂_i (or keep v at a lower level);
        no level of v offers a g below ``g1``, the least g over levels 1..y. So the
        routing can resume at ``first_stage[v]``, and a node where it is S leaves
        the routing, hence the delay, unchanged: its gain is −(added cost) < 0.
        """
        hit = self.Ra + g1 <= self.dhat[:, None]
        return np.where(hit.any(axis=0), hit.argmax(axis=0), hit.shape[0])


def solve_greedy(problem: SlotProblem, g: np.ndarray, tol: float = 1e-9) -> GreedySolution:
    """Algorithm 1 on a :class:`SlotProblem` with the delay table ``g`` (M, y_max+1).

    Gains are incremental: after adding an instance of MS m only m's candidates
    are re-evaluated; other MSs only drop nodes whose capacity no longer fits.
    """
    P = problem
    V = P.start.shape[0]
    x = P.start.copy()
    avail = P.avail.copy()
    y, eta = P.y, P.eta
    dem = P.demand
    states = {}
    for m, (rows, R, w, pen) in P.groups.items():
        grow = g[m].tolist()
        st = _MSState(m, R, w, pen, P.occ.get(m), y, grow, V, track=V > PRUNE_ABOVE)
        states[m] = st
    newlev = list(range(1, y + 1))

    def refresh(st):
        m = st.m
        grow = g[m].tolist()
        fits = P.up & (avail >= dem[m] - 1e-12).all(axis=1)
        st.gains[:] = -np.inf
        new_g = [grow[l] for l in newlev[:st.limit]]
        if st.track:
            first = st.first_stage(min(grow[1:]))  # no level's g is below the least g of levels 1..y
            fits &= first < len(st.R)  # exact pruning (_MSState.first_stage)
        hosts = st.hosts(st.gv)
        for v in np.flatnonzero(fits).tolist():
            gv = list(st.gv)
            old = st.gv[v]
            gv[v] = sorted(old + new_g)[:st.limit] if old else new_g
            dcost = eta * (P.c_dp[m] * (x[v, m] + 1 > P.prev[v, m]) + P.c_run[m])
            hv = hosts if old else sorted(hosts + [v])
            if st.track:
                st.gains[v] = st.gain_of(gv, hv, int(first[v])) - dcost
            else:
                st.gains[v] = st.base - route_levels(st.R, st.w, st.pen, gv, hv) - dcost

    for st in states.values():
        refresh(st)
    added = []
    while states:
        best_m, best_v, best = -1, -1, tol
        for m, st in states.items():
            v = int(np.argmax(st.gains))
            if st.gains[v] > best:
                best_m, best_v, best = m, v, st.gains[v]
        if best_m < 0:
            break
        m, v = best_m, best_v
        st = states[m]
        x[v, m] += 1
        avail[v] -= dem[m]
        added.append((m, v))
        st.levels[v] = _merge_new(st.levels[v], y, st.limit)
        grow = g[m].tolist()
        st.gv[v] = [grow[l] for l in st.levels[v]]
        st.rebase()
        refresh(st)
        for m2, st2 in states.items():
            if m2 != m and st2.gains[v] > -np.inf and not (avail[v] >= dem[m2] - 1e-12).all():
                st2.gains[v] = -np.inf
    # final routing
    route = np.full(P.n_waiting, -1, dtype=np.int64)
    level = np.zeros(P.n_waiting, dtype=np.int64)
    dhat = np.zeros(P.n_waiting)
    delay = 0.0
    for m, st in states.items():
        rows = P.groups[m][0]
        obj, nodes, ks, dh = route_levels(st.R, st.w, st.pen, st.gv, st.hosts(st.gv), want_route=True)
        delay += obj
        route[rows] = nodes
        dhat[rows] = dh
        lv = [st.levels[n][k] if n >= 0 else 0 for n, k in zip(nodes, ks)]
        level[rows] = lv
    objective = eta * P.cost(x) + delay
    return GreedySolution(x=x, route=route, level=level, objective=float(objective), dhat=dhat, added=added)


class ProposedController:
    """Algorithm 1 (docs/model.md §6.5) with g_ε (``kind="ec"``, Proposed) or g_avg (``kind="avg"``, PropAvg).

    Parameters
    ----------
    kind : {"ec", "avg"}
        Delay model of d̂: E21 statistical bound or mean delay.
    keep_alive : int, optional
        Keep idle instances used within the last ``keep_alive`` slots in the
        start set (hysteresis); 0 is the paper's rule (busy instances only).
        ``None`` reads ``scenario.control.keep_alive``.
    fallback : bool
        False (default): the paper's literal E21 rule, an occupancy with no θ* is never used (a light
        MS with none at occupancy 1 is never admitted, with a :class:`~edgefm.errors.MethodWarning`
        and ``unservable_tasks`` counted). True: the mean-time fallback there (mean service
        time where g_ε(y) = ∞; docs/model.md §6.2).
    eta, epsilon, y_max, h_min : optional
        Override ``scenario.control``.
    compare : bool
        Also solve each slot with the other delay model and count the slots
        (``diff_slots``) and stages (``diff_stages``) where the decisions differ.
    solver : {"kernel", "reference"}
        ``"kernel"`` (default) runs Algorithm 1 as one compiled kernel
        (:func:`edgefm.control._kernels_greedy.greedy_slot`); ``"reference"`` runs
        :func:`solve_greedy` in Python. Both decide bit for bit the same.
    prune : bool, optional
        Exact node pruning with resumed routings (:meth:`_MSState.first_stage`)
        and host scans in data-ready order that stop early
        (:mod:`edgefm.control._sortroute`); ``None`` (default) prunes on networks
        with more than :data:`PRUNE_ABOVE` nodes. Decisions are identical either way.
    k_nearest : int, optional
        An approximation of Algorithm 1, off by default (``None``: exact). With
        ``k_nearest = k`` a new instance of a light MS is considered only on the
        nodes that already host it and on the k nodes nearest to the data of its
        waiting stages (least data-ready time ``min_s ρ_{s,v} − now``, E19); the
        routing is unchanged. Kernel solver only. Measured on germany50 (100
        nodes) in ``benchmarks/bench_control.py --germany50 --k-nearest``; see
        docs/model.md §6.5 for its quality loss.

    Attributes
    ----------
    fallback_uses : int
        Routed stages placed at an occupancy with no θ* (fallback delay used).
    debt : LatencyDebt
        The virtual queues of the run.
    pruned_nodes, resumed_stages : int
        Kernel solver: candidate nodes that pruning skipped, and stage routings
        saved by resuming (0 without pruning).
    """

    def __init__(self, kind: str = "ec", keep_alive: int | None = None, fallback: bool = False, eta=None,
                 epsilon=None, y_max=None, h_min=None, compare: bool = False, solver: str = "kernel",
                 prune: bool | None = None, k_nearest: int | None = None):
        if kind not in ("ec", "avg"):
            raise ValueError(f"kind must be 'ec' or 'avg', got {kind!r}")
        if solver not in ("kernel", "reference"):
            raise ValueError(f"solver must be 'kernel' or 'reference', got {solver!r}")
        if k_nearest is not None and (int(k_nearest) < 1 or solver != "kernel" or compare):
            raise ValueError(f"k_nearest must be a positive int, with solver='kernel' and no compare; "
                             f"got {k_nearest!r}")
        self.solver = solver
        self.k_nearest = None if k_nearest is None else int(k_nearest)
        self.prune = prune
        self.kind = kind
        self.name = "proposed" if kind == "ec" else "propavg"
        self.keep_alive = keep_alive
        self.fallback = fallback
        self._eta, self._eps, self._ymax, self._hmin = eta, epsilon, y_max, h_min
        self.compare = compare

    def reset(self, ctx: RunContext) -> None:
        sc = ctx.scenario
        c = sc.control
        self.sc = sc
        self.eta = float(c.eta if self._eta is None else self._eta)
        self.y = int(c.y_max if self._ymax is None else self._ymax)
        self.ka = int(c.keep_alive if self.keep_alive is None else self.keep_alive)
        h_min = float(c.h_min if self._hmin is None else self._hmin)
        self.g, self.fb = delay_tables(sc, self.kind, self.fallback, self._eps, self.y)
        # the literal rule (no fallback) can never admit a light MS whose g_eps(1) has no theta*: say so
        self.unservable_ms = [m for m in range(sc.n_ms) if not sc.is_core[m] and not np.isfinite(self.g[m, 1])
                              and any(sc.uses(n, m) for n in range(sc.n_types))]
        self.unservable_tasks = 0
        if self.unservable_ms:
            import warnings

            from ..errors import MethodWarning

            bad = set(self.unservable_ms)
            types = [n for n in range(sc.n_types) if any(sc.uses(n, m) for m in bad)]
            self.unservable_tasks = int(np.isin(ctx.task_type, types).sum())
            for m in self.unservable_ms:
                ms = sc.microservices[m]
                warnings.warn(f"{self.name} (literal E21): light MS {ms.name!r} has no theta* at occupancy 1 "
                              f"(mean rate {ms.mean_rate:.3g} MB/ms cannot clear its {ms.work:.3g} MB job within the "
                              f"{sc.control.window_ms:g} ms window): its {self.unservable_tasks} tasks are never "
                              f"admitted; 'proposed+fallback' uses the mean service time there", MethodWarning,
                              stacklevel=2)
        if self.compare:
            other = "avg" if self.kind == "ec" else "ec"
            self.g_other, _ = delay_tables(sc, other, True, self._eps, self.y)
        self.debt = LatencyDebt(ctx.task_arrival_ms, ctx.task_deadline_ms, h_min)
        self.pen_task = unassigned_penalty(ctx.task_deadline_ms, sc.slot_ms)
        self.used_hist: list[np.ndarray] = []
        self.fallback_uses = 0
        self.additions = 0
        self.diff_slots = 0
        self.diff_stages = 0
        self.slots = 0
        self.last: GreedySolution | None = None
        self.pruned_nodes = 0
        self.resumed_stages = 0
        ms = sc.microservices
        self._dem = np.ascontiguousarray(sc.demand, dtype=float)
        self._c_dp = np.array([x.cost_deploy for x in ms], dtype=float)
        self._c_run = np.array([x.cost_maintain + x.cost_parallel for x in ms], dtype=float)
        self._light = ~sc.is_core
        self._light_i = self._light.astype(np.int64)
        self._track = sc.n_nodes > PRUNE_ABOVE if self.prune is None else bool(self.prune)
        self._g = np.ascontiguousarray(self.g, dtype=float)
        self._any_fb = bool(self.fb.any())

    # ------------------------------------------------------------------
    def start_counts(self, state: State) -> np.ndarray:
        """Busy instances plus, with keep-alive, idle ones used in the last ``keep_alive`` slots."""
        start = np.asarray(state.busy_counts, dtype=np.int64)
        if self.ka > 0 and self.used_hist:
            floor = np.max(self.used_hist[-self.ka:], axis=0)
            start = np.maximum(start, np.minimum(floor, state.light_counts))
        start = start * self._light_i  # a copy, core columns 0
        up = np.asarray(state.node_up, dtype=bool)
        if not up.all():
            start[~up] = 0
        return start

    def problem(self, state: State, weights=None) -> SlotProblem:
        """The per-slot problem of ``state`` (no side effects). ``weights``
        defaults to the debts H the next :meth:`decide` would use."""
        if weights is None:
            act = np.asarray(state.active_tasks, dtype=np.int64)
            Hn = self.debt.H.copy()
            Hn[act] = self.debt.peek(act, state.now)
            weights = Hn[np.asarray(state.stage_task, dtype=np.int64)]
        pen = self.pen_task[np.asarray(state.stage_task, dtype=np.int64)]
        return slot_problem(state, self.sc, weights, pen, self.start_counts(state), self.eta, self.y)

    def solve(self, state: State, weights) -> GreedySolution:
        """Algorithm 1 for ``state`` with stage weights H, by the compiled kernel.

        Same inputs and result as ``solve_greedy(self.problem(state, weights), self.g)``.
        """
        up = np.asarray(state.node_up, dtype=bool)
        start = self.start_counts(state)
        prev = np.asarray(state.light_counts, dtype=np.int64)
        avail = state.free_capacity + (prev - start) @ self._dem
        if not up.all():
            avail = np.where(up[:, None], avail, 0.0)
        tasks = np.asarray(state.stage_task, dtype=np.int64)
        x, route, level, dhat, delay, added, n_pr, n_res, per = greedy_state(
            np.ascontiguousarray(state.ready, dtype=float), float(state.now), up,
            np.asarray(state.stage_ms, dtype=np.int64), np.asarray(weights, dtype=float), self.pen_task[tasks],
            start, prev, avail, self._dem, self._c_dp, self._c_run, self._g, self.y, self.eta,
            np.asarray(state.inst_node, dtype=np.int64), np.asarray(state.inst_ms, dtype=np.int64),
            np.asarray(state.inst_jobs, dtype=np.int64), self._track, 1e-9, self.k_nearest or 0, self._light)
        self.pruned_nodes += int(n_pr)
        self.resumed_stages += int(n_res)
        # per = (max(0, x - prev) * c_dp + x * c_run)[:, light], element for element (SlotProblem.cost)
        objective = self.eta * float(per.sum()) + delay
        return GreedySolution(x=x, route=route, level=level, objective=float(objective), dhat=dhat,
                              added=list(map(tuple, added.tolist())))

    def decide(self, state: State) -> Decision:
        self.debt.update(state.active_tasks, state.now)
        w = self.debt.weights(state.stage_task)
        if self.solver == "reference" or self.compare:
            P = self.problem(state, w)
            sol = solve_greedy(P, self.g)
        else:
            sol = self.solve(state, w)
        self.last = sol
        self.slots += 1
        self.additions += len(sol.added)
        if self._any_fb or self.ka > 0:  # (no fallback cell: no fallback use)
            routed = sol.route >= 0
        if self._any_fb and routed.any():
            self.fallback_uses += int(self.fb[state.stage_ms[routed], sol.level[routed]].sum())
        if self.compare:
            alt = solve_greedy(P, self.g_other)
            d = int((alt.route != sol.route).sum())
            if d or not np.array_equal(alt.x, sol.x):
                self.diff_slots += 1
            self.diff_stages += d
        if self.ka > 0:
            used = np.asarray(state.busy_counts, dtype=np.int64).copy()
            if routed.any():
                # a stage at level 1 starts an idle or new instance
                first = routed & (sol.level == 1)
                np.add.at(used, (sol.route[first], state.stage_ms[first]), 1)
            self.used_hist.append(np.minimum(used, sol.x))
            if len(self.used_hist) > self.ka:
                self.used_hist.pop(0)
        return Decision(light_counts=sol.x, parallelism=self.y, route=sol.route)
