"""Compiled inner loops of the controllers (numba, ``cache=True``).

Each kernel is a controller's former per-stage Python loop, kept operation for
operation so that decisions are bit-identical (``tests/test_goldens.py``).
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.typed import Dict

from ._sortroute import insert_host, least_g, route_sorted, sort_hosts

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
    # stages grouped by MS, each group in state order (counting sort)
    cnt = np.zeros(M + 1, dtype=np.int64)
    for r in range(S):
        cnt[stage_ms[r] + 1] += 1
    for m in range(M):
        cnt[m + 1] += cnt[m]
    byms = np.empty(S, dtype=np.int64)
    fill = cnt[:M].copy()
    for r in range(S):
        byms[fill[stage_ms[r]]] = r
        fill[stage_ms[r]] += 1
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
def _route(R, w, pen, gv, nlev, hl, nh, ov, orow, norow, start, k0, obj0, want, nodes, ks, dh):
    """Greedy routing of one MS (:func:`edgefm.control.proposed.route_levels`).

    ``hl[:nh]`` are the hosting nodes, ascending; ``gv[v, :nlev[v]]`` node v's
    g values in level order, except node ``ov`` (if ≥ 0), which uses
    ``orow[:norow]``. Stages ``start``… resume with per-node counts ``k0``
    and running objective ``obj0``. With ``want`` the node, level slot and d̂
    of each stage are written to ``nodes``, ``ks``, ``dh``.
    """
    S = R.shape[0]
    k = np.empty(nh, dtype=np.int64)
    cur = np.empty(nh)
    for h in range(nh):
        v = hl[h]
        k[h] = k0[v]
        n = norow if v == ov else nlev[v]
        if k[h] < n:
            cur[h] = orow[k[h]] if v == ov else gv[v, k[h]]
        else:
            cur[h] = np.inf
    obj = obj0
    for i in range(start, S):
        best = pen[i]
        bh = -1
        for h in range(nh):
            d = R[i, hl[h]] + cur[h]
            if d < best:
                best = d
                bh = h
        obj += w[i] * best
        if bh >= 0:
            v = hl[bh]
            kv = k[bh]
            if want:
                nodes[i] = v
                ks[i] = kv
            kv += 1
            k[bh] = kv
            n = norow if v == ov else nlev[v]
            if kv < n:
                cur[bh] = orow[kv] if v == ov else gv[v, kv]
            else:
                cur[bh] = np.inf
        elif want:
            nodes[i] = -1
            ks[i] = -1
        if want:
            dh[i] = best
    return obj


@njit(cache=True)
def _hosts(nlev, out, extra):
    """Nodes with levels (and ``extra`` if ≥ 0), ascending, into ``out``; returns how many."""
    n = 0
    for v in range(len(nlev)):
        if nlev[v] > 0 or v == extra:
            out[n] = v
            n += 1
    return n


@njit(cache=True)
def _fits(avail, dem, m, v):
    for r in range(avail.shape[1]):
        if not (avail[v, r] >= dem[m, r] - 1e-12):
            return False
    return True


@njit(cache=True)
def greedy_slot(R, w, pen, gms, gptr, start, prev, up, avail, dem, c_dp, c_run, g, y, eta, occ_v, occ_m, occ_o,
                track, tol, knear=0):
    """Algorithm 1 for one slot (:func:`edgefm.control.proposed.solve_greedy`), operation for operation.

    Stages are grouped by light MS: group ``a`` is MS ``gms[a]`` with rows
    ``gptr[a]:gptr[a+1]`` of ``R`` (ready − now, inf on down nodes), ``w``
    (debts) and ``pen`` (unassigned penalties), in data-ready order. Start
    instances' occupancies are listed in ``occ_v``, ``occ_m``, ``occ_o``
    (busiest first; at most ``start[v, m]`` per pair are used, the rest of
    ``start`` is idle). ``track`` enables exact node pruning with resumed
    routings (``_MSState.first_stage``). ``knear > 0`` (an approximation, off by
    default) offers a new instance of a group's MS only on the nodes that host it
    and the ``knear`` nodes nearest to its stages' data (least ``Σ_i R[i, v]``,
    ties to the lower index; :class:`~edgefm.control.proposed.ProposedController`).

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
    cnt = np.zeros((1, V), dtype=np.int64)  # (unused: _rebase no longer tabulates counts)
    nodes = np.full(S, -1, dtype=np.int64)
    ks = np.full(S, -1, dtype=np.int64)
    zk = np.zeros(V, dtype=np.int64)
    dummy = np.zeros(1)
    gains = np.full((G, V), -np.inf)
    first = np.zeros((G, V), dtype=np.int64)
    n_pruned = 0
    n_resumed = 0
    cand = np.empty(lmax + y + 1)
    # track: each stage's hosts in ascending R, for scans that stop early (_sortroute)
    hR = np.empty((S if track else 1, V if track else 1))
    hH = np.empty((S if track else 1, V if track else 1), dtype=np.int64)
    nhs = np.zeros(G, dtype=np.int64)
    kk = np.zeros(V, dtype=np.int64)
    cc = np.zeros(V)
    near = _nearest(R, gptr, knear)
    RT = np.empty((V, S) if track else (1, 1))  # R transposed: a node's scan over the stages is contiguous
    if track:
        for i in range(S):
            for v in range(V):
                RT[v, i] = R[i, v]
        for a in range(G):
            nhs[a] = sort_hosts(R[gptr[a]:gptr[a + 1]], nlev[a], hR[gptr[a]:gptr[a + 1]], hH[gptr[a]:gptr[a + 1]])
    added_m = np.empty(64, dtype=np.int64)
    added_v = np.empty(64, dtype=np.int64)
    na = 0
    a = 0
    while a < 2 * G:
        # phase 1 (a < G): rebase group a; phase 2: refresh group a - G
        if a < G:
            g0, g1_ = gptr[a], gptr[a + 1]
            base[a] = _rebase(R[g0:g1_], w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], zk, track, nodes[g0:g1_],
                              ks[g0:g1_], dhat[g0:g1_], prefix[g0 + a:g1_ + a + 1], cnt[g0 + a:g1_ + a + 1], dummy,
                              hR[g0:g1_] if track else hR, hH[g0:g1_] if track else hH, nhs[a], kk, cc, g[gms[a]])
        else:
            r = _refresh(a - G, R, w, pen, gms, gptr, gv, nlev, base, dhat, prefix, cnt, gains, first, x, prev, up,
                         avail, dem, c_dp, c_run, g, y, eta, track, cand, zk, dummy, mono, hR, hH, nhs, kk, cc, RT,
                         near, nodes)
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
        if track and n == 0:  # v becomes a host of the group
            insert_host(R[gptr[a]:gptr[a + 1]], hR[gptr[a]:gptr[a + 1]], hH[gptr[a]:gptr[a + 1]], nhs[a], v)
            nhs[a] += 1
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
                          dhat[g0:g1_], prefix[g0 + a:g1_ + a + 1], cnt[g0 + a:g1_ + a + 1], dummy,
                          hR[g0:g1_] if track else hR, hH[g0:g1_] if track else hH, nhs[a], kk, cc, g[m])
        r = _refresh(a, R, w, pen, gms, gptr, gv, nlev, base, dhat, prefix, cnt, gains, first, x, prev, up, avail,
                     dem, c_dp, c_run, g, y, eta, track, cand, zk, dummy, mono, hR, hH, nhs, kk, cc, RT, near, nodes)
        n_pruned += r[0]
        n_resumed += r[1]
        for a2 in range(G):
            if a2 != a and gains[a2, v] > -np.inf and not _fits(avail, dem, gms[a2], v):
                gains[a2, v] = -np.inf
    # final routing
    hl = np.empty(V, dtype=np.int64)
    level = np.zeros(S, dtype=np.int64)
    dh = np.zeros(S)
    delay = 0.0
    for a in range(G):
        g0, g1_ = gptr[a], gptr[a + 1]
        nh = _hosts(nlev[a], hl, -1)
        obj = _route(R[g0:g1_], w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], hl, nh, -1, dummy, 0, 0, zk, 0.0, True,
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
def _nearest(R, gptr, knear):
    """(G, V) mask: per MS group the ``knear`` nodes nearest to its stages' data, i.e. with the least
    ``Σ_i R[i, v]`` (ready − now summed over the group's stages, ties to the lower index); all True when
    ``knear <= 0`` or ``knear >= V`` (exact Algorithm 1)."""
    G = len(gptr) - 1
    V = R.shape[1]
    near = np.ones((G, V), dtype=np.bool_)
    if knear <= 0 or knear >= V:
        return near
    d = np.empty(V)
    for a in range(G):
        for v in range(V):
            d[v] = 0.0
            for i in range(gptr[a], gptr[a + 1]):
                d[v] += R[i, v]
        o = np.argsort(d, kind="mergesort")
        for v in range(V):
            near[a, v] = False
        for j in range(knear):
            near[a, o[j]] = True
    return near


