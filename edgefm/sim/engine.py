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

import bisect
import math
import time
from dataclasses import dataclass

import numpy as np

from ..control.base import Controller, CoreView, Decision, RunContext, State
from ..errors import DecisionError, SimulationError
from ..network import network as _network
from ..rng import stream
from .result import RunResult, summarize

__all__ = ["Failure", "simulate"]

_RES = ("cpu", "ram", "gpu", "vram")


@dataclass(frozen=True)
class Failure:
    """Node ``node`` goes down at ``at_ms`` (and comes back at ``until_ms``).

    Both take effect at the next slot boundary.
    """

    node: int
    at_ms: float
    until_ms: float | None = None


class _LightInst:
    __slots__ = ("node", "ms", "uid", "queue", "rem", "busy_since")

    def __init__(self, node, ms, uid):
        self.node, self.ms, self.uid = node, ms, uid
        self.queue: list[tuple[float, int]] = []  # (ready time, stage), sorted
        self.rem = 0.0  # remaining work of the head job (MB); 0 = not started


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
        self.failures = sorted(failures, key=lambda f: f.at_ms)
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
        self.ci_up = np.ones(len(nodes), dtype=bool)
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

    def _release(self, stages: list[int]) -> None:
        """Compute and cache the data-ready rows of newly released stages."""
        if stages:
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
        ctx = RunContext(scenario=sc, network=self.net, core_x=self.core_x, n_tasks=self.J,
                         task_type=self.task_type, task_arrival_ms=self.task_arrival,
                         task_deadline_ms=self.task_deadline, rng=stream(self.seed, "policy"),
                         options=self.options, task_user=self.task_user)
        self.ctrl.reset(ctx)
        buckets: dict[int, list[tuple[int, int]]] = {}
        core_wait: dict[int, list[int]] = {}  # MS -> waiting core stages
        light_wait: list[int] = []
        insts: dict[tuple[int, int], list[_LightInst]] = {}
        ypar = np.ones((self.V, self.M), dtype=np.int64)
        node_up = np.ones(self.V, dtype=bool)
        uid = 0
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
        zero_vm = np.zeros((self.V, self.M), dtype=np.int64)
        prev_counts = zero_vm
        last_par = None
        t = 0
        t_ctrl = 0.0
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
                        core_wait.setdefault(int(self.st_ms[s]), []).append(int(s))
                    self._release(list(lost))
                    stats["lost_jobs"] += len(lost)
                    for key in [k for k in insts if k[0] == v]:
                        for inst in insts.pop(key):
                            for _, s in inst.queue:
                                self._reset_stage(s)
                                light_wait.append(s)
                                stats["lost_jobs"] += 1
                            self._release([s for _, s in inst.queue])
                elif not down and not node_up[v]:
                    node_up[v] = True
                    back = np.flatnonzero(self.ci_node == v)
                    self.ci_up[back] = True
                    self.ci_busy[back] = now
            released: list[int] = []
            # --- finishes due at this boundary
            for s, g in buckets.pop(t, ()):
                if g != self.st_gen[s] or self.task_shed[self.st_task[s]]:
                    continue
                c = self.st_child[s]
                if c < 0:
                    j = self.st_task[s]
                    self.task_finish[j] = self.st_finish[s]
                    self.task_done[j] = True
                else:
                    self.st_left[c] -= 1
                    if self.st_left[c] == 0:
                        released.append(int(c))
            # --- arrivals
            if t < self.T:
                a, b = self.arr_ptr[t], self.arr_ptr[t + 1]
                for j in range(a, b):
                    o = self.task_off[j]
                    for s in range(o, self.task_off[j + 1]):
                        if self.st_npar[s] == 0:
                            released.append(s)
            self._release(released)
            for s in released:
                m = int(self.st_ms[s])
                if self.is_core[m]:
                    core_wait.setdefault(m, []).append(s)
                else:
                    light_wait.append(s)
            # --- core dispatch
            for m, lst in core_wait.items():
                if lst:
                    core_wait[m] = self._dispatch_core(m, lst, now, buckets)
            # --- controller for light
            lw = np.array(light_wait, dtype=np.int64)
            ready = np.maximum(self.st_rdy[lw], now)
            inst_list = [i for k in sorted(insts) for i in insts[k]]
            counts = np.zeros((self.V, self.M), dtype=np.int64)
            busy = np.zeros((self.V, self.M), dtype=np.int64)
            for i in inst_list:
                counts[i.node, i.ms] += 1
                if i.queue:
                    busy[i.node, i.ms] += 1
            free = sc.capacity - self.core_use - counts @ light_dem if inst_list else base_free
            if not node_up.all():
                free = np.where(node_up[:, None], free, 0.0)
            active = (lambda t=t: np.flatnonzero((self.task_slot <= t) & ~self.task_done & ~self.task_shed))
            state = State(
                t=t, now=now, stage=lw, stage_ms=self.st_ms[lw], stage_task=self.st_task[lw], ready=ready,
                inst_node=np.array([i.node for i in inst_list], dtype=np.int64),
                inst_ms=np.array([i.ms for i in inst_list], dtype=np.int64),
                inst_jobs=np.array([len(i.queue) for i in inst_list], dtype=np.int64),
                inst_backlog=np.array([self._backlog(i) for i in inst_list]),
                light_counts=counts, busy_counts=busy, parallelism=ypar.copy(), free_capacity=free,
                node_up=node_up.copy(), _active=active, _core=lambda cw=core_wait: self._core_view(cw),
            )
            tc = time.perf_counter()
            dec = self.ctrl.decide(state)
            el = time.perf_counter() - tc
            t_ctrl += el
            dec_times.append(el)
            if dec is None:
                dec = Decision()
            # --- apply: shedding, parallelism, instance counts (E8), routing
            shed_now = 0
            if dec.shed is not None and len(dec.shed):
                shed_now = n_shed = self._shed(np.asarray(dec.shed, dtype=np.int64), core_wait, insts)
                if n_shed:
                    stats["shed_decisions"] = stats.get("shed_decisions", 0) + n_shed
                    light_wait = [s for s in light_wait if not self.task_shed[self.st_task[s]]]
            if dec.parallelism is not None and not (last_par is not None and np.array_equal(dec.parallelism, last_par)):
                last_par = np.array(dec.parallelism, copy=True)
                y = np.broadcast_to(np.asarray(dec.parallelism, dtype=np.int64), (self.V, self.M))
                if (y < 1).any():
                    raise DecisionError(f"slot {t}: parallelism must be >= 1")
                ypar = np.minimum(y, sc.control.y_max).copy()
            if dec.light_counts is not None and not np.array_equal(dec.light_counts, counts):
                want = np.asarray(dec.light_counts, dtype=np.int64).copy()
                if want.shape != (self.V, self.M):
                    raise DecisionError(f"slot {t}: light_counts must have shape {(self.V, self.M)}, got {want.shape}")
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
                    lst = insts.setdefault((int(v), int(m)), [])
                    d = int(want[v, m] - counts[v, m])
                    if d > 0:
                        for _ in range(d):
                            lst.append(_LightInst(int(v), int(m), uid))
                            uid += 1
                    else:
                        idle = [i for i in lst if not i.queue]
                        for i in idle[len(idle) + d:] if d < 0 else []:
                            lst.remove(i)
                        if not lst:
                            del insts[(int(v), int(m))]
                counts = want
            if dec.route is not None and len(lw):
                route = np.asarray(dec.route, dtype=np.int64)
                if route.shape != lw.shape:
                    raise DecisionError(f"slot {t}: route must have one entry per waiting stage ({len(lw)}), got {route.shape}")
                keep = []
                if shed_now:
                    route = np.where(self.task_shed[self.st_task[lw]], -2, route)
                for r, s in enumerate(lw):
                    v = int(route[r])
                    if v == -2:  # shed this slot
                        continue
                    if v < 0:
                        keep.append(int(s))
                        continue
                    m = int(self.st_ms[s])
                    lst = insts.get((v, m))
                    if not lst:
                        raise DecisionError(f"slot {t}: stage routed to node {sc.nodes[v].name} which runs no "
                                            f"instance of {sc.microservices[m].name}")
                    cap = ypar[v, m]
                    best = min(lst, key=lambda i: len(i.queue))
                    if len(best.queue) >= cap:
                        stats["overflow"] += 1
                        keep.append(int(s))
                        continue
                    rt = float(ready[r, v])
                    bisect.insort(best.queue, (rt, int(s)))
                    self.st_node[s] = v
                light_wait = keep
            # --- light service in [now, now + dt)
            for (_, m), lst in insts.items():
                busy_i = [i for i in lst if i.queue]
                if not busy_i:
                    continue
                f = self.rng_service.gamma(self.ms_shape[m], self.ms_scale[m], size=len(busy_i))
                end = now + dt
                for inst, rate in zip(busy_i, f):
                    cur = now
                    q = inst.queue
                    while q:
                        rt, s = q[0]
                        if rt >= end:
                            break
                        if inst.rem == 0.0:
                            inst.rem = self.ms_work[m] * 1.0
                            self.st_start[s] = max(cur, rt)
                        cur = max(cur, rt)
                        if rate <= 0:
                            break
                        need = inst.rem / rate
                        if cur + need <= end:
                            cur += need
                            inst.rem = 0.0
                            q.pop(0)
                            self.st_finish[s] = cur
                            buckets.setdefault(int(math.ceil(cur / dt)), []).append((s, int(self.st_gen[s])))
                        else:
                            inst.rem -= rate * (end - cur)
                            break
            # --- cost of this slot (E7)
            n_inst = int(counts.sum())
            if n_inst or prev_counts is not zero_vm:
                inc = np.maximum(0, counts - prev_counts)
                cost["light_deploy"] += float((inc * c_dp).sum())
                cost["light_maintain"] += float((counts * c_mt).sum())
                cost["light_parallel"] += float((counts * c_pl).sum())
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
        T_core = self.T
        core_deploy = float((self.core_x * c_dp).sum())
        core_maintain = float((self.core_x * c_mt).sum() * T_core)
        return summarize(self, t, wall, t_ctrl, np.array(dec_times), dict(
            core_deploy=core_deploy, core_maintain=core_maintain, **cost), stats,
            np.array(light_series), np.array(wait_series))

    def _core_view(self, core_wait: dict) -> CoreView:
        ws = [s for m in sorted(core_wait) for s in core_wait[m]]
        w = np.array(ws, dtype=np.int64)
        return CoreView(inst_ms=self.ci_ms, inst_node=self.ci_node, inst_free_at=self.ci_busy.copy(),
                        inst_up=self.ci_up.copy(), wait_stage=w, wait_ms=self.st_ms[w], wait_task=self.st_task[w])

    def _shed(self, tasks: np.ndarray, core_wait: dict, insts: dict) -> int:
        """Drop ``tasks`` (see :attr:`Decision.shed`); returns how many were newly shed."""
        tasks = tasks[(tasks >= 0) & (tasks < self.J)]
        tasks = np.unique(tasks[~self.task_done[tasks] & ~self.task_shed[tasks]])
        if not len(tasks):
            return 0
        self.task_shed[tasks] = True
        sh = self.task_shed
        for m, lst in core_wait.items():
            if lst:
                core_wait[m] = [s for s in lst if not sh[self.st_task[s]]]
        for lst in insts.values():
            for inst in lst:
                q = inst.queue
                if q and any(sh[self.st_task[s]] for _, s in q):
                    head = q[0] if inst.rem > 0 else None  # a started job finishes
                    inst.queue = [e for e in q if e is head or not sh[self.st_task[e[1]]]]
        return len(tasks)

    def _backlog(self, inst: _LightInst) -> float:
        if not inst.queue:
            return 0.0
        w = self.ms_work[inst.ms]
        return len(inst.queue) * w - (w - inst.rem if inst.rem > 0 else 0.0)

    def _reset_stage(self, s):
        self.st_gen[s] += 1
        self.st_node[s] = -1
        self.st_start[s] = np.nan
        self.st_finish[s] = np.inf

    def _dispatch_core(self, m: int, waiting: list[int], now: float, buckets) -> list[int]:
        """Dispatch the waiting stages of core MS ``m``, oldest task first, each to
        the available instance (up, free before the slot ends) where it starts
        earliest; the others wait a slot. Returns the stages still waiting."""
        ids = self.core_by_ms[m]
        if not len(ids):
            return waiting
        end = now + self.dt
        busy = self.ci_busy[ids].tolist()
        up = self.ci_up[ids].tolist()
        avail = [k for k in range(len(ids)) if up[k] and busy[k] <= end]
        if not avail:
            return waiting
        w = np.sort(np.array(waiting, dtype=np.int64), kind="stable")  # stage ids are task-major: oldest first
        svc_min = self.ms_work[m] / self.ms_rate[m] * self.min_scale
        # no more stages than this can start before the slot ends
        n = min(len(w), len(avail) + int(sum(end - max(busy[k], now) for k in avail) / svc_min) + 1)
        head = w[:n]
        rows = np.maximum(self.st_rdy[head][:, self.ci_node[ids]], now).tolist()
        svc = (self.ms_work[m] / self.ms_rate[m] * self.task_scale[self.st_task[head]]).tolist()
        gen = self.st_gen
        done = n
        for r, s in enumerate(head.tolist()):
            row = rows[r]
            best, bstart = -1, math.inf
            for k in avail:
                st = row[k] if row[k] > busy[k] else busy[k]
                if st < bstart:
                    best, bstart = k, st
            fin = bstart + svc[r]
            busy[best] = fin
            i = int(ids[best])
            self.st_node[s] = self.ci_node[i]
            self.st_start[s] = bstart
            self.st_finish[s] = fin
            buckets.setdefault(math.ceil(fin / self.dt), []).append((s, int(gen[s])))
            if fin > end:
                avail.remove(best)
                if not avail:
                    done = r + 1
                    break
        self.ci_busy[ids] = busy
        return w[done:].tolist()


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
    return Engine(scenario, arrivals, core_x, controller, seed, failures, max_drain_slots, options).run()
