"""``lbrr``: load-balanced light scaling with round-robin routing (docs/model.md §7).

Each slot, for every light MS m with waiting stages: keep its busy instances
(and idle ones up to the ⌈(admitted + waiting) / y⌉ the MS needs), then add
instances one at a time on the up node of least mean utilisation that fits
them (E8) until the free admission slots Σ_v (x_{v,m} y − jobs_{v,m}) cover
the waiting stages. Idle instances of MSs with nothing waiting are torn down.
Routing is round-robin: a pointer per MS cycles over its hosting nodes (in
index order) and each waiting stage, oldest first, goes to the next host with
admission room.
"""
from __future__ import annotations

import math

import numpy as np

from ._kernels_baselines import lbrr_keep, lbrr_scale
from .base import Decision, RunContext, State

__all__ = ["LBRRController", "round_robin", "least_utilised"]


def least_utilised(used: np.ndarray, capacity: np.ndarray, fits: np.ndarray) -> int:
    """Index of the node with the smallest mean utilisation Σ_k used/cap / K among
    ``fits`` (ties → lowest index); −1 if none fits."""
    if not fits.any():
        return -1
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(capacity > 0, used / capacity, 1.0).mean(axis=1)
    return int(np.argmin(np.where(fits, u, np.inf)))


def round_robin(stage_ms, hosts: dict, room: dict, pointer: dict) -> np.ndarray:
    """Round-robin routing.

    Parameters
    ----------
    stage_ms : (S,) MS of each waiting stage, in the order they are routed.
    hosts : dict m -> list of hosting nodes (cycle order).
    room : dict (v, m) -> free admission slots; decremented in place.
    pointer : dict m -> position in ``hosts[m]`` of the next node to try; advanced in place.

    Returns the (S,) route (−1 where no host has room).
    """
    route = np.full(len(stage_ms), -1, dtype=np.int64)
    for i, m in enumerate(np.asarray(stage_ms).tolist()):
        hs = hosts.get(m, [])
        n = len(hs)
        p = pointer.get(m, 0)
        for step in range(n):
            v = hs[(p + step) % n]
            if room.get((v, m), 0) > 0:
                route[i] = v
                room[(v, m)] -= 1
                pointer[m] = (p + step + 1) % n
                break
    return route


class LBRRController:
    """Least-utilised scaling + round-robin routing (the LBRR baseline)."""

    name = "lbrr"

    def __init__(self, y_max: int | None = None):
        self._y = y_max

    def reset(self, ctx: RunContext) -> None:
        sc = ctx.scenario
        self.sc = sc
        self.y = int(sc.control.y_max if self._y is None else self._y)
        self.pointer: dict = {}  # the reference's round-robin pointers
        self._ptr = np.zeros(sc.n_ms, dtype=np.int64)  # the kernel's
        self._cap = np.ascontiguousarray(sc.capacity, dtype=float)
        self._dem = np.ascontiguousarray(sc.demand, dtype=float)

    def decide(self, state: State) -> Decision:
        """Scale and route by the compiled kernels (bit-identical to :meth:`decide_reference`)."""
        sc, y = self.sc, self.y
        up = np.asarray(state.node_up, dtype=bool)
        ms = np.asarray(state.stage_ms, dtype=np.int64)
        prev = np.ascontiguousarray(state.light_counts, dtype=np.int64)
        x, jobs, waiting = lbrr_keep(np.asarray(state.inst_node, dtype=np.int64),
                                     np.asarray(state.inst_ms, dtype=np.int64),
                                     np.asarray(state.inst_jobs, dtype=np.int64), ms,
                                     np.ascontiguousarray(state.busy_counts, dtype=np.int64), prev, y)
        used = sc.capacity - np.where(up[:, None], state.free_capacity + (prev - x) @ sc.demand, 0.0)
        free = np.where(up[:, None], sc.capacity - used, 0.0)
        route = lbrr_scale(x, jobs, waiting, np.ascontiguousarray(used, dtype=float),
                           np.ascontiguousarray(free, dtype=float), self._cap, self._dem, up, y, ms, self._ptr)
        return Decision(light_counts=x, parallelism=y, route=route)

    def decide_reference(self, state: State) -> Decision:
        """:meth:`decide` in plain numpy and Python (uses ``pointer``)."""
        sc, y = self.sc, self.y
        V, M = sc.n_nodes, sc.n_ms
        dem = sc.demand
        jobs = np.zeros((V, M), dtype=np.int64)
        np.add.at(jobs, (state.inst_node, state.inst_ms), state.inst_jobs)
        busy = np.asarray(state.busy_counts, dtype=np.int64)
        prev = np.asarray(state.light_counts, dtype=np.int64)
        waiting = np.bincount(np.asarray(state.stage_ms, dtype=np.int64), minlength=M)
        x = busy.copy()
        # keep idle instances up to the need of each MS with waiting stages
        for m in np.flatnonzero(waiting).tolist():
            need = math.ceil((jobs[:, m].sum() + waiting[m]) / y)
            extra = max(0, need - x[:, m].sum())
            idle = prev[:, m] - busy[:, m]
            for v in np.flatnonzero(idle).tolist():
                k = min(extra, int(idle[v]))
                x[v, m] += k
                extra -= k
        used = sc.capacity - np.where(state.node_up[:, None], state.free_capacity + (prev - x) @ dem, 0.0)
        free = np.where(state.node_up[:, None], sc.capacity - used, 0.0)
        for m in np.flatnonzero(waiting).tolist():
            while (x[:, m] * y - jobs[:, m]).clip(0).sum() < waiting[m]:
                v = least_utilised(used, sc.capacity, state.node_up & (free >= dem[m] - 1e-12).all(axis=1))
                if v < 0:
                    break
                x[v, m] += 1
                used[v] += dem[m]
                free[v] -= dem[m]
        hosts = {m: np.flatnonzero(x[:, m]).tolist() for m in np.flatnonzero(waiting).tolist()}
        room = {(v, m): int(x[v, m] * y - jobs[v, m]) for m, hs in hosts.items() for v in hs}
        route = round_robin(state.stage_ms, hosts, room, self.pointer)
        return Decision(light_counts=x, parallelism=y, route=route)
