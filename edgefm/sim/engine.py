"""The slotted simulation engine (docs/model.md §3–4, §8.3).

Time is slotted (Δ ms) for *decisions*: arrivals happen at slot boundaries and
the controller acts once per slot. Processing is exact in continuous time:

- A core instance serves one job at a time, FIFO, at its deterministic rate,
  so back-to-back jobs finish at ``finish_i = max(ready_i, finish_{i-1}) + a/f``
  and an instance completes as many jobs in a slot as their times allow.
  Core stages are dispatched by the rule of docs/model.md §6.6: to the available
  instance (free before the end of the slot) where the stage can start
  earliest; otherwise the stage waits a slot.
- A light instance draws its rate f ~ Gamma(k, β) each slot and spends the
  budget f·Δ on its admitted jobs in data-ready order; a job whose work does
  not fit carries the rest into the next slot. At most y jobs are admitted.
- A stage becomes visible to the dispatcher at the first slot boundary at
  which all its parents have finished; its data are ready at node v at
  ``max_p(finish_p + transfer(b_p, v_p→v))`` (roots: arrival + uplink +
  transfer(A_n, gateway→v)), E2–E4, and it never starts before the decision.

Arrivals stop after T slots; the run then drains until every task has finished
or passed its deadline. Failures remove a node's instances; unfinished jobs on
it return to waiting and re-route to surviving instances.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..control.base import Controller, CoreView, Decision, RunContext, State
from ..errors import DecisionError, SimulationError
from ..network import network as _network
from ..rng import stream
from . import _kernels as _k
from .core_pool import resize_core
from .failures import Failure, check_failures
from .result import RunResult, summarize

__all__ = ["Failure", "simulate"]

_RES = ("cpu", "ram", "gpu", "vram")


class _Pool:
    """Light instances as struct-of-arrays: node, MS, remaining work of the head
    job, and the admitted queue (data-ready time, stage) sorted, at most y_max long.
    Ids of removed instances are reused."""

    def __init__(self, y_max: int, cap: int = 64):
        self.Y = max(int(y_max), 1)
        self.node = np.zeros(cap, dtype=np.int64)
        self.ms = np.zeros(cap, dtype=np.int64)
        self.rem = np.zeros(cap)
        self.qlen = np.zeros(cap, dtype=np.int64)
        self.q_rt = np.zeros((cap, self.Y))
        self.q_s = np.zeros((cap, self.Y), dtype=np.int64)
        self.free: list[int] = list(range(cap - 1, -1, -1))

    def new(self, v: int, m: int) -> int:
        """A new idle instance of MS ``m`` on node ``v``; returns its id."""
        if not self.free:
            n = len(self.node)
            for name in ("node", "ms", "rem", "qlen", "q_rt", "q_s"):
                a = getattr(self, name)
                setattr(self, name, np.concatenate([a, np.zeros_like(a)]))
            self.free = list(range(2 * n - 1, n - 1, -1))
        i = self.free.pop()
        self.node[i], self.ms[i], self.rem[i], self.qlen[i] = v, m, 0.0, 0
        return i

    def drop(self, i: int) -> None:
        """Remove instance ``i`` (its id may be reused)."""
        self.qlen[i] = 0
        self.rem[i] = 0.0
        self.free.append(i)


class Engine:
    """One run. Use :func:`simulate`."""

    def __init__(self, scenario, arrivals, core_x, controller: Controller, seed: int, failures=(),
                 max_drain_slots: int | None = None, options: dict | None = None):
        self.sc = scenario
        self.net = _network(scenario)
        self.ctrl = controller
        self.seed = seed
        self.dt = scenario.slot_ms
        self.V, self.M = scenario.n_nodes, scenario.n_ms
        self.failures = sorted(check_failures(failures, scenario, arrivals.n_slots), key=lambda f: f.at_ms)
        self.options = options or {}
        ms = scenario.microservices
        self.ms_work = np.array([m.work for m in ms])
        self.ms_out = np.array([m.output for m in ms])
        self.ms_rate = np.array([m.rate if m.is_core else np.nan for m in ms])
        self.ms_shape = np.array([m.shape if not m.is_core else np.nan for m in ms])
        self.ms_scale = np.array([m.scale if not m.is_core else np.nan for m in ms])
        self.is_core = scenario.is_core
        self.rng_service = stream(seed, "service")
        self.rng_channel = stream(seed, "channel")
        self.per_mb = np.ascontiguousarray(self.net.per_mb) if self.net.zero_propagation else None
        self._build_tasks(arrivals)
        self._build_core(np.asarray(core_x, dtype=int))
        self.T = int(arrivals.n_slots)
        dmax = float(scenario.deadlines.max())
        self.max_slot = self.T + int(math.ceil(dmax / self.dt)) + 2 if max_drain_slots is None else \
            self.T + int(max_drain_slots)

    # ------------------------------------------------------------------ setup
    def _build_tasks(self, arr):
        sc = self.sc
        J = len(arr.slot)
        self.J = J
        self.task_type = np.asarray(arr.ttype, dtype=np.int64)
        self.task_user = np.asarray(arr.user, dtype=np.int64)
        self.task_slot = np.asarray(arr.slot, dtype=np.int64)
        self.task_arrival = self.task_slot * self.dt
        self.task_input = np.asarray(arr.input_mb, dtype=float)
        self.task_scale = np.asarray(getattr(arr, "work_scale", np.ones(J)), dtype=float)
        self.min_scale = float(self.task_scale.min()) if J else 1.0
        self.task_deadline = sc.deadlines[self.task_type]
        self.task_gw = np.array([u.gateway for u in sc.users], dtype=np.int64)[self.task_user]
        if sc.uplink.enabled:
            from ..network import uplink_delay
            u = sc.uplink
            self.task_ul = uplink_delay(self.task_input, u.bandwidth, u.snr, u.nakagami_m, u.omega, self.rng_channel)
        else:
            self.task_ul = np.zeros(J)
        types = sc.task_types
        ns = np.array([t.n_stages for t in types], dtype=np.int64)[self.task_type]
        off = np.zeros(J + 1, dtype=np.int64)
        np.cumsum(ns, out=off[1:])
        self.task_off = off
        S = int(off[-1])
        self.S = S
        P = max(max((len(p) for p in t.parents), default=0) for t in types)
        P = max(P, 1)
        st_ms = np.empty(S, dtype=np.int64)
        st_child = np.empty(S, dtype=np.int64)
        st_par = np.full((S, P), -1, dtype=np.int64)
        st_task = np.repeat(np.arange(J), ns)
        for n, t in enumerate(types):
            idx = np.flatnonzero(self.task_type == n)
            if not len(idx):
                continue
            base = off[idx][:, None] + np.arange(t.n_stages)[None, :]
            st_ms[base] = np.array(t.stages)
            ch = np.array(t.child)
            st_child[base] = np.where(ch >= 0, off[idx][:, None] + ch[None, :], -1)
            for i, ps in enumerate(t.parents):
                for k, p in enumerate(ps):
                    st_par[base[:, i], k] = off[idx] + p
        self.st_ms, self.st_child, self.st_par, self.st_task = st_ms, st_child, st_par, st_task
        self.st_npar = (st_par >= 0).sum(axis=1)
        self.st_left = self.st_npar.copy()
        self.st_node = np.full(S, -1, dtype=np.int64)
        self.st_start = np.full(S, np.nan)
        self.st_finish = np.full(S, np.inf)
        self.st_gen = np.zeros(S, dtype=np.int64)
        self.st_rdy = np.zeros((S, self.V))  # data-ready rows, filled when a stage is released
        self.task_finish = np.full(J, np.inf)
        self.task_done = np.zeros(J, dtype=bool)
        self.task_shed = np.zeros(J, dtype=bool)
        # arrivals by slot (tasks are sorted by slot)
        self.arr_ptr = np.searchsorted(self.task_slot, np.arange(int(arr.n_slots) + 1))

    def _build_core(self, x):
        if x.shape != (self.V, self.M):
            raise SimulationError(f"core placement must have shape {(self.V, self.M)}, got {x.shape}")
        if (x[:, ~self.is_core] != 0).any():
            raise SimulationError("core placement has instances of light microservices")
        nodes, mss = [], []
        for v in range(self.V):
            for m in range(self.M):
                nodes += [v] * int(x[v, m])
                mss += [m] * int(x[v, m])
        self.core_x = x.copy()
        self.ci_node = np.array(nodes, dtype=np.int64)
        self.ci_ms = np.array(mss, dtype=np.int64)
        self.ci_busy = np.zeros(len(nodes))
        self.ci_commit = np.zeros(len(nodes))  # time committed by dispatches (service + data wait)
        self.ci_up = np.ones(len(nodes), dtype=bool)
        self.ci_alive = np.ones(len(nodes), dtype=bool)  # False once removed (core_pool.resize_core)
        self.core_by_ms = {m: np.flatnonzero(self.ci_ms == m) for m in range(self.M)}
        self.core_use = x @ self.sc.demand  # (V, K)
        over = self.core_use - self.sc.capacity
        if (over > 1e-9).any():
            v, k = np.argwhere(over > 1e-9)[0]
            raise DecisionError(f"core placement exceeds node {self.sc.nodes[v].name} {_RES[k]}: "
                                f"needs {self.core_use[v, k]:.3g}, has {self.sc.capacity[v, k]:.3g}")

    # ------------------------------------------------------------------ helpers
    def _rows(self, b: np.ndarray, src: np.ndarray) -> np.ndarray:
        """transfer(b_i, src_i → v) for every v, shape (len(b), V)."""
        if self.net.zero_propagation:
            return b[:, None] * self.net.per_mb[src]
        out = np.empty((len(b), self.V))
        for bb in np.unique(b):
            sel = b == bb
            out[sel] = self.net.transfer_matrix(bb)[src[sel]]
        return out

    def _release(self, stages) -> None:
        """Compute and cache the data-ready rows of newly released stages."""
        if len(stages) and self.net.zero_propagation:
            _k.ready_rows(np.asarray(stages, dtype=np.int64), self.st_npar, self.st_par, self.st_task, self.st_ms,
                          self.st_finish, self.st_node, self.task_arrival, self.task_ul, self.task_input,
                          self.task_gw, self.ms_out, self.per_mb, self.st_rdy)
        elif len(stages):
            s = np.array(stages, dtype=np.int64)
            self.st_rdy[s] = self._ready(s, -np.inf)

    def _ready(self, stages: np.ndarray, now: float) -> np.ndarray:
        """Data-ready times (S, V) of the given released stages (E3–E4)."""
        if len(stages) == 0:
            return np.empty((0, self.V))
        out = np.full((len(stages), self.V), -np.inf)
        root = self.st_npar[stages] == 0
        if root.any():
            s = stages[root]
            j = self.st_task[s]
            out[root] = (self.task_arrival[j] + self.task_ul[j])[:, None] + self._rows(self.task_input[j], self.task_gw[j])
        nr = ~root
        if nr.any():
            s = stages[nr]
            acc = np.full((len(s), self.V), -np.inf)
            for k in range(self.st_par.shape[1]):
                p = self.st_par[s, k]
                has = p >= 0
                if not has.any():
                    continue
                pp = p[has]
                r = self.st_finish[pp][:, None] + self._rows(self.ms_out[self.st_ms[pp]], self.st_node[pp])
                acc[has] = np.maximum(acc[has], r)
            out[nr] = acc
        return np.maximum(out, now)

    # ------------------------------------------------------------------ run
    def run(self) -> RunResult:
        sc, dt = self.sc, self.dt
        V, M = self.V, self.M
        ctx = RunContext(scenario=sc, network=self.net, core_x=self.core_x, n_tasks=self.J,
                         task_type=self.task_type, task_arrival_ms=self.task_arrival,
                         task_deadline_ms=self.task_deadline, rng=stream(self.seed, "policy"),
                         options=self.options, task_user=self.task_user)
        self.ctrl.reset(ctx)
        # core dispatch rule (docs/model.md §6.6): the paper's, or the controller's own "hold" (E30)
        hold = bool(getattr(self.ctrl, "hold_core", False))
        self._active_lo = 0  # tasks before it are all finished or shed
        # finish events not yet processed: stage, its generation when scheduled, bucket slot
        pend_s = pend_g = pend_b = np.empty(0, dtype=np.int64)
        # MS -> waiting core stages, sorted (oldest task first); dict order = dispatch order
        core_wait: dict[int, np.ndarray] = {}
        light_wait = np.empty(0, dtype=np.int64)
        pool = _Pool(sc.control.y_max)
        self.pool = pool
        insts: dict[tuple[int, int], list[int]] = {}  # (node, MS) -> instance ids, in creation order
        dirty = True  # the instance set changed: rebuild the orders below
        ypar = np.ones((V, M), dtype=np.int64)
        node_up = np.ones(V, dtype=bool)
        cost = dict(light_deploy=0.0, light_maintain=0.0, light_parallel=0.0)
        c_dp = np.array([m.cost_deploy for m in sc.microservices])
        c_mt = np.array([m.cost_maintain for m in sc.microservices])
        c_pl = np.array([m.cost_parallel for m in sc.microservices])
        stats = dict(overflow=0, clamped=0, lost_jobs=0, light_instance_slots=0)
        dec_times: list[float] = []
        light_series, wait_series = [], []
        fail_events = [(int(math.ceil(f.at_ms / dt)), f.node, True) for f in self.failures]
        fail_events += [(int(math.ceil(f.until_ms / dt)), f.node, False) for f in self.failures if f.until_ms is not None]
        fail_events.sort()
        fe = 0
        light_dem = sc.demand
        base_free = sc.capacity - self.core_use
        zero_vm = np.zeros((V, M), dtype=np.int64)
        prev_counts = zero_vm
        cost_of = None
        last_par = None
        # constant per run
        is_core = self.is_core
        core_ids = {m: ids for m, ids in self.core_by_ms.items() if len(ids)}
        core_base = self.ms_work / self.ms_rate  # core service time at work scale 1
        roots = np.flatnonzero(self.st_npar == 0)  # task-major, so each slot's arrivals are one slice
        root_ptr = np.searchsorted(roots, self.task_off[self.arr_ptr])
        t = 0
        t_ctrl = 0.0
        core_mt_node = (self.core_x * c_mt).sum(axis=1)  # (V,) core upkeep per slot on each node
        core_mt = 0.0
        core_x0 = self.core_x
        core_deploy_added = 0.0  # E6 deployment of core instances a controller added during the run
        t0 = time.perf_counter()
        while True:
            now = t * dt
            # --- failures / recoveries at this boundary
            while fe < len(fail_events) and fail_events[fe][0] <= t:
                _, v, down = fail_events[fe]
                fe += 1
                if down and node_up[v]:
                    node_up[v] = False
                    dead = np.flatnonzero(self.ci_node == v)
                    self.ci_up[dead] = False
                    lost = np.flatnonzero((self.st_node == v) & (self.st_finish > now) & np.isfinite(self.st_finish)
                                          & self.is_core[self.st_ms])
                    for s in lost:
                        self._reset_stage(s)
                        m = int(self.st_ms[s])
                        w = core_wait.get(m, np.empty(0, dtype=np.int64))
                        core_wait[m] = np.insert(w, np.searchsorted(w, s), s)
                    self._release(lost)
                    stats["lost_jobs"] += len(lost)
                    for key in [k for k in insts if k[0] == v]:
                        for i in insts.pop(key):
                            q = pool.q_s[i, :pool.qlen[i]].copy()
                            for s in q:
                                self._reset_stage(s)
                            light_wait = np.concatenate([light_wait, q])
                            stats["lost_jobs"] += len(q)
                            self._release(q)
                            pool.drop(i)
                    dirty = True
                elif not down and not node_up[v]:
                    node_up[v] = True
                    back = np.flatnonzero((self.ci_node == v) & self.ci_alive)
                    self.ci_up[back] = True
                    self.ci_busy[back] = now
            # core upkeep (E6): every core instance on an up node pays c_mt for this slot, drain included
            core_mt += float(core_mt_node[node_up].sum())
            # --- finishes due at this boundary, then arrivals
            released = roots[root_ptr[t]:root_ptr[t + 1]] if t < self.T else roots[:0]
            if len(pend_b):
                due = pend_b == t
                if due.any():
                    fin = _k.finish_events(pend_s[due], pend_g[due], self.st_gen, self.task_shed, self.st_task,
                                           self.st_child, self.st_finish, self.st_left, self.task_finish,
                                           self.task_done)
                    later = pend_b > t
                    pend_s, pend_g, pend_b = pend_s[later], pend_g[later], pend_b[later]
                    if len(fin):
                        released = np.concatenate([fin, released])
            if len(released):
                self._release(released)
                rel_ms = self.st_ms[released]
                core = is_core[rel_ms]
                if not core.all():
                    light_wait = np.concatenate([light_wait, released[~core]])
                if core.any():
                    cr, cm = released[core], rel_ms[core]
                    for m in dict.fromkeys(cm.tolist()):  # first-release order
                        old = core_wait.get(m)
                        add = np.sort(cr[cm == m])
                        if old is None or not len(old):
                            core_wait[m] = add
                        elif old[-1] < add[0]:
                            core_wait[m] = np.concatenate([old, add])
                        else:  # two sorted runs: a stable sort merges them in linear time
                            core_wait[m] = np.sort(np.concatenate([old, add]), kind="stable")
            # --- core dispatch
            new_ev = []
            for m, w in core_wait.items():
                if len(w) and m in core_ids:
                    core_wait[m], es, eg, eb = _k.dispatch_core(
                        w, core_ids[m], self.ci_busy, self.ci_up, self.ci_node, self.st_rdy, now, dt,
                        core_base[m], self.min_scale, self.task_scale, self.st_task, self.st_node, self.st_start,
                        self.st_finish, self.st_gen, self.ci_commit, hold)
                    if len(es):
                        new_ev.append((es, eg, eb))
            # --- controller for light
            if dirty:
                keys = sorted(insts)
                st_order = np.array([i for k in keys for i in insts[k]], dtype=np.int64)
                sv_order = np.array([i for lst in insts.values() for i in lst], dtype=np.int64)
                cell = pool.node[st_order] * M + pool.ms[st_order]
                counts = np.bincount(cell, minlength=V * M).reshape(V, M)
                key_len = counts.ravel().copy()
                key_start = np.zeros(V * M, dtype=np.int64)
                np.cumsum(key_len[:-1], out=key_start[1:])
                inst_node, inst_ms = pool.node[st_order], pool.ms[st_order]
                inst_w = self.ms_work[inst_ms]
                sv_shape, sv_scale = self.ms_shape[pool.ms[sv_order]], self.ms_scale[pool.ms[sv_order]]
                dirty = False
            lw = light_wait
            ready = _k.ready_at(self.st_rdy, lw, now)
            jobs = pool.qlen[st_order]
            has = jobs > 0
            busy = np.bincount(cell[has], minlength=V * M).reshape(V, M)
            rem = pool.rem[st_order]
            backlog = np.where(has, jobs * inst_w - np.where(rem > 0, inst_w - rem, 0.0), 0.0)
            free = sc.capacity - self.core_use - counts @ light_dem if len(st_order) else base_free
            if not node_up.all():
                free = np.where(node_up[:, None], free, 0.0)
            active = (lambda t=t: self._active(t))
            state = State(
                t=t, now=now, stage=lw, stage_ms=self.st_ms[lw], stage_task=self.st_task[lw], ready=ready,
                inst_node=inst_node.copy(), inst_ms=inst_ms.copy(), inst_jobs=jobs, inst_backlog=backlog,
                light_counts=counts.copy(), busy_counts=busy, parallelism=ypar.copy(), free_capacity=free,
                node_up=node_up.copy(), _active=active, _core=lambda cw=dict(core_wait): self._core_view(cw),
            )
            tc = time.perf_counter()
            dec = self.ctrl.decide(state)
            el = time.perf_counter() - tc
            t_ctrl += el
            dec_times.append(el)
            if dec is None:
                dec = Decision()
            # --- apply: shedding, parallelism, core and light instance counts (E8), routing
            shed_now = 0
            if dec.shed is not None and len(dec.shed):
                shed_now = n_shed = self._shed(np.asarray(dec.shed, dtype=np.int64), core_wait, st_order)
                if n_shed:
                    stats["shed_decisions"] = stats.get("shed_decisions", 0) + n_shed
                    light_wait = light_wait[~self.task_shed[self.st_task[light_wait]]]
            if dec.parallelism is not None and not (last_par is not None and np.array_equal(dec.parallelism, last_par)):
                last_par = np.array(dec.parallelism, copy=True)
                y = np.broadcast_to(np.asarray(dec.parallelism, dtype=np.int64), (V, M))
                if (y < 1).any():
                    raise DecisionError(f"slot {t}: parallelism must be >= 1")
                ypar = np.minimum(y, sc.control.y_max).copy()
            if dec.core_counts is not None and not np.array_equal(dec.core_counts, self.core_x):
                n_add, n_rem, dep = resize_core(self, dec.core_counts, t, now, node_up, counts @ light_dem,
                                                self.options.get("core_startup_ms", 0.0))
                if n_add or n_rem:
                    core_ids = {m: ids for m, ids in self.core_by_ms.items() if len(ids)}
                    core_mt_node = (self.core_x * c_mt).sum(axis=1)
                    base_free = sc.capacity - self.core_use
                    core_deploy_added += dep
                    stats["core_added"] = stats.get("core_added", 0) + n_add
                    stats["core_removed"] = stats.get("core_removed", 0) + n_rem
            if dec.light_counts is not None and not np.array_equal(dec.light_counts, counts):
                want = np.asarray(dec.light_counts, dtype=np.int64).copy()
                if want.shape != (V, M):
                    raise DecisionError(f"slot {t}: light_counts must have shape {(V, M)}, got {want.shape}")
                want[:, self.is_core] = 0
                if (want < 0).any():
                    raise DecisionError(f"slot {t}: negative light instance count")
                low = want < busy
                if low.any():
                    stats["clamped"] += int((busy - want)[low].sum())
                    want = np.maximum(want, busy)
                use = self.core_use + want @ light_dem
                over = use - np.where(node_up[:, None], sc.capacity, 0.0)
                bad = (over > 1e-9) & (want.sum(axis=1) > 0)[:, None]
                if bad.any():
                    v, k = np.argwhere(bad)[0]
                    raise DecisionError(
                        f"slot {t}: node {sc.nodes[v].name} {_RES[k]} over capacity (E8): core + light need "
                        f"{use[v, k]:.3g}, node has {sc.capacity[v, k] if node_up[v] else 0.0:.3g}"
                        + ("" if node_up[v] else " (node is down)"))
                for v, m in zip(*np.nonzero(want != counts)):
                    v, m = int(v), int(m)
                    lst = insts.setdefault((v, m), [])
                    d = int(want[v, m] - counts[v, m])
                    if d > 0:
                        lst.extend(pool.new(v, m) for _ in range(d))
                    else:
                        idle = [i for i in lst if not pool.qlen[i]]
                        for i in idle[len(idle) + d:] if d < 0 else []:
                            lst.remove(i)
                            pool.drop(i)
                        if not lst:
                            del insts[(v, m)]
                dirty = True
                counts = want
            if dec.route is not None and len(lw):
                route = np.asarray(dec.route, dtype=np.int64)
                if route.shape != lw.shape:
                    raise DecisionError(f"slot {t}: route must have one entry per waiting stage ({len(lw)}), got {route.shape}")
                if shed_now:
                    route = np.where(self.task_shed[self.st_task[lw]], -2, route)
                if dirty:  # instance lists per (node, MS) after this decision
                    kl = np.zeros(V * M, dtype=np.int64)
                    ids = []
                    for (v, m) in sorted(insts):
                        kl[v * M + m] = len(insts[(v, m)])
                        ids += insts[(v, m)]
                    key_ids, key_len = np.array(ids, dtype=np.int64), kl
                    key_start = np.zeros(V * M, dtype=np.int64)
                    np.cumsum(key_len[:-1], out=key_start[1:])
                else:
                    key_ids = st_order
                light_wait, n_over, err = _k.route_light(
                    lw, route, ready, self.st_ms, M, key_start, key_len, key_ids, ypar, pool.qlen, pool.q_rt,
                    pool.q_s, self.st_node)
                stats["overflow"] += int(n_over)
                if err >= 0:
                    v, m = int(route[err]), int(self.st_ms[lw[err]])
                    raise DecisionError(f"slot {t}: stage routed to node {sc.nodes[v].name} which runs no "
                                        f"instance of {sc.microservices[m].name}")
            # --- light service in [now, now + dt)
            if dirty:
                sv_all = np.array([i for lst in insts.values() for i in lst], dtype=np.int64)
                sv_sh, sv_sc = self.ms_shape[pool.ms[sv_all]], self.ms_scale[pool.ms[sv_all]]
            else:
                sv_all, sv_sh, sv_sc = sv_order, sv_shape, sv_scale
            on = pool.qlen[sv_all] > 0
            if on.any():
                rates = self.rng_service.gamma(sv_sh[on], sv_sc[on])
                es, eg, eb = _k.light_service(sv_all[on], rates, pool.ms, pool.rem, pool.qlen, pool.q_rt, pool.q_s,
                                              self.ms_work, now, dt, self.st_start, self.st_finish, self.st_gen)
                if len(es):
                    new_ev.append((es, eg, eb))
            if new_ev:
                pend_s = np.concatenate([pend_s] + [e[0] for e in new_ev])
                pend_g = np.concatenate([pend_g] + [e[1] for e in new_ev])
                pend_b = np.concatenate([pend_b] + [e[2] for e in new_ev])
            # --- cost of this slot (E7)
            if counts is not cost_of:  # the slot's sums depend on the counts only: reuse them while unchanged
                cost_of, n_inst = counts, int(counts.sum())
                mt, pl = float((counts * c_mt).sum()), float((counts * c_pl).sum())
            if n_inst or prev_counts is not zero_vm:
                if prev_counts is not counts:  # (no increase when unchanged: += 0.0)
                    inc = np.maximum(0, counts - prev_counts)
                    cost["light_deploy"] += float((inc * c_dp).sum())
                cost["light_maintain"] += mt
                cost["light_parallel"] += pl
                stats["light_instance_slots"] += n_inst
                prev_counts = counts if n_inst else zero_vm
            light_series.append(n_inst)
            wait_series.append(len(light_wait) + sum(map(len, core_wait.values())))
            # --- termination: arrivals over and every task finished or expired
            t += 1
            if t >= self.T:
                left = ~self.task_done & ~self.task_shed
                if not left.any():
                    break
                if t * dt >= float((self.task_arrival[left] + self.task_deadline[left]).max()):
                    break
                if t >= self.max_slot:
                    break
        wall = time.perf_counter() - t0
        core_deploy = float((core_x0 * c_dp).sum()) + core_deploy_added
        core_maintain = core_mt  # over every simulated slot (arrivals and drain), up nodes only
        stats["drain_slots"] = max(0, t - self.T)
        return summarize(self, t, wall, t_ctrl, np.array(dec_times), dict(
            core_deploy=core_deploy, core_maintain=core_maintain, **cost), stats,
            np.array(light_series), np.array(wait_series))

    def _active(self, t: int) -> np.ndarray:
        """Ids of tasks arrived by slot ``t``, neither finished nor shed (ascending)."""
        hi = int(self.arr_ptr[min(t + 1, self.T)]) if self.T else 0
        ids, self._active_lo = _k.active_tasks(min(self._active_lo, hi), hi, self.task_done, self.task_shed)
        return ids

    def _core_view(self, core_wait: dict) -> CoreView:
        w = np.concatenate([np.empty(0, dtype=np.int64)] + [core_wait[m] for m in sorted(core_wait)])
        return CoreView(inst_ms=self.ci_ms, inst_node=self.ci_node, inst_free_at=self.ci_busy.copy(),
                        inst_up=self.ci_up.copy(), wait_stage=w, wait_ms=self.st_ms[w], wait_task=self.st_task[w],
                        inst_alive=self.ci_alive.copy())

    def _shed(self, tasks: np.ndarray, core_wait: dict, inst_ids: np.ndarray) -> int:
        """Drop ``tasks`` (see :attr:`Decision.shed`); returns how many were newly shed."""
        tasks = tasks[(tasks >= 0) & (tasks < self.J)]
        tasks = np.unique(tasks[~self.task_done[tasks] & ~self.task_shed[tasks]])
        if not len(tasks):
            return 0
        self.task_shed[tasks] = True
        sh = self.task_shed
        for m, w in core_wait.items():
            if len(w):
                core_wait[m] = w[~sh[self.st_task[w]]]
        p = self.pool
        _k.shed_queues(inst_ids, p.rem, p.qlen, p.q_rt, p.q_s, self.st_task, sh)
        return len(tasks)

    def _reset_stage(self, s):
        self.st_gen[s] += 1
        self.st_node[s] = -1
        self.st_start[s] = np.nan
        self.st_finish[s] = np.inf


def simulate(scenario, arrivals, core_x, controller: Controller, seed: int = 0, failures=(),
             max_drain_slots: int | None = None, options: dict | None = None) -> RunResult:
    """Run one simulation.

    Parameters
    ----------
    scenario : Scenario
    arrivals : edgefm.workload.Arrivals
        Tasks (slot, user, type, input payload), sorted by slot.
    core_x : array (V, M) of int
        Core instance counts (a placement's ``x``); light columns must be 0.
    controller : Controller
        The tier-2 method (see :mod:`edgefm.control`).
    seed : int
        Seed of the service-rate, channel and policy streams.
    failures : sequence of Failure
    max_drain_slots : int, optional
        Cap on slots after the arrival period (default: the longest deadline).

    Returns
    -------
    RunResult
    """
    from .memory import tune_allocator

    tune_allocator()  # once per process: no page faults for per-slot temporaries (edgefm.sim.memory)
    return Engine(scenario, arrivals, core_x, controller, seed, failures, max_drain_slots, options).run()