@njit(cache=True)
def _rebase(R, w, pen, gv, nlev, zk, track, nodes, ks, dhat, prefix, cnt, dummy, hR, hH, nh, kk, cc, gm):
    """Route one group with its current levels; with ``track`` keep the nodes, d̂ and prefix sums
    (and scan each stage's hosts ``hH[:, :nh]`` in ascending R, :func:`edgefm.control._sortroute.route_sorted`)."""
    if not track:
        hl = np.empty(len(nlev), dtype=np.int64)
        nh = _hosts(nlev, hl, -1)
        return _route(R, w, pen, gv, nlev, hl, nh, -1, dummy, 0, 0, zk, 0.0, False, nodes, ks, dhat)
    base = route_sorted(w, w, pen, gv, nlev, hR, hH, nh, -1, dummy, 0, 0, nodes, 0.0, least_g(gm), True, nodes, ks,
                        dhat, kk, cc)
    # per-stage counts are recounted from ``nodes`` where needed (_refresh, route_sorted)
    prefix[0] = 0.0
    for i in range(R.shape[0]):
        prefix[i + 1] = prefix[i] + w[i] * dhat[i]
    return base


@njit(cache=True)
def _refresh(a, R, w, pen, gms, gptr, gv, nlev, base, dhat, prefix, cnt, gains, first, x, prev, up, avail, dem,
             c_dp, c_run, g, y, eta, track, cand, zk, dummy, mono, hR, hH, nhs, sk, sc, RT, near, nodes):
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
    hl0 = np.empty(V, dtype=np.int64)
    nh0 = _hosts(nlev[a], hl0, -1)
    hl = np.empty(V, dtype=np.int64)
    for v in range(V):
        gains[a, v] = -np.inf
        if not (up[v] and _fits(avail, dem, m, v)) or not (near[a, v] or nlev[a, v] > 0):
            continue
        f = L
        if track:
            for i in range(L):
                if RT[v, g0 + i] + g1 <= dhat[g0 + i]:
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
            for j in range(nc):
                cand[j] = g[m, j + 1]
            row = cand[:nc]
        dcost = eta * (c_dp[m] * (1.0 if x[v, m] + 1 > prev[v, m] else 0.0) + c_run[m])
        if track:
            # Tighter exact start: until the routings part, v has taken cnt[i, v] stages in both, so
            # stage i sees v at row[cnt[i, v]]; it can only route differently if that is <= its d̂.
            f2 = L
            kk = 0
            for i in range(f):
                if nodes[g0 + i] == v:
                    kk += 1
            for i in range(f, L):
                val = row[kk] if kk < nc else np.inf
                if RT[v, g0 + i] + val <= dhat[g0 + i]:
                    f2 = i
                    break
                if nodes[g0 + i] == v:
                    kk += 1
            resumed += f2 - f
            if f2 == L:  # the routing is the base one: the gain solve_greedy computes is 0 − dcost
                gains[a, v] = base[a] - base[a] - dcost
                continue
            f = f2
        if track:
            tot = route_sorted(RT[v, g0:g1_], w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], hR[g0:g1_], hH[g0:g1_], nhs[a], v,
                               row, nc, f, nodes[g0:g1_], prefix[g0 + a + f], g1, False, zk, zk, dummy, sk, sc)
        else:
            nh = nh0 if n else _hosts(nlev[a], hl, v)  # v joins the hosts
            tot = _route(Rg, w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], hl if not n else hl0, nh, v, row, nc, 0, zk,
                         0.0, False, zk, zk, dummy)
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


