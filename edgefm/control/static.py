"""``static``: fixed light provisioning sized from mean rates (a sanity floor).

Each light MS m gets n_m = max(1, ⌈Σ_{(u,n)∋m} λ_{u,n} a_m / (k_m β_m ρ_target)⌉)
instances once, spread over the nodes with the most free resources, with the
maximum parallelism; they are never scaled. Each waiting stage goes to the
hosting node where it is expected to finish first (data-ready time, queued work
at the mean rate). It is also the trivial controller of the speed benchmark.
"""
from __future__ import annotations

import numpy as np

from ._kernels_baselines import earliest_finish
from .base import Decision, RunContext, State

__all__ = ["StaticController", "mean_light_load", "spread_instances", "route_earliest_finish"]


def mean_light_load(scenario) -> np.ndarray:
    """Offered work rate per MS, Σ_{(u,n)∋m} λ_{u,n} a_m (MB/ms), shape (M,)."""
    lam = scenario.arrival_rates.sum(axis=0)  # (N,)
    out = np.zeros(scenario.n_ms)
    for n, tt in enumerate(scenario.task_types):
        for m in tt.stages:
            out[m] += lam[n] * scenario.microservices[m].work
    return out


def spread_instances(scenario, need: np.ndarray, free: np.ndarray, nodes=None) -> np.ndarray:
    """Place ``need[m]`` instances of each MS one at a time on the node with the
    most free capacity (normalised) that fits them. Returns (V, M) counts.
    Instances that fit nowhere are dropped."""
    free = free.copy()
    x = np.zeros((scenario.n_nodes, scenario.n_ms), dtype=np.int64)
    dem = scenario.demand
    scale = np.maximum(scenario.capacity.max(axis=0), 1e-9)
    allowed = np.ones(scenario.n_nodes, bool) if nodes is None else np.isin(np.arange(scenario.n_nodes), nodes)
    for m in np.argsort(-need, kind="stable"):
        for _ in range(int(need[m])):
            fits = allowed & (free >= dem[m] - 1e-12).all(axis=1)
            if not fits.any():
                break
            score = np.where(fits, (free / scale).min(axis=1) - 0.01 * x[:, m], -np.inf)
            v = int(np.argmax(score))
            x[v, m] += 1
            free[v] -= dem[m]
    return x


def route_earliest_finish(state: State, scenario, counts: np.ndarray, y: np.ndarray,
                          service_ms: np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """Route each waiting stage to the hosting node where it would finish first.

    The expected finish at node v is max(data-ready, now + queued work / (mean
    rate × instances)) + service time; admission room (``y`` per instance) is
    respected and updated as stages are placed, oldest first. Stages marked in
    ``skip`` (bool, one per waiting stage) are left out: they take no room and
    stay −1. Returns the route vector of a :class:`Decision` (−1 = wait).
    """
    if state.n_waiting == 0:
        return np.full(0, -1, dtype=np.int64)
    if skip is not None and skip.any():
        keep = np.flatnonzero(~skip)
        route = np.full(state.n_waiting, -1, dtype=np.int64)
        if len(keep):
            route[keep] = _route(state, scenario, counts, y, service_ms, state.stage_ms[keep], state.ready[keep])
        return route
    return _route(state, scenario, counts, y, service_ms, state.stage_ms, state.ready)


def _route(state, scenario, counts, y, service_ms, stage_ms, ready):
    room = counts * (y if np.isscalar(y) else np.broadcast_to(y, counts.shape))
    rate, work = _ms_arrays(scenario)
    return earliest_finish(np.ascontiguousarray(stage_ms, dtype=np.int64), np.ascontiguousarray(ready),
                           np.ascontiguousarray(counts, dtype=np.int64), np.ascontiguousarray(room, dtype=float),
                           np.asarray(state.inst_node, dtype=np.int64), np.asarray(state.inst_ms, dtype=np.int64),
                           np.asarray(state.inst_jobs, dtype=np.int64), np.asarray(state.inst_backlog, dtype=float),
                           rate, work, np.asarray(service_ms, dtype=float), float(state.now))


_MS_ARRAYS: dict = {}


def _ms_arrays(scenario):
    """Mean service rate and work of every MS (constant per scenario; cached by identity,
    since hashing a whole scenario costs more than the routing)."""
    hit = _MS_ARRAYS.get(id(scenario))
    if hit is None or hit[0] is not scenario:
        if len(_MS_ARRAYS) > 32:
            _MS_ARRAYS.clear()
        hit = _MS_ARRAYS[id(scenario)] = (scenario, np.array([ms.mean_rate for ms in scenario.microservices], dtype=float),
                                          np.array([ms.work for ms in scenario.microservices], dtype=float))
    return hit[1], hit[2]


class StaticController:
    """Fixed light instances sized from mean rates; earliest-finish routing.

    Parameters
    ----------
    utilisation : float
        Target mean utilisation ρ_target of each light instance.
    """

    name = "static"

    def __init__(self, utilisation: float = 0.7):
        self.utilisation = utilisation

    def reset(self, ctx: RunContext) -> None:
        sc = ctx.scenario
        self.sc = sc
        light = ~sc.is_core
        mean = np.array([m.mean_rate for m in sc.microservices])
        need = np.where(light, np.maximum(1, np.ceil(mean_light_load(sc) / (mean * self.utilisation))), 0)
        free = sc.capacity - ctx.core_x @ sc.demand
        self.counts = spread_instances(sc, need.astype(int), free)
        self.y = np.full(self.counts.shape, sc.control.y_max, dtype=np.int64)
        self.service = np.array([m.mean_service_ms for m in sc.microservices])

    def decide(self, state: State) -> Decision:
        counts = np.where(state.node_up[:, None], np.maximum(self.counts, 0), 0)
        counts = np.maximum(counts, state.busy_counts)
        route = route_earliest_finish(state, self.sc, counts, self.y, self.service)
        return Decision(light_counts=counts, parallelism=self.y, route=route)
