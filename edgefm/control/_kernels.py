"""Compiled inner loops of the controllers (numba, ``cache=True``).

Each kernel is a controller's former per-stage Python loop, kept operation for
operation so that decisions are bit-identical (``tests/test_goldens.py``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["earliest_finish", "greedy_slot"]


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


@njit(cache=True)
def _route(R, w, pen, gv, nlev, ov, orow, norow, start, k0, obj0, want, nodes, ks, dh):
    """Greedy routing of one MS (:func:`edgefm.control.proposed.route_levels`).

    ``gv[v, :nlev[v]]`` are node v's g values in level order; node ``ov`` (if
    ≥ 0) uses ``orow[:norow]`` instead. Stages ``start``… resume with counts
    ``k0`` and running objective ``obj0``. With ``want`` the node, level slot
    and d̂ of each stage are written to ``nodes``, ``ks``, ``dh``.
    """
    S, V = R.shape
    k = k0.copy()
    cur = np.empty(V)
    host = np.zeros(V, dtype=np.bool_)
    for v in range(V):
        n = norow if v == ov else nlev[v]
        host[v] = n > 0
        if k[v] < n:
            cur[v] = orow[k[v]] if v == ov else gv[v, k[v]]
        else:
            cur[v] = np.inf
    obj = obj0
    for i in range(start, S):
        best = pen[i]
        bv = -1
        for v in range(V):
            if host[v]:
                d = R[i, v] + cur[v]
                if d < best:
                    best = d
                    bv = v
        obj += w[i] * best
        if bv >= 0:
            kv = k[bv]
            if want:
                nodes[i] = bv
                ks[i] = kv
            kv += 1
            k[bv] = kv
            n = norow if bv == ov else nlev[bv]
            if kv < n:
                cur[bv] = orow[kv] if bv == ov else gv[bv, kv]
            else:
                cur[bv] = np.inf
        elif want:
            nodes[i] = -1
            ks[i] = -1
        if want:
            dh[i] = best
    return obj


@njit(cache=True)
def _fits(avail, dem, m, v):
    for r in range(avail.shape[1]):
        if not (avail[v, r] >= dem[m, r] - 1e-12):
            return False
    return True


@njit(cache=True)
def greedy_slot(R, w, pen, gms, gptr, start, prev, up, avail, dem, c_dp, c_run, g, y, eta, occ_v, occ_m, occ_o,
                track, tol):
    """Algorithm 1 for one slot (:func:`edgefm.control.proposed.solve_greedy`), operation for operation.

    Stages are grouped by light MS: group ``a`` is MS ``gms[a]`` with rows
    ``gptr[a]:gptr[a+1]`` of ``R`` (ready − now, inf on down nodes), ``w``
    (debts) and ``pen`` (unassigned penalties), in data-ready order. Start
    instances' occupancies are listed in ``occ_v``, ``occ_m``, ``occ_o``
    (busiest first; at most ``start[v, m]`` per pair are used, the rest of
    ``start`` is idle). ``track`` enables exact node pruning with resumed
    routings (``_MSState.first_stage``).

    Returns
    -------
    (x, nodes, level, dh, delay, added, n_pruned, n_resumed)
        Counts (V, M); per row (group order) the node (−1 = wait), level
        and d̂; the routing delay; the additions as (MS, node) rows; how many
        candidate nodes pruning skipped and how many routed stages it saved.
    """
    S, V = R.shape
    G = len(gms)
    M = start.shape[1]
    x = start.copy()
    avail = avail.copy()
    K = avail.shape[1]
    gidx = np.full(M, -1, dtype=np.int64)
    lmax = 1
    for a in range(G):
        gidx[gms[a]] = a
        lmax = max(lmax, gptr[a + 1] - gptr[a])
    # free levels o+1..y of the start instances (busiest first, the rest idle), per group and node
    smax = 0
    for v in range(V):
        for a in range(G):
            smax = max(smax, start[v, gms[a]])
    raw = np.empty((G, V, max(1, smax * y)), dtype=np.int64)
    nraw = np.zeros((G, V), dtype=np.int64)
    taken = np.zeros((V, M), dtype=np.int64)
    for i in range(len(occ_v)):
        v, m, o = occ_v[i], occ_m[i], occ_o[i]
        if taken[v, m] >= start[v, m]:
            continue
        taken[v, m] += 1
        a = gidx[m]
        if a >= 0:
            for l in range(o + 1, y + 1):
                raw[a, v, nraw[a, v]] = l
                nraw[a, v] += 1
    lev = np.zeros((G, V, lmax), dtype=np.int64)
    gv = np.zeros((G, V, lmax))
    nlev = np.zeros((G, V), dtype=np.int64)
    for a in range(G):
        m = gms[a]
        L = gptr[a + 1] - gptr[a]
        for v in range(V):
            for _ in range(start[v, m] - taken[v, m]):  # idle start instances
                for l in range(1, y + 1):
                    raw[a, v, nraw[a, v]] = l
                    nraw[a, v] += 1
            srt = np.sort(raw[a, v, :nraw[a, v]])
            n = min(L, nraw[a, v])
            nlev[a, v] = n
            for j in range(n):
                lev[a, v, j] = srt[j]
                gv[a, v, j] = g[m, srt[j]]
    buf = np.empty(lmax + y + 1, dtype=np.int64)
    # g nondecreasing over levels 1..y (then a node's g values are sorted and candidates merge)
    mono = np.ones(M, dtype=np.bool_)
    for m in range(M):
        for l in range(2, y + 1):
            if not (g[m, l - 1] <= g[m, l]):
                mono[m] = False
                break
    # base routings
    base = np.zeros(G)
    dhat = np.zeros(S)
    prefix = np.zeros(S + G)
    cnt = np.zeros((S + G if track else 1, V), dtype=np.int64)
    nodes = np.full(S, -1, dtype=np.int64)
    ks = np.full(S, -1, dtype=np.int64)
    zk = np.zeros(V, dtype=np.int64)
    dummy = np.zeros(1)
    gains = np.full((G, V), -np.inf)
    first = np.zeros((G, V), dtype=np.int64)
    n_pruned = 0
    n_resumed = 0
    cand = np.empty(lmax + y + 1)
    added_m = np.empty(64, dtype=np.int64)
    added_v = np.empty(64, dtype=np.int64)
    na = 0
    a = 0
    while a < 2 * G:
        # phase 1 (a < G): rebase group a; phase 2: refresh group a - G
        if a < G:
            g0, g1_ = gptr[a], gptr[a + 1]
            base[a] = _rebase(R[g0:g1_], w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], zk, track, nodes[g0:g1_],
                              ks[g0:g1_], dhat[g0:g1_], prefix[g0 + a:g1_ + a + 1], cnt[g0 + a:g1_ + a + 1], dummy)
        else:
            r = _refresh(a - G, R, w, pen, gms, gptr, gv, nlev, base, dhat, prefix, cnt, gains, first, x, prev, up,
                         avail, dem, c_dp, c_run, g, y, eta, track, cand, zk, dummy, mono)
            n_pruned += r[0]
            n_resumed += r[1]
        a += 1
    while G > 0:
        bm, bv, bg = -1, -1, tol
        for a in range(G):
            v = np.argmax(gains[a])
            if gains[a, v] > bg:
                bm, bv, bg = a, v, gains[a, v]
        if bm < 0:
            break
        a, v = bm, bv
        m = gms[a]
        x[v, m] += 1
        for r in range(K):
            avail[v, r] -= dem[m, r]
        if na == len(added_m):
            added_m = np.concatenate((added_m, np.empty(na, dtype=np.int64)))
            added_v = np.concatenate((added_v, np.empty(na, dtype=np.int64)))
        added_m[na] = m
        added_v[na] = v
        na += 1
        L = gptr[a + 1] - gptr[a]
        # levels after one more empty instance: sorted(levels + 1..y)[:L]
        n = nlev[a, v]
        i1 = 0
        i2 = 1
        out = 0
        while out < L and (i1 < n or i2 <= y):
            if i2 > y or (i1 < n and lev[a, v, i1] <= i2):
                buf[out] = lev[a, v, i1]
                i1 += 1
            else:
                buf[out] = i2
                i2 += 1
            out += 1
        for j in range(out):
            lev[a, v, j] = buf[j]
            gv[a, v, j] = g[m, buf[j]]
        nlev[a, v] = out
        g0, g1_ = gptr[a], gptr[a + 1]
        base[a] = _rebase(R[g0:g1_], w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], zk, track, nodes[g0:g1_], ks[g0:g1_],
                          dhat[g0:g1_], prefix[g0 + a:g1_ + a + 1], cnt[g0 + a:g1_ + a + 1], dummy)
        r = _refresh(a, R, w, pen, gms, gptr, gv, nlev, base, dhat, prefix, cnt, gains, first, x, prev, up, avail,
                     dem, c_dp, c_run, g, y, eta, track, cand, zk, dummy, mono)
        n_pruned += r[0]
        n_resumed += r[1]
        for a2 in range(G):
            if a2 != a and gains[a2, v] > -np.inf and not _fits(avail, dem, gms[a2], v):
                gains[a2, v] = -np.inf
    # final routing
    level = np.zeros(S, dtype=np.int64)
    dh = np.zeros(S)
    delay = 0.0
    for a in range(G):
        g0, g1_ = gptr[a], gptr[a + 1]
        obj = _route(R[g0:g1_], w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], -1, dummy, 0, 0, zk, 0.0, True,
                     nodes[g0:g1_], ks[g0:g1_], dh[g0:g1_])
        delay += obj
        for i in range(g0, g1_):
            level[i] = lev[a, nodes[i], ks[i]] if nodes[i] >= 0 else 0
    added = np.empty((na, 2), dtype=np.int64)
    for i in range(na):
        added[i, 0] = added_m[i]
        added[i, 1] = added_v[i]
    return x, nodes, level, dh, delay, added, n_pruned, n_resumed


@njit(cache=True)
def _rebase(R, w, pen, gv, nlev, zk, track, nodes, ks, dhat, prefix, cnt, dummy):
    """Route one group with its current levels; with ``track`` keep d̂, prefix sums and per-stage counts."""
    if not track:
        return _route(R, w, pen, gv, nlev, -1, dummy, 0, 0, zk, 0.0, False, nodes, ks, dhat)
    base = _route(R, w, pen, gv, nlev, -1, dummy, 0, 0, zk, 0.0, True, nodes, ks, dhat)
    S, V = R.shape
    prefix[0] = 0.0
    for v in range(V):
        cnt[0, v] = 0
    for i in range(S):
        prefix[i + 1] = prefix[i] + w[i] * dhat[i]
        for v in range(V):
            cnt[i + 1, v] = cnt[i, v]
        if nodes[i] >= 0:
            cnt[i + 1, nodes[i]] += 1
    return base


@njit(cache=True)
def _refresh(a, R, w, pen, gms, gptr, gv, nlev, base, dhat, prefix, cnt, gains, first, x, prev, up, avail, dem,
             c_dp, c_run, g, y, eta, track, cand, zk, dummy, mono):
    """Gains of one more instance of group ``a``'s MS on every node that fits (``refresh`` of solve_greedy)."""
    m = gms[a]
    g0, g1_ = gptr[a], gptr[a + 1]
    L = g1_ - g0
    S, V = R.shape
    Rg = R[g0:g1_]
    n_new = min(y, L)
    pruned = 0
    resumed = 0
    g1 = np.inf
    if track:
        for l in range(1, g.shape[1]):
            if g[m, l] < g1:
                g1 = g[m, l]
    for v in range(V):
        gains[a, v] = -np.inf
        if not (up[v] and _fits(avail, dem, m, v)):
            continue
        f = L
        if track:
            for i in range(L):
                if Rg[i, v] + g1 <= dhat[g0 + i]:
                    f = i
                    break
            if f == L:
                pruned += 1
                continue
            resumed += f
        n = nlev[a, v]
        if n and mono[m]:
            # sorted(old + new)[:L] by g value: both runs are sorted (g nondecreasing), merge them
            nc = min(L, n + n_new)
            i1 = 0
            i2 = 0
            for j in range(nc):
                if i2 >= n_new or (i1 < n and gv[a, v, i1] <= g[m, i2 + 1]):
                    cand[j] = gv[a, v, i1]
                    i1 += 1
                else:
                    cand[j] = g[m, i2 + 1]
                    i2 += 1
            row = cand[:nc]
        elif n:
            # sorted(old + new)[:L], by g value
            for j in range(n):
                cand[j] = gv[a, v, j]
            for j in range(n_new):
                cand[n + j] = g[m, j + 1]
            c = np.sort(cand[:n + n_new])
            nc = min(L, n + n_new)
            row = c[:nc]
        else:
            nc = n_new
            row = np.empty(nc)
            for j in range(nc):
                row[j] = g[m, j + 1]
        dcost = eta * (c_dp[m] * (1.0 if x[v, m] + 1 > prev[v, m] else 0.0) + c_run[m])
        if track:
            tot = _route(Rg, w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], v, row, nc, f, cnt[g0 + a + f], prefix[g0 + a + f],
                         False, zk, zk, dummy)
        else:
            tot = _route(Rg, w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], v, row, nc, 0, zk, 0.0, False, zk, zk, dummy)
        gains[a, v] = base[a] - tot - dcost
    return pruned, resumed


@njit(cache=True)
def debt_update(H, arrival, deadline, active, now, h_min):
    """Eq. E18 for the ``active`` task ids, in place; returns their new H (as LatencyDebt.peek/update)."""
    out = np.empty(len(active))
    for i in range(len(active)):
        j = active[i]
        v = H[j] + (now - arrival[j]) - deadline[j]
        out[i] = h_min if h_min > v else v
    for i in range(len(active)):
        H[active[i]] = out[i]
    return out