@njit(cache=True)
def greedy_state(ready, now, up, stage_ms, w, pen, start, prev, avail, dem, c_dp, c_run, g, y, eta, inst_node,
                 inst_ms, inst_jobs, track, tol, knear=0):
    """:func:`greedy_slot` on a slot's state: builds its inputs as ``slot_problem`` does and
    returns the routing in state order.

    R = ready − now (inf on down nodes); stages grouped by MS (ascending), each
    group in data-ready order (earliest ready time over the nodes, stable);
    start instances busiest first (stable).

    Returns
    -------
    (x, route, level, dhat, delay, added, n_pruned, n_resumed)
    """
    S, V = ready.shape
    M = start.shape[1]
    first = np.empty(S)
    R = np.empty((S, V))
    for i in range(S):
        f = np.inf
        for v in range(V):
            r = ready[i, v] - now if up[v] else np.inf
            R[i, v] = r
            if r < f:
                f = r
        first[i] = f
    # by MS (counting sort keeps state order), then by first ready time (stable merge sort)
    cnt = np.zeros(M + 1, dtype=np.int64)
    for i in range(S):
        cnt[stage_ms[i] + 1] += 1
    for m in range(M):
        cnt[m + 1] += cnt[m]
    byms = np.empty(S, dtype=np.int64)
    fill = cnt[:M].copy()
    for i in range(S):
        byms[fill[stage_ms[i]]] = i
        fill[stage_ms[i]] += 1
    perm = np.empty(S, dtype=np.int64)
    G = 0
    for m in range(M):
        if cnt[m + 1] > cnt[m]:
            G += 1
    gms = np.empty(G, dtype=np.int64)
    gptr = np.empty(G + 1, dtype=np.int64)
    a = 0
    for m in range(M):
        lo, hi = cnt[m], cnt[m + 1]
        if hi == lo:
            continue
        idx = byms[lo:hi]
        o = np.argsort(first[idx], kind="mergesort")
        for j in range(hi - lo):
            perm[lo + j] = idx[o[j]]
        gms[a] = m
        gptr[a] = lo
        a += 1
    gptr[G] = S
    Rg = np.empty((S, V))
    wg = np.empty(S)
    pg = np.empty(S)
    for j in range(S):
        i = perm[j]
        for v in range(V):
            Rg[j, v] = R[i, v]
        wg[j] = w[i]
        pg[j] = pen[i]
    order = np.argsort(-inst_jobs, kind="mergesort")
    x, nodes, lev, dh, delay, added, n_pr, n_res = greedy_slot(
        Rg, wg, pg, gms, gptr, start, prev, up, avail, dem, c_dp, c_run, g, y, eta, inst_node[order],
        inst_ms[order], inst_jobs[order], track, tol, knear)
    route = np.empty(S, dtype=np.int64)
    level = np.empty(S, dtype=np.int64)
    dhat = np.empty(S)
    for j in range(S):
        route[perm[j]] = nodes[j]
        level[perm[j]] = lev[j]
        dhat[perm[j]] = dh[j]
    return x, route, level, dhat, delay, added, n_pr, n_res


