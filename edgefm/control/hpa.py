"""``hpa``: the Kubernetes Horizontal Pod Autoscaler rule per light MS and node.

Per (node v, light MS m) and slot (docs/model.md §7 [beyond]):

- utilisation u = offered work / service capacity of the current replicas in one
  slot, ``(backlog_{v,m} + a_m · waiting_{v,m}) / (x_{v,m} · k_m β_m · Δ)``,
  where each waiting stage counts at the node where its data are ready first
  among the nodes hosting m (or, if none does, among the up nodes where m fits);
- desired = ⌈x · u / target⌉ (Kubernetes' ``desiredReplicas = ceil(current ·
  currentMetric / target)``), unchanged while |u/target − 1| ≤ tolerance (0.1,
  the Kubernetes default); with no replica and some demand it is
  max(1, ⌈demand / (k β Δ · target)⌉) (min one replica where demand exists);
- stabilisation: scale-up is immediate; scale-down applies the *largest*
  recommendation of the last ``hpa_window`` slots (Kubernetes'
  ``stabilizationWindowSeconds`` for scale-down).

Replicas that do not fit (E8) are not added. Routing: earliest expected finish
(:func:`~edgefm.control.static.route_earliest_finish`).
"""
from __future__ import annotations

from collections import deque

import numpy as np

from ._kernels_baselines import hpa_fit, hpa_recommend
from .base import Decision, RunContext, State
from .static import route_earliest_finish

__all__ = ["HPAController", "hpa_desired", "Stabilizer"]


def hpa_desired(current, utilisation, target: float, tolerance: float = 0.1) -> np.ndarray:
    """Kubernetes' ``ceil(current · utilisation / target)`` with its tolerance band.

    Examples
    --------
    >>> hpa_desired([2, 4, 3], [0.9, 0.3, 0.62], 0.6).tolist()
    [3, 2, 3]
    """
    cur = np.asarray(current, dtype=np.int64)
    u = np.asarray(utilisation, dtype=float)
    ratio = u / target
    want = np.ceil(cur * ratio - 1e-9).astype(np.int64)
    return np.where(np.abs(ratio - 1.0) <= tolerance, cur, want)


class Stabilizer:
    """Scale-down stabilisation window: the applied count is the recommendation
    if it scales up, else the max recommendation of the last ``window`` slots
    (including this one), never above the current count."""

    def __init__(self, window: int):
        self.window = max(1, int(window))
        self.hist: deque = deque(maxlen=self.window)

    def apply(self, desired, current) -> np.ndarray:
        desired = np.asarray(desired, dtype=np.int64)
        current = np.asarray(current, dtype=np.int64)
        self.hist.append(desired.copy())
        peak = np.max(np.stack(self.hist), axis=0)
        return np.where(desired >= current, desired, np.minimum(current, peak))


