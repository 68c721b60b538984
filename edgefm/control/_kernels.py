"""Compiled inner loops of the controllers (numba, ``cache=True``).

Each kernel is a controller's former per-stage Python loop, kept operation for
operation so that decisions are bit-identical (``tests/test_goldens.py``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["earliest_finish"]


@njit(cache=True)
def earliest_finish(stage_ms, ready, counts, room, inst_node, inst_ms, inst_jobs, inst_backlog, mean_rate, work,
                    service_ms, now):
    """Route each waiting stage to the hosting node where it is expected to finish first.

    See :func:`edgefm.control.static.route_earliest_finish`; per MS, stages in
    order, each to the host with the smallest max(ready, now + backlog /
    (mean rate × instances)) + service time among those with admission room.
    """
    V, M = counts.shape
    S = len(stage_ms)
    route = np.full(S, -1, dtype=np.int64)
    jobs = np.zeros((V, M))
    backlog = np.zeros((V, M))
    for i in range(len(inst_node)):
        jobs[inst_node[i], inst_ms[i]] += inst_jobs[i]
        backlog[inst_node[i], inst_ms[i]] += inst_backlog[i]
    present = np.zeros(M, dtype=np.bool_)
    for r in range(S):
        present[stage_ms[r]] = True
    hosts = np.empty(V, dtype=np.int64)
    free = np.empty(V)
    speed = np.empty(V)
    bl = np.empty(V)
    for m in range(M):
        if not present[m]:
            continue
        nh = 0
        for v in range(V):
            if counts[v, m] > 0:
                hosts[nh] = v
                nh += 1
        if nh == 0:
            continue
        tot = 0.0
        for k in range(nh):
            v = hosts[k]
            free[k] = room[v, m] - jobs[v, m]
            if free[k] > 0:
                tot += free[k]
            speed[k] = mean_rate[m] * counts[v, m]
            bl[k] = backlog[v, m]
        left = max(0, int(tot))  # each routed stage takes one free place
        svc, a = service_ms[m], work[m]
        for r in range(S):
            if stage_ms[r] != m:
                continue
            if left == 0:
                break
            left -= 1
            best = -1
            bfin = np.inf
            for k in range(nh):
                if free[k] <= 0:
                    continue
                wait = now + bl[k] / speed[k]
                rk = ready[r, hosts[k]]
                f = (rk if rk > wait else wait) + svc
                if f < bfin:
                    best = k
                    bfin = f
            if best < 0:
                break
            route[r] = hosts[best]
            free[best] -= 1
            bl[best] += a
    return route