# ---------------------------------------------------------------------------- ga
@njit(cache=True)
def _pw_block(a, lo, n):
    """numpy's pairwise sum of a block of at most 128 values (8 accumulators)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r = np.empty(8)
    for j in range(8):
        r[j] = a[lo + j]
    i = 8
    while i < n - (n % 8):
        for j in range(8):
            r[j] += a[lo + i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True)
def _pairwise(a, lo, n):
    """numpy's pairwise summation of ``a[lo:lo+n]`` (float64), bit for bit.

    Blocks of more than 128 values split at ``n2 = n // 2 − (n // 2) % 8`` and
    add the two halves; the recursion runs on an explicit stack (numba cannot
    reliably cache recursive functions).
    """
    if n <= 128:
        return _pw_block(a, lo, n)
    s_lo = np.empty(64, dtype=np.int64)
    s_n = np.empty(64, dtype=np.int64)
    s_ph = np.empty(64, dtype=np.int64)
    s_acc = np.empty(64)
    s_lo[0], s_n[0], s_ph[0] = lo, n, 0
    sp = 1
    ret = 0.0
    while sp > 0:
        t = sp - 1
        nn = s_n[t]
        if nn <= 128:
            ret = _pw_block(a, s_lo[t], nn)
            sp -= 1
            continue
        n2 = nn // 2
        n2 -= n2 % 8
        if s_ph[t] == 0:
            s_ph[t] = 1
            s_lo[sp], s_n[sp], s_ph[sp] = s_lo[t], n2, 0
            sp += 1
        elif s_ph[t] == 1:
            s_acc[t] = ret
            s_ph[t] = 2
            s_lo[sp], s_n[sp], s_ph[sp] = s_lo[t] + n2, nn - n2, 0
            sp += 1
        else:
            ret = s_acc[t] + ret
            sp -= 1
    return ret


@njit(cache=True)
def _ga_route(i_end, j, cnt_v, bj, B, gx, Rx, slack, e, q, nodes, want):
    """Route the first ``i_end`` stages of group ``j`` for node counts ``cnt_v``; writes e[:, q, j]."""
    V = cnt_v.shape[0]
    y = B.shape[2]
    cur = np.empty(V)
    kk = np.zeros(V, dtype=np.int64)
    pp = np.empty(V, dtype=np.int64)
    ex = np.empty(V, dtype=np.int64)
    act = np.empty(V, dtype=np.int64)
    na = 0
    for v in range(V):
        c = cnt_v[v]
        if c < bj[j, v]:  # (never: genes stay >= busy) the reference's table gives level 1
            ex[v] = -1
            pp[v] = 0
        else:
            ex[v] = c - bj[j, v]
            p = 0
            while p < y and B[j, v, p] + ex[v] * (p + 1) <= 0:
                p += 1
            pp[v] = p
        cur[v] = gx[j, 1 + pp[v]]
        if cur[v] < np.inf:
            act[na] = v
            na += 1
    for i in range(i_end):
        best = Rx[i, j, 0] + 0.0
        b = -1
        for a in range(na):
            v = act[a]
            d = Rx[i, j, v + 1] + cur[v]
            if d < best:
                best = d
                b = v
        if b >= 0:
            k = kk[b] + 1
            kk[b] = k
            if ex[b] >= 0:
                p = pp[b]
                while p < y and B[j, b, p] + ex[b] * (p + 1) <= k:
                    p += 1
                pp[b] = p
            cur[b] = gx[j, 1 + pp[b]]
            if not cur[b] < np.inf:  # exhausted: never chosen again
                w = 0
                for a in range(na):
                    if act[a] != b:
                        act[w] = act[a]
                        w += 1
                na = w
        late = best - slack[i, j]
        e[i, q, j] = best + (late if late > 0.0 else 0.0)
        if want:
            nodes[i, q, j] = b


@njit(cache=True)
def ga_fitness(Z, bj, gj, gv, B, gx, Rx, Sj, slack, cost0, gene0, prevg, cdp, crun, want, cache):
    """:meth:`edgefm.control.ga._SlotEval.fitness` of a (Q, n) population, bit for bit.

    Per (individual, MS group) the stages are routed greedily in lock-step
    (column 0 of ``Rx`` is the unassigned penalty and wins ties). A node's
    marginal delay is ``gx[j, lev]`` with lev = 1 + #{L ≤ y : N(L) ≤ k} after it
    took k stages, N(L) = B[j, v, L−1] + e·L the free levels ≤ L of its busy
    instances and its e = count − busy empty ones (the per-slot table
    ``_SlotEval.Tf`` of the reference, evaluated lazily). A group's routing
    depends only on its own genes: with a ``cache`` (see :func:`ga_search`)
    the per-stage terms of a gene vector seen before are copied, not
    recomputed. Sums follow numpy's reduction order (``_pairwise``). Returns
    the (Q,) fitness and, with ``want``, the (Smax, Q, Mg) chosen node per
    stage (−1 = waiting).
    """
    Q, n = Z.shape
    Smax, Mg, V1 = Rx.shape
    V = V1 - 1
    e = np.zeros((Smax, Q, Mg))
    nodes = np.full((Smax if want else 0, Q, Mg), -1, dtype=np.int64)
    gs = np.zeros(Mg + 1, dtype=np.int64)  # genes of group j: gs[j]:gs[j+1] (MS-major)
    for g in range(n):
        gs[gj[g] + 1] += 1
    for j in range(Mg):
        gs[j + 1] += gs[j]
    cnt_v = np.empty(V, dtype=np.int64)
    d, keys, klen, store, off, fill = cache
    use = len(keys) > 0
    for q in range(Q):
        for j in range(Mg):
            ng = gs[j + 1] - gs[j]
            idx = -1
            h = 0
            if use:
                h = j + 1
                for g in range(gs[j], gs[j + 1]):
                    h = h * 1000003 + Z[q, g]
                if h in d:
                    idx = d[h]
                if idx >= 0:
                    same = klen[idx] == ng
                    if same:
                        for t in range(ng):
                            if keys[idx, t] != Z[q, gs[j] + t]:
                                same = False
                                break
                    if same:
                        o = off[idx]
                        for i in range(Sj[j]):
                            e[i, q, j] = store[o + i]
                        continue
            for v in range(V):
                cnt_v[v] = bj[j, v]
            for g in range(gs[j], gs[j + 1]):
                cnt_v[gv[g]] = Z[q, g]
            _ga_route(Sj[j], j, cnt_v, bj, B, gx, Rx, slack, e, q, nodes, want)
            if use and idx < 0 and fill[0] < len(klen) and fill[1] + Sj[j] <= len(store):
                k = fill[0]
                for t in range(ng):
                    keys[k, t] = Z[q, gs[j] + t]
                klen[k] = ng
                off[k] = fill[1]
                for i in range(Sj[j]):
                    store[fill[1] + i] = e[i, q, j]
                fill[0] += 1
                fill[1] += Sj[j]
                d[h] = k
    flat = e.ravel()
    f = np.empty(Q)
    gc = np.empty(n)
    for q in range(Q):
        if Q == 1:  # numpy coalesces the reduced axes (0, 2) into one
            delay = _pairwise(flat, 0, Smax * Mg)
        else:
            delay = 0.0
            for i in range(Smax):
                delay += _pairwise(flat, (i * Q + q) * Mg, Mg)
        if n:
            for g in range(n):
                z = Z[q, g]
                dz = z - prevg[g]
                gc[g] = (dz if dz > 0 else 0) * cdp[g] + z * crun[g]
            cost = cost0 - gene0 + _pairwise(gc, 0, n)
        else:
            cost = cost0
        f[q] = cost + delay
    return f, nodes


@njit(cache=True)
def ga_cache(n_rows, n_genes, n_values):
    """An empty fitness cache for :func:`ga_fitness`: (hash → row, keys, key lengths, values, offsets, fill)."""
    d = Dict.empty(key_type=types.int64, value_type=types.int64)
    return (d, np.empty((n_rows, max(n_genes, 1)), dtype=np.int64), np.zeros(n_rows, dtype=np.int64),
            np.empty(n_values), np.zeros(n_rows, dtype=np.int64), np.zeros(2, dtype=np.int64))


@njit(cache=True)
def ga_repair(Z, lo, gv, gm, dem, avail, NI):
    """:meth:`edgefm.control.ga._SlotEval.repair` (closed form) of a (Q, n) population.

    Node usages are summed gene by gene (numpy uses a BLAS matrix product
    there: the two can differ only in the last bit, which matters only for a
    node whose usage lies within rounding of the 1e-9 tolerance).
    """
    Z = Z.copy()
    Q, n = Z.shape
    if n == 0:
        return Z
    V, K = avail.shape
    G = NI.shape[1]
    over = np.zeros((Q, V), dtype=np.bool_)
    anyover = False
    top = 0
    use = np.zeros(K)
    for q in range(Q):
        for v in range(V):
            for k in range(K):
                use[k] = 0.0
            for s in range(G):
                g = NI[v, s]
                if g < n:
                    w = Z[q, g] - lo[g]
                    for k in range(K):
                        use[k] += w * dem[gm[g], k]
            for k in range(K):
                if use[k] - avail[v, k] > 1e-9:
                    over[q, v] = True
            if over[q, v]:
                anyover = True
                for s in range(G):
                    g = NI[v, s]
                    if g < n and Z[q, g] - lo[g] > top:
                        top = Z[q, g] - lo[g]
    if not anyover or top <= 0:
        return Z
    Wp = np.zeros(G, dtype=np.int64)
    start = np.zeros(G, dtype=np.int64)
    for q in range(Q):
        for v in range(V):
            if not over[q, v]:
                continue
            for s in range(G):
                g = NI[v, s]
                Wp[s] = Z[q, g] - lo[g] if g < n else 0
            h = 0
            for L in range(top):  # min(W, L) fits?
                for k in range(K):
                    use[k] = 0.0
                for s in range(G):
                    g = NI[v, s]
                    c = Wp[s] if Wp[s] < L else L
                    for k in range(K):
                        use[k] += c * (dem[gm[g], k] if g < n else 0.0)
                ok = True
                for k in range(K):
                    if use[k] - avail[v, k] > 1e-9:
                        ok = False
                if ok:
                    h += 1
            if h == 0:  # nothing fits, not even no excess: drop all excess
                for s in range(G):
                    g = NI[v, s]
                    if g < n:
                        Z[q, g] = lo[g]
                continue
            s0 = np.zeros(K)
            for s in range(G):
                start[s] = Wp[s] if Wp[s] < h else h
                g = NI[v, s]
                for k in range(K):
                    s0[k] += start[s] * (dem[gm[g], k] if g < n else 0.0)
            csum = np.zeros(K)
            gsel = 0
            for s in range(G):
                g = NI[v, s]
                sel = Wp[s] >= h
                for k in range(K):
                    csum[k] += (dem[gm[g], k] if g < n else 0.0) if sel else 0.0
                if sel:
                    ok = True
                    for k in range(K):
                        if (s0[k] - csum[k]) - avail[v, k] > 1e-9:
                            ok = False
                    if ok:
                        gsel = s
                        break
            for s in range(G):
                g = NI[v, s]
                if g < n:
                    Z[q, g] = start[s] - (1 if (Wp[s] >= h and s <= gsel) else 0) + lo[g]
    return Z


@njit(cache=True)
def ga_search(pop0, lo, hi, U, population, mutation, gv, gm, dem, avail, NI, bj, gj, B, gx, Rx, Sj, slack,
              cost0, gene0, prevg, cdp, crun):
    """:func:`edgefm.control.ga.ga_minimize` with the slot's repair and fitness, bit for bit.

    ``pop0`` is the initial population (seeds and random draws, before
    repair), ``U`` the (G, children, 4 + 3n) uniforms of the whole search.
    Returns (best, best fitness, history).
    """
    n = lo.size
    G = U.shape[0]
    nc = population - 1
    Mg = Rx.shape[1]
    n_ind = population + G * max(nc, 0)
    gmax = 0
    cntg = np.zeros(Mg, dtype=np.int64)
    for g in range(n):
        cntg[gj[g]] += 1
    for j in range(Mg):
        gmax = max(gmax, cntg[j])
    tot = 0
    for j in range(Mg):
        tot += Sj[j]
    cache = ga_cache(n_ind * Mg, gmax, n_ind * tot)
    pop = ga_repair(pop0, lo, gv, gm, dem, avail, NI)
    fit, _ = ga_fitness(pop, bj, gj, gv, B, gx, Rx, Sj, slack, cost0, gene0, prevg, cdp, crun, False, cache)
    history = np.empty(G + 1)
    history[0] = fit.min()
    child = np.empty((max(nc, 0), n), dtype=np.int64)
    for gen in range(G):
        e = np.argmin(fit)
        if nc <= 0:
            history[gen + 1] = fit.min()
            continue
        for c in range(nc):
            t0 = np.int64(U[gen, c, 0] * population)
            t1 = np.int64(U[gen, c, 1] * population)
            t2 = np.int64(U[gen, c, 2] * population)
            t3 = np.int64(U[gen, c, 3] * population)
            pa = t1 if fit[t1] < fit[t0] else t0
            pb = t3 if fit[t3] < fit[t2] else t2
            for g in range(n):
                z = pop[pa, g] if U[gen, c, 4 + g] < 0.5 else pop[pb, g]
                if U[gen, c, 4 + n + g] < mutation:
                    z += -1 if U[gen, c, 4 + 2 * n + g] < 0.5 else 1
                z = z if z > lo[g] else lo[g]
                z = z if z < hi[g] else hi[g]
                child[c, g] = z
        child2 = ga_repair(child, lo, gv, gm, dem, avail, NI)
        cf, _ = ga_fitness(child2, bj, gj, gv, B, gx, Rx, Sj, slack, cost0, gene0, prevg, cdp, crun, False, cache)
        npop = np.empty((nc + 1, n), dtype=np.int64)
        nfit = np.empty(nc + 1)
        npop[0] = pop[e]
        nfit[0] = fit[e]
        npop[1:] = child2
        nfit[1:] = cf
        pop, fit = npop, nfit
        history[gen + 1] = fit.min()
    e = np.argmin(fit)
    return pop[e].copy(), fit[e], history


@njit(cache=True)
def ga_tables(ready, now, up, stage_ms, pen, slack, inst_node, inst_ms, inst_jobs, start, y):
    """The GA's per-slot routing inputs, as ``slot_problem`` + ``_SlotEval`` build them.

    Stages grouped by MS (ascending), each group in data-ready order (earliest
    ready − now over the up nodes, stable). Returns ``gms`` (Mg,), ``gptr``
    (Mg+1,), ``perm`` (S,) state rows in group order, ``Rx`` (Smax, Mg, V+1)
    (column 0 the unassigned penalty, padding rows 0 / inf), ``slk`` (Smax, Mg)
    (padding inf), ``Sj`` (Mg,) and ``B`` (Mg, V, y): the free levels ≤ L of the
    start instances (busiest first; missing ones idle).
    """
    S, V = ready.shape
    M = start.shape[1]
    first = np.empty(S)
    for i in range(S):
        f = np.inf
        for v in range(V):
            r = ready[i, v] - now if up[v] else np.inf
            if r < f:
                f = r
        first[i] = f
    cnt = np.zeros(M + 1, dtype=np.int64)
    for i in range(S):
        cnt[stage_ms[i] + 1] += 1
    for m in range(M):
        cnt[m + 1] += cnt[m]
    byms = np.empty(S, dtype=np.int64)
    fill = cnt[:M].copy()
    for i in range(S):
        byms[fill[stage_ms[i]]] = i
        fill[stage_ms[i]] += 1
    G = 0
    Smax = 0
    for m in range(M):
        if cnt[m + 1] > cnt[m]:
            G += 1
            Smax = max(Smax, cnt[m + 1] - cnt[m])
    gms = np.empty(G, dtype=np.int64)
    gptr = np.empty(G + 1, dtype=np.int64)
    Sj = np.empty(G, dtype=np.int64)
    perm = np.empty(S, dtype=np.int64)
    gidx = np.full(M, -1, dtype=np.int64)
    a = 0
    for m in range(M):
        lo, hi = cnt[m], cnt[m + 1]
        if hi == lo:
            continue
        idx = byms[lo:hi]
        o = np.argsort(first[idx], kind="mergesort")
        for j in range(hi - lo):
            perm[lo + j] = idx[o[j]]
        gms[a] = m
        gptr[a] = lo
        Sj[a] = hi - lo
        gidx[m] = a
        a += 1
    gptr[G] = S
    Rx = np.full((Smax, G, V + 1), np.inf)
    slk = np.full((Smax, G), np.inf)
    for j in range(G):
        for i in range(Smax):
            Rx[i, j, 0] = 0.0
        for t in range(Sj[j]):
            r = perm[gptr[j] + t]
            Rx[t, j, 0] = pen[r]
            for v in range(V):
                Rx[t, j, v + 1] = ready[r, v] - now if up[v] else np.inf
            slk[t, j] = slack[r]
    # free levels <= L of the start instances: B[j, v, L-1] = sum over instances of max(0, L - o)
    B = np.zeros((G, V, y), dtype=np.int64)
    taken = np.zeros((V, M), dtype=np.int64)
    order = np.argsort(-inst_jobs, kind="mergesort")
    for t in range(len(order)):
        i = order[t]
        v, m, o = inst_node[i], inst_ms[i], inst_jobs[i]
        if taken[v, m] >= start[v, m]:
            continue
        taken[v, m] += 1
        j = gidx[m]
        if j >= 0:
            for L in range(1, y + 1):
                if L > o:
                    B[j, v, L - 1] += L - o
    for j in range(G):
        m = gms[j]
        for v in range(V):
            for _ in range(start[v, m] - taken[v, m]):  # idle start instances (occupancy 0)
                for L in range(1, y + 1):
                    B[j, v, L - 1] += L
    return gms, gptr, perm, Rx, slk, Sj, B