class HPAController:
    """Kubernetes HPA per light MS and node (see module docstring)."""

    name = "hpa"

    def __init__(self, target: float | None = None, window: int | None = None, tolerance: float = 0.1,
                 y_max: int | None = None):
        self._target, self._window, self.tolerance, self._y = target, window, tolerance, y_max

    def reset(self, ctx: RunContext) -> None:
        sc = ctx.scenario
        c = sc.control
        self.sc = sc
        self.target = float(c.hpa_target if self._target is None else self._target)
        self.y = int(c.y_max if self._y is None else self._y)
        self.stab = Stabilizer(c.hpa_window if self._window is None else self._window)
        self.rate = np.array([m.mean_rate for m in sc.microservices])
        self.work = np.array([m.work for m in sc.microservices])
        self.service = np.array([m.mean_service_ms for m in sc.microservices])
        self.light = ~sc.is_core
        # the stabiliser's history as a ring of the last ``window`` recommendations
        self._hist = np.zeros((self.stab.window, sc.n_nodes, sc.n_ms), dtype=np.int64)
        self._pos = 0
        self._n_valid = 0
        self._per = np.ascontiguousarray(self.rate * sc.slot_ms, dtype=float)
        self._dem = np.ascontiguousarray(sc.demand, dtype=float)

    def demand(self, state: State) -> np.ndarray:
        """Offered work (MB) per (node, MS) this slot: backlog + attributed waiting stages."""
        sc = self.sc
        V, M = sc.n_nodes, sc.n_ms
        work = np.zeros((V, M))
        np.add.at(work, (state.inst_node, state.inst_ms), state.inst_backlog)
        host = np.asarray(state.light_counts) > 0
        fits = np.stack([(state.free_capacity >= sc.demand[m] - 1e-12).all(axis=1) for m in range(M)], axis=1)
        ms = np.asarray(state.stage_ms, dtype=np.int64)
        if len(ms):
            ok = host[:, ms].T & state.node_up[None, :]  # (S, V)
            none = ~ok.any(axis=1)
            if none.any():
                ok[none] = ((fits | host)[:, ms[none]].T & state.node_up[None, :])
            valid = ok.any(axis=1)
            v = np.argmin(np.where(ok, state.ready, np.inf), axis=1)
            np.add.at(work, (v[valid], ms[valid]), self.work[ms[valid]])
        return work

    def decide(self, state: State) -> Decision:
        """Recommend, stabilise and fit the counts (compiled kernels), then route by earliest finish."""
        sc = self.sc
        up = np.asarray(state.node_up, dtype=bool)
        cur = np.ascontiguousarray(state.light_counts, dtype=np.int64)
        x = hpa_recommend(np.asarray(state.inst_node, dtype=np.int64), np.asarray(state.inst_ms, dtype=np.int64),
                          np.asarray(state.inst_backlog, dtype=float), cur,
                          np.ascontiguousarray(state.free_capacity, dtype=float), self._dem,
                          np.asarray(state.stage_ms, dtype=np.int64), np.ascontiguousarray(state.ready, dtype=float),
                          up, np.ascontiguousarray(state.busy_counts, dtype=np.int64), self.work, self._per,
                          self.target, self.tolerance, self.light, self._hist, self._pos,
                          min(self._n_valid + 1, len(self._hist)))
        self._n_valid = min(self._n_valid + 1, len(self._hist))
        self._pos = (self._pos + 1) % len(self._hist)
        free = np.where(up[:, None], state.free_capacity + np.maximum(0, cur - x) @ sc.demand, 0.0)
        out = hpa_fit(x, cur, np.ascontiguousarray(free, dtype=float), self._dem)
        route = route_earliest_finish(state, sc, out, self.y, self.service)
        return Decision(light_counts=out, parallelism=self.y, route=route)

    def decide_reference(self, state: State) -> Decision:
        """:meth:`decide` in plain numpy (the reference the kernels reproduce bit for bit; uses ``stab``)."""
        sc = self.sc
        cur = np.asarray(state.light_counts, dtype=np.int64)
        work = self.demand(state)
        per = self.rate[None, :] * sc.slot_ms
        with np.errstate(divide="ignore", invalid="ignore"):
            util = np.where(cur > 0, work / (np.maximum(cur, 1) * per), 0.0)
        want = hpa_desired(cur, util, self.target, self.tolerance)
        fresh = (cur == 0) & (work > 0)
        want = np.where(fresh, np.maximum(1, np.ceil(work / (per * self.target) - 1e-9)).astype(np.int64), want)
        want = np.where(self.light[None, :] & state.node_up[:, None], want, 0)
        x = self.stab.apply(want, cur)
        x = np.maximum(x, state.busy_counts)
        # E8: scale down first, then add up-scaled replicas while they fit
        free = np.where(state.node_up[:, None], state.free_capacity + np.maximum(0, cur - x) @ sc.demand, 0.0)
        out = np.minimum(x, cur)
        for v, m in zip(*np.nonzero(x > cur)):
            d = sc.demand[m]
            pos = d > 0
            room = int(np.floor(np.min((free[v][pos] + 1e-12) / d[pos]))) if pos.any() else int(x[v, m] - cur[v, m])
            k = max(0, min(int(x[v, m] - cur[v, m]), room))  # replicas added one by one while they fit
            out[v, m] += k
            free[v] -= k * d
        y = np.full(out.shape, self.y, dtype=np.int64)
        route = route_earliest_finish(state, sc, out, y, self.service)
        return Decision(light_counts=out, parallelism=self.y, route=route)
