"""``edgefm``: the project's own tier-2 controller (docs/model.md, E25–E27, E29–E32; notebook 10).

It runs on the plan of :func:`edgefm.placement.provision.provision` (E24): the core
placement, a standing pool of light instances sized from their queues, and the rate
α_{u,n} at which each (user, type) class is admitted. Each slot it

1. **admits** the tasks that arrived (E25): class (u, n) keeps a credit that grows by
   α_{u,n}/λ_{u,n} per arrival (starting from 1); a task is admitted when the credit
   reaches 1 (which it then loses) — a deterministic thinning to the planned rate — and
   otherwise shed at the door, before any work is spent on a task the system cannot serve
   (option ``headroom``: also admit while every core pool of its type would start it within
   its budget, by the predictor of step 2);
2. **sheds the hopeless** (E26): a waiting stage whose earliest possible finish of its
   task — now, or for a core stage the predicted start on its MS's pooled instances (the
   k-th waiting stage of m starts when the k-th earliest instance frees, then every c
   services), plus the mean services left on its longest path — passes the deadline
   cannot be on time; its task is shed so that it stops taking instances from tasks
   that can;
3. **keeps the light pool** (E27): the planned instances stay up (no teardown, no
   redeployment cost); when a node fails the controller re-plans on the surviving nodes (E32,
   option ``recover``, :mod:`edgefm.control.recover`: E24 again, every surviving core instance
   kept, the core instances and light pools it adds started as room allows), or without it
   re-homes the light instances on the up nodes and re-solves the admission shares: the most
   tasks per type that the surviving core pools serve at their planned utilisations (a linear
   program over the types); when the waiting light work of an MS would not finish within its
   budget, one instance is added on the hosting or nearest node with room, and kept
   ``keep_alive`` slots after it was last busy;
4. **routes** every waiting light stage to the hosting node where it would finish
   first (:func:`~edgefm.control.static.route_earliest_finish`);
5. **localises** (E29, option ``localise``): a waiting light stage whose task would be late from its
   pool node even if every later stage waited only its planned budget (ready + service + the mean
   transfers and services below + their budgets w_m) gets a new instance on the node with room where
   that finish meets the deadline, kept
   ``keep_alive`` slots like an elastic one; the stages are then routed again. It acts only where an
   instance changes a task's outcome: on long-haul networks, where a pool one backbone hop away costs
   milliseconds per stage (notebook 09), and never on the paper scenario's draws we measured;
6. **holds core stages until their data are in** (E30, option ``hold_core``): the engine dispatches
   a waiting core stage only when some instance can start it within the slot, so that no core
   instance idles committed to data still in transit while younger stages whose data are there
   wait behind it (the paper's rule, docs/model.md §6.6, commits the instance at dispatch). The core pools then
   serve at the utilisation E24 planned, even where links add milliseconds.
"""
from __future__ import annotations

import numpy as np

from .base import Decision, RunContext, State
from .static import route_earliest_finish

__all__ = ["EdgeFMController", "remaining_service"]


def remaining_service(scenario) -> list[np.ndarray]:
    """Mean service time (ms) from the start of each stage to its sink's finish, along the
    chain of children (transfers excluded: a lower bound of the rest of the path); one
    (n_stages,) array per task type."""
    out = []
    for tt in scenario.task_types:
        svc = [scenario.microservices[m].mean_service_ms for m in tt.stages]
        rem = np.zeros(tt.n_stages)
        for i in range(tt.n_stages):
            t, c = svc[i], tt.child[i]
            while c >= 0:
                t, c = t + svc[c], tt.child[c]
            rem[i] = t
        out.append(rem)
    return out


