"""Compiled kernels of the baseline controllers (numba, ``cache=True``): ``static``'s earliest-finish
routing, ``hpa``'s recommendation and E8 fit, ``lbrr``'s keep / scale / round-robin steps.

Each kernel is a controller's former per-stage Python loop, kept operation for
operation so that decisions are bit-identical (``tests/test_goldens.py``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels_route import group_by_ms

__all__ = ["earliest_finish", "hpa_recommend", "hpa_fit", "lbrr_keep", "lbrr_scale"]


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
    # stages grouped by MS, each group in state order (counting sort)
    cnt, byms = group_by_ms(stage_ms, M)
    hosts = np.empty(V, dtype=np.int64)
    free = np.empty(V)
    speed = np.empty(V)
    bl = np.empty(V)
    for m in range(M):
        if cnt[m + 1] == cnt[m]:
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
        for q in range(cnt[m], cnt[m + 1]):
            r = byms[q]
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


@njit(cache=True)
def hpa_recommend(inst_node, inst_ms, inst_backlog, cur, free_cap, dem, stage_ms, ready, up, busy, work_ms, per,
                  target, tol, light, hist, pos, n_valid):
    """HPA's counts before the E8 check (:meth:`edgefm.control.hpa.HPAController.decide`).

    Offered work per (node, MS) (backlog + each waiting stage on its earliest
    hosting node, or a node that fits it), Kubernetes' desired count with its
    tolerance band, scale-from-zero, and the scale-down stabilisation window:
    ``hist`` is a ring of the last recommendations; this slot's is written to
    row ``pos`` and the peak is taken over the ``n_valid`` rows in use (this
    one included; the order of rows does not matter for a maximum). Returns
    the stabilised counts, at least the busy ones.
    """
    V, M = cur.shape
    K = dem.shape[1]
    work = np.zeros((V, M))
    for i in range(len(inst_node)):
        work[inst_node[i], inst_ms[i]] += inst_backlog[i]
    fits = np.zeros((V, M), dtype=np.bool_)
    for v in range(V):
        for m in range(M):
            ok = True
            for k in range(K):
                if not (free_cap[v, k] >= dem[m, k] - 1e-12):
                    ok = False
                    break
            fits[v, m] = ok
    # candidate nodes of a stage depend on its MS only: up hosts, else up hosts or nodes that fit it
    cand = np.empty((M, V), dtype=np.int64)
    ncand = np.zeros(M, dtype=np.int64)
    for m in range(M):
        for v in range(V):
            if cur[v, m] > 0 and up[v]:
                cand[m, ncand[m]] = v
                ncand[m] += 1
        if ncand[m] == 0:
            for v in range(V):
                if (fits[v, m] or cur[v, m] > 0) and up[v]:
                    cand[m, ncand[m]] = v
                    ncand[m] += 1
    for s in range(len(stage_ms)):
        m = stage_ms[s]
        if ncand[m] == 0:
            continue
        best = np.inf
        bv = 0  # argmin of a row of inf
        for c in range(ncand[m]):
            v = cand[m, c]
            if ready[s, v] < best:
                best = ready[s, v]
                bv = v
        work[bv, m] += work_ms[m]
    want = np.zeros((V, M), dtype=np.int64)
    for v in range(V):
        for m in range(M):
            c = cur[v, m]
            if c > 0:
                u = work[v, m] / (max(c, 1) * per[m])
            else:
                u = 0.0
            ratio = u / target
            if abs(ratio - 1.0) <= tol:
                wv = c
            else:
                wv = np.int64(np.ceil(c * ratio - 1e-9))
            if c == 0 and work[v, m] > 0:
                wv = max(1, np.int64(np.ceil(work[v, m] / (per[m] * target) - 1e-9)))
            if not (light[m] and up[v]):
                wv = 0
            want[v, m] = wv
    hist[pos] = want
    x = np.empty((V, M), dtype=np.int64)
    for v in range(V):
        for m in range(M):
            d = want[v, m]
            if d >= cur[v, m]:
                xv = d
            else:
                peak = d
                for h in range(n_valid):
                    if hist[h, v, m] > peak:
                        peak = hist[h, v, m]
                xv = min(cur[v, m], peak)
            x[v, m] = max(xv, busy[v, m])
    return x


@njit(cache=True)
def hpa_fit(x, cur, free, dem):
    """Scale down first, then add up-scaled replicas one by one while they fit (E8); ``free`` is updated."""
    V, M = x.shape
    K = dem.shape[1]
    out = np.minimum(x, cur)
    for v in range(V):
        for m in range(M):
            if not x[v, m] > cur[v, m]:
                continue
            d = x[v, m] - cur[v, m]
            anypos = False
            mn = np.inf
            for k in range(K):
                if dem[m, k] > 0:
                    anypos = True
                    q = (free[v, k] + 1e-12) / dem[m, k]
                    if q < mn:
                        mn = q
            room = np.int64(np.floor(mn)) if anypos else d
            kk = max(0, min(d, room))
            out[v, m] += kk
            for k in range(K):
                free[v, k] -= kk * dem[m, k]
    return out


@njit(cache=True)
def lbrr_keep(inst_node, inst_ms, inst_jobs, stage_ms, busy, prev, y):
    """LBRR's first step: jobs per (node, MS), waiting stages per MS, and the busy
    instances plus idle ones up to each waiting MS's need ⌈(admitted + waiting) / y⌉."""
    V, M = busy.shape
    jobs = np.zeros((V, M), dtype=np.int64)
    for i in range(len(inst_node)):
        jobs[inst_node[i], inst_ms[i]] += inst_jobs[i]
    waiting = np.zeros(M, dtype=np.int64)
    for s in range(len(stage_ms)):
        waiting[stage_ms[s]] += 1
    x = busy.copy()
    for m in range(M):
        if waiting[m] == 0:
            continue
        tot = 0
        have = 0
        for v in range(V):
            tot += jobs[v, m]
            have += x[v, m]
        need = np.int64(np.ceil((tot + waiting[m]) / y))
        extra = max(0, need - have)
        for v in range(V):
            idle = prev[v, m] - busy[v, m]
            if idle != 0:
                k = min(extra, idle)
                x[v, m] += k
                extra -= k
    return x, jobs, waiting