class EdgeFMController:
    """The ``edgefm`` method's controller (module doc).

    Parameters
    ----------
    admission : bool
        Thin arrivals to the planned rates α (E25).
    shed_hopeless : bool
        Shed tasks that can no longer be on time (E26).
    elastic : bool or "auto"
        Add light instances beyond the planned pool when waiting work would miss its budget (on a
        node of the planned pool when one has room, else anywhere, nearest the oldest waiting stage).
        ``"auto"`` (default): only when the plan admits every offered task (the nodes then have
        room beyond the plan, which bursts of a trace or an MMPP need); a plan that admits less has
        packed the nodes to the bound, where an addition only displaces a planned instance.
    keep_alive : int
        Slots an added light instance stays up after its last job.
    localise : bool
        Add a light instance beside a stage whose task the pool would make late (E29, step 5).
    headroom : bool
        Also admit beyond the planned rate while every core pool of the task's type would start it
        within its budget (an option: it helps short runs and mild overload, and over-admits on
        heavily overloaded draws, where tasks admitted in the last ``window`` slots underestimate
        what is on its way; notebook 10's ablation measures it).
    window : int
        Slots during which an admitted task counts as on its way to its core stages.
    hold_core : bool
        Dispatch a core stage only once it can start within the slot (E30, step 6); False: the
        paper's rule (the instance is committed at dispatch and idles until the data arrive).
    resize : int
        Online core re-sizing (E31, :mod:`edgefm.control.resize`) every ``resize`` slots from the
        arrivals of the last ``resize_window`` slots, while the plan admits every task and every node
        is up; 0 (default): the core tier stays as planned.
    resize_window : int
        Slots of the rate estimate of E31.
    recover : bool
        Re-plan after a node failure (E32, :mod:`edgefm.control.recover`): solve E24 again on the
        surviving nodes, keeping every surviving core instance, and start the core instances and
        light pools it adds (default). False: the core tier stays as planned and only the light
        pools are re-homed and the admission thinned (E27).
    eps : float or None
        ε of the plan's queue sizing (E22–E23); ``None`` sizes from the mean.
    survivable : bool
        Plan with N−1 core capacity (E24 option): dearer, rides out the loss of any one node.
    plan : Provision, optional
        The plan to run on (the runner passes the one it placed the core with); by default the
        controller solves E24 itself, keeping the engine's core placement.
    """

    name = "edgefm"

    def __init__(self, admission: bool = True, shed_hopeless: bool = True, elastic: bool | str = "auto",
                 keep_alive: int = 20, eps: float | None = 0.05, plan=None, headroom: bool = False,
                 window: int = 5, survivable: bool = False, localise: bool = True, hold_core: bool = True,
                 resize: int = 0, resize_window: int = 50, recover: bool = True):
        if isinstance(elastic, str) and elastic != "auto":
            raise ValueError(f"elastic must be True, False or 'auto', got {elastic!r}")
        self.admission, self.shed_hopeless = bool(admission), bool(shed_hopeless)
        self.elastic_option = elastic if elastic == "auto" else bool(elastic)
        self.elastic = self.elastic_option is True
        self.headroom, self.window = bool(headroom), max(1, int(window))
        self.survivable = bool(survivable)
        self.localise = bool(localise)
        self.hold_core = bool(hold_core)  # read by the engine (Controller.hold_core)
        if int(resize) < 0 or int(resize_window) < 1:
            raise ValueError(f"resize must be >= 0 slots and resize_window >= 1, got {resize!r}, {resize_window!r}")
        self.resize, self.resize_window = int(resize), int(resize_window)
        self.recover = bool(recover)
        self.keep_alive = int(keep_alive)
        self.eps = None if eps is None else float(eps)
        self._plan = plan
        self.shed_admission = 0
        self.shed_hopeless_count = 0

    # ------------------------------------------------------------------ set-up
    def reset(self, ctx: RunContext) -> None:
        from ..placement.provision import provision

        sc = ctx.scenario
        self.sc = sc
        plan = self._plan
        if plan is None:
            plan = provision(sc, eps=self.eps, survivable=self.survivable)
            if not np.array_equal(np.asarray(plan.x), np.asarray(ctx.core_x)):
                plan = provision(sc, core_x=ctx.core_x, eps=self.eps)
        self.plan = plan
        if self.elastic_option == "auto":
            self.elastic = bool(plan.admit_share >= 1 - 1e-9)
        self.plan_light = np.asarray(plan.light_x, dtype=np.int64)
        self.base = self.plan_light
        self.core_x = np.asarray(ctx.core_x, dtype=np.int64)
        self.core_x0 = self.core_x
        self._core_target = None  # E32: core counts to move to (started as room allows)
        self.recoveries = []  # E32: one record per re-plan
        self._up_key = None
        self.extra_until = np.zeros_like(self.base)  # slot until which added instances are kept
        self.extra = np.zeros_like(self.base)
        self.y = np.full(self.base.shape, sc.control.y_max, dtype=np.int64)
        self.service = np.array([m.mean_service_ms for m in sc.microservices])
        self.work = np.array([m.work for m in sc.microservices])
        self.rate = np.array([m.mean_rate for m in sc.microservices])
        self.budget = np.nan_to_num(np.asarray(plan.budget, float), nan=0.0)
        self.plan_admit = np.asarray(plan.admit, float)
        self.p_admit = self.plan_admit
        self.credit = np.ones_like(self.p_admit)  # the first task of every admitted class gets in
        self.task_type = ctx.task_type
        self.task_user = ctx.task_user if ctx.task_user is not None else np.zeros(ctx.n_tasks, np.int64)
        self.task_slot = np.rint(ctx.task_arrival_ms / sc.slot_ms).astype(np.int64)
        self.task_due = ctx.task_arrival_ms + ctx.task_deadline_ms
        self.next_task = 0
        self.rem = remaining_service(sc)
        # stage index of each (type, MS): stages of one type use distinct MSs
        self.stage_of = np.full((sc.n_types, sc.n_ms), -1, dtype=np.int64)
        for n, tt in enumerate(sc.task_types):
            self.stage_of[n, list(tt.stages)] = np.arange(tt.n_stages)
        self.rem_ms = np.zeros((sc.n_types, sc.n_ms))
        for n in range(sc.n_types):
            ok = self.stage_of[n] >= 0
            self.rem_ms[n, ok] = self.rem[n][self.stage_of[n, ok]]
        self.free0 = sc.capacity - np.asarray(ctx.core_x) @ sc.demand
        self.core_ms = [int(m) for m in sc.core_ms]
        self.type_core = np.zeros((sc.n_types, sc.n_ms), dtype=np.int64)  # 1 where type n uses core MS m
        for n in range(sc.n_types):
            for m in self.core_ms:
                self.type_core[n, m] = int(sc.uses(n, m))
        self.recent = np.zeros((self.window, sc.n_ms), dtype=np.int64)
        self.tails = None
        if self.localise:  # E29: (type, stage, node) mean time from a stage's finish to its sink's, planned waits included
            from ..placement.provision import path_tails

            L = max(tt.n_stages for tt in sc.task_types)
            self.tails = np.full((sc.n_types, L, sc.n_nodes), np.inf)
            for n, tt in enumerate(sc.task_types):
                self.tails[n, :tt.n_stages] = path_tails(sc, n)
                for i in range(tt.n_stages):  # plus the waiting budgets the plan allows the stages below
                    c = tt.child[i]
                    while c >= 0:
                        self.tails[n, i] += self.budget[tt.stages[c]]
                        c = tt.child[c]
        self.localised = 0
        self.shed_admission = 0
        self.shed_hopeless_count = 0
        self.resizer = None
        if self.resize:  # E31
            from .resize import CoreResizer

            self.resizer = CoreResizer(sc, plan.rho, every=self.resize, window=self.resize_window)

    # ------------------------------------------------------------------ per slot
    def _admit(self, state: State) -> list[int]:
        """E25: admit this slot's arrivals at the planned rates, and beyond them while the core
        pools of the task's type have headroom (``headroom=True``); shed the rest."""
        t = state.t
        shed = []
        j = self.next_task
        J = len(self.task_slot)
        if j >= J or self.task_slot[j] > t:
            self._recent_roll(t)
            return shed
        pool = self._pool_view(state) if self.headroom else None
        while j < J and self.task_slot[j] <= t:
            u, n = self.task_user[j], self.task_type[j]
            p = self.p_admit[u, n]
            admit = True
            if p < 1.0 - 1e-6:
                self.credit[u, n] = min(self.credit[u, n] + p, 1.0 + p)
                if self.credit[u, n] >= 1.0 - 1e-9:
                    self.credit[u, n] -= 1.0
                elif not (p > 0 and pool is not None and self._has_headroom(n, pool, state.now)):
                    admit = False
            if admit:
                self.recent[t % self.window, self.type_core[n]] += 1
            else:
                shed.append(j)
            j += 1
        self.next_task = j
        self._recent_roll(t)
        return shed

    def _recent_roll(self, t: int) -> None:
        self.recent[(t + 1) % self.window] = 0  # the slot that leaves the window next

    def _pool_view(self, state: State):
        """Per core MS: sorted free times of its up instances and the stages queued ahead of a new task
        (waiting now, plus those admitted in the last ``window`` slots that have not arrived yet)."""
        core = state.core
        ahead = self.recent.sum(axis=0) + np.bincount(core.wait_ms, minlength=self.sc.n_ms)
        free = {}
        for m in self.core_ms:
            inst = (core.inst_ms == m) & core.inst_up
            free[m] = np.sort(np.maximum(core.inst_free_at[inst], state.now))
        return ahead, free

    def _has_headroom(self, n: int, pool, now: float) -> bool:
        """Whether a new task of type n would start every core stage within its budget (E26's predictor)."""
        ahead, free = pool
        for m in np.flatnonzero(self.type_core[n]).tolist():
            f = free[m]
            c = len(f)
            if c == 0:
                return False
            k = int(ahead[m])
            if f[k % c] + (k // c) * self.service[m] - now > self.budget[m]:
                return False
        for m in np.flatnonzero(self.type_core[n]).tolist():
            ahead[m] += 1
        return True

    def _hopeless(self, state: State) -> np.ndarray:
        """E26: tasks of waiting stages (light, and core by predicted start) that cannot be on time."""
        now = state.now
        out = []
        if state.n_waiting:
            tk = state.stage_task
            late = now + self.rem_ms[self.task_type[tk], state.stage_ms] > self.task_due[tk] + 1e-9
            if late.any():
                out.append(tk[late])
        core = state.core
        if len(core.wait_stage):
            ms = core.wait_ms
            tk = core.wait_task
            start = np.full(len(tk), np.inf)
            for m in np.unique(ms).tolist():
                sel = np.flatnonzero(ms == m)
                inst = (core.inst_ms == m) & core.inst_up
                c = int(inst.sum())
                if c == 0:
                    continue
                free = np.sort(np.maximum(core.inst_free_at[inst], now))
                k = np.arange(len(sel))
                start[sel] = free[k % c] + (k // c) * self.service[m]
            late = start + self.rem_ms[self.task_type[tk], ms] > self.task_due[tk] + 1e-9
            if late.any():
                out.append(tk[late])
        return np.unique(np.concatenate(out)) if out else np.empty(0, np.int64)

    def _on_failure(self, state: State) -> None:
        """E27 under failures: when the set of up nodes changes, re-home the light instances of the
        down nodes onto up nodes (a node already hosting the MS first, else the one with the most
        room) and re-solve the admitted rate per type: maximise Σ_n α'_n subject to α'_n ≤ α_n and
        a_m Σ_{n ∋ m} α'_n ≤ ρ_m f̄_m (surviving instances of m) for every core MS. With ``recover``,
        E32 replaces both: the re-plan of :func:`~edgefm.control.recover.recovery_plan`."""
        node_up = state.node_up
        key = tuple(node_up.tolist())
        if key == self._up_key:
            return
        self._up_key = key
        sc = self.sc
        if node_up.all():
            self.base, self.p_admit = self.plan_light, self.plan_admit
            if self.recoveries:  # back to the original core counts (added instances go as they fall idle)
                self._core_target = self.core_x0
            return
        if self.recover and self._recover(state):
            return
        base = np.where(node_up[:, None], self.plan_light, 0)
        lost = (self.plan_light - base).sum(axis=0)
        # room left on the up nodes by the core, the planned light pool and the elastic additions still up
        free = np.where(node_up[:, None], self.free0 - (base + self.extra) @ sc.demand, -np.inf)
        for m in np.flatnonzero(lost).tolist():
            for _ in range(int(lost[m])):
                fits = node_up & (free >= sc.demand[m] - 1e-12).all(axis=1)
                if not fits.any():
                    break
                room = (free / np.maximum(sc.capacity, 1e-9)).min(axis=1)
                v = int(np.argmax(np.where(fits, room + (base[:, m] > 0), -np.inf)))
                base[v, m] += 1
                free[v] -= sc.demand[m]
        self.base = base
        # the most tasks per type the surviving core pools serve at the planned utilisations (a small LP)
        from scipy.optimize import linprog

        alpha = self.plan.alpha.sum(axis=0)  # (N,)
        alive = np.where(node_up[:, None], self.core_x, 0).sum(axis=0)
        rows, rhs = [], []
        for m in self.core_ms:
            if self.type_core[:, m].any():
                rows.append(self.type_core[:, m] * self.work[m])
                rhs.append(self.plan.rho[m] * self.rate[m] * alive[m])
        res = linprog(-np.ones(sc.n_types), A_ub=np.array(rows, float), b_ub=np.array(rhs, float),
                      bounds=list(zip(np.zeros(sc.n_types), alpha)), method="highs")
        kept = res.x if res.status == 0 else np.zeros(sc.n_types)
        factor = np.where(alpha > 0, kept / np.where(alpha > 0, alpha, 1.0), 1.0)
        self.p_admit = self.plan_admit * np.clip(factor, 0.0, 1.0)[None, :]

    def _recover(self, state: State) -> bool:
        """E32: re-plan on the surviving nodes; False when the program has no plan (E27 then applies)."""
        import time

        from ..errors import EdgeFMError
        from .recover import recovery_plan

        t0 = time.perf_counter()
        alive, _ = self._core_counts(state)
        try:
            rp = recovery_plan(self.sc, alive, state.node_up, eps=self.eps)
        except EdgeFMError:
            return False
        up = state.node_up[:, None]
        self._core_target = np.where(up, np.asarray(rp.x, dtype=np.int64), alive)
        self.base = np.where(up, np.asarray(rp.light_x, dtype=np.int64), 0)
        self.p_admit = np.asarray(rp.admit, float)
        self.recoveries.append(dict(slot=int(state.t), seconds=time.perf_counter() - t0, status=rp.status,
                                    admit_share=float(rp.admit_share),
                                    added=int((self._core_target - alive).clip(min=0).sum())))
        return True

    def _core_counts(self, state: State) -> tuple[np.ndarray, np.ndarray]:
        """Core counts (V, M) of the instances alive now (those on down nodes included), and of those
        among them that are idle (the only ones the engine removes, :mod:`edgefm.sim.core_pool`)."""
        core = state.core
        alive = np.zeros_like(self.core_x)
        np.add.at(alive, (core.inst_node[core.inst_alive], core.inst_ms[core.inst_alive]), 1)
        ok = core.inst_alive & (core.inst_free_at <= state.now)
        idle = np.zeros_like(alive)
        np.add.at(idle, (core.inst_node[ok], core.inst_ms[ok]), 1)
        return alive, idle

    def _start_core(self, state: State):
        """E32: the core counts to ask for this slot (None when there is nothing to change)."""
        from .recover import staged_counts

        x, idle = self._core_counts(state)
        if np.array_equal(x, self._core_target):
            self._core_target = None
            return None
        new = staged_counts(self._core_target, x, state.free_capacity, self.sc.demand)
        # the engine removes idle instances only: a busy one stays (and holds its room) until a later slot
        after = np.where(new < x, np.maximum(new, x - idle), new)
        self.core_x = after
        self.free0 = self.sc.capacity - after @ self.sc.demand
        return None if np.array_equal(new, x) else new

    def _fit_light(self, counts: np.ndarray, busy: np.ndarray, node_up: np.ndarray) -> np.ndarray:
        """Light counts (in place) trimmed to the room the core leaves (E8): instances beyond the busy
        ones go, the largest first, on a node where a re-plan's core additions came first."""
        dem = self.sc.demand
        over = (counts @ dem - np.where(node_up[:, None], self.free0, 0.0) > 1e-9).any(axis=1)
        largest = np.argsort(-dem.sum(axis=1), kind="stable").tolist()
        for v in np.flatnonzero(over).tolist():
            for m in largest:
                while counts[v, m] > busy[v, m] and (counts[v] @ dem > self.free0[v] + 1e-9).any():
                    counts[v, m] -= 1
        return counts

    def _light_counts(self, state: State) -> np.ndarray:
        """E27: planned pool, busy instances, and elastic additions with keep-alive."""
        t = state.t
        up = state.node_up[:, None]
        counts = np.where(up, self.base, 0)
        keep = (self.extra_until > t) & up
        self.extra = np.where(keep, self.extra, 0)
        if self.elastic and state.n_waiting:
            waiting = np.bincount(state.stage_ms, minlength=self.sc.n_ms)
            backlog = np.zeros(self.sc.n_ms)
            np.add.at(backlog, state.inst_ms, state.inst_backlog)
            free = np.where(up, self.free0 - (counts + self.extra) @ self.sc.demand, 0.0)
            for m in np.flatnonzero(waiting).tolist():
                c = int((counts[:, m] + self.extra[:, m]).sum())
                # time to clear the light work of m at the mean rate, against its budget
                clear = (backlog[m] + waiting[m] * self.work[m]) / max(c * self.rate[m], 1e-12)
                if clear <= max(self.budget[m], self.sc.slot_ms):
                    continue
                fits = (free >= self.sc.demand[m] - 1e-12).all(axis=1)
                if (fits & (self.base[:, m] > 0)).any():  # a node of the planned pool first
                    fits &= self.base[:, m] > 0
                elif not fits.any():
                    continue
                # the node where the oldest waiting stage of m is ready first
                row = state.ready[np.flatnonzero(state.stage_ms == m)[0]]
                v = int(np.argmin(np.where(fits, row, np.inf)))
                self.extra[v, m] += 1
                free[v] -= self.sc.demand[m]
        busy_extra = state.busy_counts > counts
        self.extra_until = np.where(self.extra > 0, np.maximum(self.extra_until, t + self.keep_alive), 0)
        self.extra_until = np.where(busy_extra, t + self.keep_alive, self.extra_until)
        return np.maximum(counts + self.extra, state.busy_counts)

    def _localise(self, state: State, counts: np.ndarray, route: np.ndarray, gone) -> bool:
        """E29: add light instances (in ``counts``, in place) beside waiting stages whose task misses its
        deadline from the node they are routed to (or would wait a slot for) but not from a node with
        room. The task's finish from stage s on node v is taken as ready_{s,v} + service + tail_{s,v}
        (mean transfers and services below on their best nodes, plus the waiting budgets w_m the plan
        allows them). Returns whether an instance was added."""
        sc = self.sc
        ms, tk = state.stage_ms, state.stage_task
        n = self.task_type[tk]
        i = self.stage_of[n, ms]
        due = self.task_due[tk]
        svc = self.service[ms]
        S = len(ms)
        rs = np.flatnonzero(route >= 0)
        at_pool = np.empty(S)
        v = route[rs]
        at_pool[rs] = state.ready[rs, v] + svc[rs] + self.tails[n[rs], i[rs], v]
        ws = np.flatnonzero(route < 0)  # no room this slot: the best hosting node one slot later
        for m in np.unique(ms[ws]).tolist():
            w = ws[ms[ws] == m]
            hosts = np.flatnonzero(counts[:, m] > 0)
            if not len(hosts):
                at_pool[w] = np.inf
                continue
            f = state.ready[w[:, None], hosts] + self.tails[n[w][:, None], i[w][:, None], hosts]
            at_pool[w] = f.min(axis=1) + svc[w] + sc.slot_ms
        late = at_pool > due + 1e-9
        if gone is not None:
            late &= ~gone
        if not late.any():
            return False
        ls = np.flatnonzero(late)
        fin = state.ready[ls] + (svc[ls][:, None] + self.tails[n[ls], i[ls]])  # (L, V) bound on every node
        up = state.node_up
        free = np.where(up[:, None], self.free0 - counts @ sc.demand, 0.0)
        spare = np.zeros_like(counts)  # admission room left on the instances added this slot
        added = False
        for k, s in enumerate(ls.tolist()):
            m = int(ms[s])
            room = ((free >= sc.demand[m] - 1e-12).all(axis=1) & up) | (spare[:, m] > 0)
            cand = np.where(room, fin[k], np.inf)
            v = int(np.argmin(cand))
            if cand[v] > due[s] + 1e-9:  # no node with room saves this task (inf included)
                continue
            if spare[v, m] > 0:
                spare[v, m] -= 1
                continue
            counts[v, m] += 1
            self.extra[v, m] += 1
            self.extra_until[v, m] = state.t + self.keep_alive
            free[v] -= sc.demand[m]
            spare[v, m] = int(self.y[v, m]) - 1
            self.localised += 1
            added = True
        return added

    def decide(self, state: State) -> Decision:
        self._on_failure(state)
        core = self._start_core(state) if self._core_target is not None else None
        shed = []
        if self.admission:
            a = self._admit(state)
            self.shed_admission += len(a)
            shed.extend(a)
        if self.shed_hopeless:
            h = self._hopeless(state)
            self.shed_hopeless_count += len(h)
            shed.extend(h.tolist())
        counts = self._light_counts(state)
        if self.recoveries:
            counts = self._fit_light(counts, state.busy_counts, state.node_up)
        gone = np.isin(state.stage_task, np.array(shed, dtype=np.int64)) if shed else None
        route = route_earliest_finish(state, self.sc, counts, self.y, self.service, gone)
        if self.localise and state.n_waiting and self._localise(state, counts, route, gone):
            route = route_earliest_finish(state, self.sc, counts, self.y, self.service, gone)
        if self.resizer is not None:
            sized = self._resize(state, counts)  # observes every slot's arrivals
            core = sized if core is None else core
        return Decision(light_counts=counts, parallelism=self.y, route=route,
                        shed=np.array(shed, dtype=np.int64) if shed else None, core_counts=core)

    def _resize(self, state: State, counts: np.ndarray):
        """E31: the core counts to move to this slot, or None (:class:`~edgefm.control.resize.CoreResizer`)."""
        t = state.t
        lo, hi = np.searchsorted(self.task_slot, [t, t + 1])
        self.resizer.observe(t, self.task_type[lo:hi])
        if not self.elastic or not state.node_up.all():
            return None
        x, idle = self._core_counts(state)
        target = self.resizer.target(t, x.sum(axis=0))
        if target is None:
            return None
        free = self.sc.capacity - (x + counts) @ self.sc.demand
        new = self.resizer.place(x, target, free, idle, state.node_up)
        if np.array_equal(new, x):
            return None
        self.core_x = new
        self.free0 = self.sc.capacity - new @ self.sc.demand
        return new