@njit(cache=True)
def lbrr_scale(x, jobs, waiting, used, free, cap, dem, up, y, stage_ms, pointer):
    """LBRR's scaling (least mean utilisation node that fits, until the free
    admission slots cover the waiting stages) and round-robin routing; ``x``,
    ``used``, ``free`` and the per-MS ``pointer`` are updated in place. Returns the route."""
    V, M = x.shape
    K = cap.shape[1]
    for m in range(M):
        if waiting[m] == 0:
            continue
        while True:
            slots = 0
            for v in range(V):
                r = x[v, m] * y - jobs[v, m]
                if r > 0:
                    slots += r
            if slots >= waiting[m]:
                break
            best = np.inf
            bv = -1
            anyfit = False
            for v in range(V):
                fit = up[v]
                if fit:
                    for k in range(K):
                        if not (free[v, k] >= dem[m, k] - 1e-12):
                            fit = False
                            break
                if not fit:
                    continue
                if not anyfit:
                    anyfit = True
                s = 0.0
                for k in range(K):
                    s += used[v, k] / cap[v, k] if cap[v, k] > 0 else 1.0
                u = s / K
                if u < best or bv < 0 and u == best:
                    best = u
                    bv = v
            if not anyfit:
                break
            if bv < 0:  # every fitting node has an undefined utilisation: argmin of all inf is node 0
                bv = 0
            x[bv, m] += 1
            for k in range(K):
                used[bv, k] += dem[m, k]
                free[bv, k] -= dem[m, k]
    # round robin over the hosting nodes (index order) with admission room
    room = x * y - jobs
    route = np.full(len(stage_ms), -1, dtype=np.int64)
    hosts = np.empty(V, dtype=np.int64)
    for i in range(len(stage_ms)):
        m = stage_ms[i]
        n = 0
        for v in range(V):
            if x[v, m] != 0:
                hosts[n] = v
                n += 1
        p = pointer[m]
        for step in range(n):
            v = hosts[(p + step) % n]
            if room[v, m] > 0:
                route[i] = v
                room[v, m] -= 1
                pointer[m] = (p + step + 1) % n
                break
    return route
