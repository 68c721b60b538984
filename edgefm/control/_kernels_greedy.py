"""Algorithm 1 of ``proposed`` / ``propavg`` for one slot, compiled (numba, ``cache=True``).

:func:`greedy_state` builds a slot's problem from the engine's state as
:func:`edgefm.control.proposed.slot_problem` does, and :func:`greedy_slot` runs
:func:`edgefm.control.proposed.solve_greedy` on it operation for operation, so
that decisions are bit-identical (``tests/test_goldens.py``,
``tests/test_control.py::test_kernel_solver_equals_reference_each_slot``). The
routings themselves are in :mod:`edgefm.control._kernels_route` (full scans) and
:mod:`edgefm.control._sortroute` (scans in ascending R, large networks).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels_route import first_ready, group_by_ms, host_list, route_group, route_head, sum_tails
from ._sortroute import insert_host, least_g, merge_takes_a, route_sorted, sort_hosts

__all__ = ["greedy_state", "greedy_slot"]


@njit(cache=True)
def _fits(avail, dem, m, v):
    for r in range(avail.shape[1]):
        if not (avail[v, r] >= dem[m, r] - 1e-12):
            return False
    return True


@njit(cache=True)
def greedy_slot(ready, rows, now, w, pen, gms, gptr, start, prev, up, avail, dem, c_dp, c_run, g, y, eta, occ_v, occ_m,
                occ_o, track, tol, knear=0):
    """Algorithm 1 for one slot (:func:`edgefm.control.proposed.solve_greedy`), operation for operation.

    Stages are grouped by light MS: group ``a`` is MS ``gms[a]`` with stages
    ``gptr[a]:gptr[a+1]``, in data-ready order; stage j's ready − now R[j, v] is
    ``ready[rows[j], v] − now`` (inf on down nodes), ``w[j]`` its debt and
    ``pen[j]`` its unassigned penalty. Start
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
    S, V = len(rows), ready.shape[1]
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
    # free levels o+1..y of the start instances (busiest first, the rest idle), per group and node, sorted:
    # level l is free on as many instances as have an occupancy below l (hist: occupancies 0..y-1)
    hist = np.zeros((G, V, y + 1), dtype=np.int64)
    taken = np.zeros((V, M), dtype=np.int64)
    for i in range(len(occ_v)):
        v, m, o = occ_v[i], occ_m[i], occ_o[i]
        if taken[v, m] >= start[v, m]:
            continue
        taken[v, m] += 1
        a = gidx[m]
        if a >= 0 and 0 <= o < y:
            hist[a, v, o] += 1
    lev = np.empty((G, V, lmax), dtype=np.int64)  # read only below nlev: no need to clear
    gv = np.empty((G, V, lmax))
    nlev = np.zeros((G, V), dtype=np.int64)
    for a in range(G):
        m = gms[a]
        L = gptr[a + 1] - gptr[a]
        for v in range(V):
            idle = start[v, m] - taken[v, m]  # idle start instances
            if idle > 0:
                hist[a, v, 0] += idle
            n = 0
            c = 0
            for l in range(1, y + 1):
                c += hist[a, v, l - 1]
                for _ in range(min(c, L - n)):
                    lev[a, v, n] = l
                    gv[a, v, n] = g[m, l]
                    n += 1
            nlev[a, v] = n
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
    nodes = np.full(S, -1, dtype=np.int64)
    ks = np.full(S, -1, dtype=np.int64)
    zk = np.zeros(V, dtype=np.int64)
    dummy = np.zeros(1)
    gains = np.full((G, V), -np.inf)
    n_pruned = 0
    n_resumed = 0
    cand = np.empty(lmax + y + 1)
    # track: each stage's hosts in ascending R, for scans that stop early (_sortroute)
    hR = np.empty((S if track else 1, V if track else 1))
    hH = np.empty((S if track else 1, V if track else 1), dtype=np.int64)
    nhs = np.zeros(G, dtype=np.int64)
    kk = np.zeros(V, dtype=np.int64)
    cc = np.zeros(V)
    scr = np.empty((8, V), dtype=np.int64)  # scratch rows of _refresh / route_head / sum_tails
    scf = np.empty((3, V))
    tots = np.empty((G, V))  # candidates' routing objectives (_refresh, without track)
    sk_h, sk_a = scr[1], scr[4]
    # R as a matrix only where pruning or k_nearest need it (the full scans read ready directly)
    needR = track or knear > 0
    R = np.empty((S if needR else 0, V))
    RT = np.empty((V, S) if track else (1, 1))  # R transposed: a node's scan over the stages is contiguous
    if needR:
        for j in range(S):
            i = rows[j]
            for v in range(V):
                r = ready[i, v] - now if up[v] else np.inf
                R[j, v] = r
                if track:
                    RT[v, j] = r
    near = _nearest(R, gptr, knear)
    if track:
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
            base[a] = _rebase(ready, rows[g0:g1_], now, up, w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], zk, track,
                              nodes[g0:g1_], ks[g0:g1_], dhat[g0:g1_], prefix[g0 + a:g1_ + a + 1], dummy,
                              hR[g0:g1_] if track else hR, hH[g0:g1_] if track else hH, nhs[a], kk, cc, g[gms[a]], sk_h,
                              sk_a)
        else:
            r = _refresh(a - G, ready, rows, now, w, pen, gms, gptr, gv, nlev, base, dhat, prefix, gains, x, prev,
                         up, avail, dem, c_dp, c_run, g, y, eta, track, cand, zk, dummy, mono, hR, hH, nhs, kk, cc, RT,
                         near, nodes, scr, scf, tots)
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
        if not track and mono[m]:  # the routing _refresh evaluated for this very instance (tots)
            base[a] = tots[a, v]
        else:
            base[a] = _rebase(ready, rows[g0:g1_], now, up, w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], zk, track,
                              nodes[g0:g1_], ks[g0:g1_], dhat[g0:g1_], prefix[g0 + a:g1_ + a + 1], dummy,
                              hR[g0:g1_] if track else hR, hH[g0:g1_] if track else hH, nhs[a], kk, cc, g[m], sk_h,
                              sk_a)
        r = _refresh(a, ready, rows, now, w, pen, gms, gptr, gv, nlev, base, dhat, prefix, gains, x, prev, up,
                     avail, dem, c_dp, c_run, g, y, eta, track, cand, zk, dummy, mono, hR, hH, nhs, kk, cc, RT, near,
                     nodes, scr, scf, tots)
        n_pruned += r[0]
        n_resumed += r[1]
        for a2 in range(G):
            if a2 != a and gains[a2, v] > -np.inf and not _fits(avail, dem, gms[a2], v):
                gains[a2, v] = -np.inf
    # final routing
    hl = np.empty(V, dtype=np.int64)
    sk_k, sk_c = kk, cc
    level = np.zeros(S, dtype=np.int64)
    dh = np.zeros(S)
    delay = 0.0
    for a in range(G):
        g0, g1_ = gptr[a], gptr[a + 1]
        nh = host_list(nlev[a], up, hl, -1)
        obj = route_group(ready, rows[g0:g1_], now, w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], hl, nh, -1, dummy, 0, 0,
                          zk, 0.0, True, nodes[g0:g1_], ks[g0:g1_], dh[g0:g1_], sk_k, sk_c, sk_a)
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
def _rebase(ready, rows, now, up, w, pen, gv, nlev, zk, track, nodes, ks, dhat, prefix, dummy, hR, hH, nh, kk, cc, gm,
            hl, sk_a):
    """Route one group with its current levels; with ``track`` keep the nodes, d̂ and prefix sums
    (and scan each stage's hosts ``hH[:, :nh]`` in ascending R, :func:`edgefm.control._sortroute.route_sorted`)."""
    if not track:
        nh = host_list(nlev, up, hl, -1)
        return route_group(ready, rows, now, w, pen, gv, nlev, hl, nh, -1, dummy, 0, 0, zk, 0.0, False, nodes, ks, dhat,
                           kk, cc, sk_a)
    base = route_sorted(w, w, pen, gv, nlev, hR, hH, nh, -1, dummy, 0, 0, nodes, 0.0, least_g(gm), True, nodes, ks,
                        dhat, kk, cc, dummy, 0)
    # per-stage counts are recounted from ``nodes`` where needed (_refresh, route_sorted)
    prefix[0] = 0.0
    for i in range(len(w)):
        prefix[i + 1] = prefix[i] + w[i] * dhat[i]
    return base


@njit(cache=True)
def _refresh(a, ready, rows, now, w, pen, gms, gptr, gv, nlev, base, dhat, prefix, gains, x, prev, up, avail, dem,
             c_dp, c_run, g, y, eta, track, cand, zk, dummy, mono, hR, hH, nhs, sk, sc, RT, near, nodes, scr, scf,
             tots):
    """Gains of one more instance of group ``a``'s MS on every node that fits (``refresh`` of solve_greedy).

    Without ``track``, ``tots[a, v]`` keeps each evaluated candidate's routing objective: with g
    nondecreasing it is, bit for bit, the base objective once that instance is added (same g values
    in the same order, same hosts), so :func:`greedy_slot` need not route the group again."""
    m = gms[a]
    g0, g1_ = gptr[a], gptr[a + 1]
    L = g1_ - g0
    V = ready.shape[1]
    n_new = min(y, L)
    pruned = 0
    resumed = 0
    g1 = np.inf
    if track:
        for l in range(1, g.shape[1]):
            if g[m, l] < g1:
                g1 = g[m, l]
    hl0, hl, tv, ti, sk_a = scr[0], scr[1], scr[2], scr[3], scr[4]  # scratch (int)
    tacc, tdc = scf[0], scf[1]  # scratch (float)
    nh0 = host_list(nlev[a], up, hl0, -1)
    nt = 0  # tv/ti/tacc/tdc[:nt]: candidates whose routing ends in a waiting tail
    for v in range(V):
        gains[a, v] = -np.inf
        if not (up[v] and _fits(avail, dem, m, v)) or not (near[a, v] or nlev[a, v] > 0):
            continue
        f = L
        kf = 0  # stages the base routing gave v before stage f
        if track:
            for i in range(L):
                if RT[v, g0 + i] + g1 <= dhat[g0 + i]:
                    f = i
                    break
                if nodes[g0 + i] == v:
                    kf += 1
            if f == L:
                pruned += 1
                continue
            resumed += f
        n = nlev[a, v]
        dcost = eta * (c_dp[m] * (1.0 if x[v, m] + 1 > prev[v, m] else 0.0) + c_run[m])
        if track and (n == 0 or mono[m]):
            # v's offers, sorted(old + new)[:L]: the merge of its levels' g and a new instance's (both sorted),
            # merged as far as the routing reads them (route_sorted)
            ra = gv[a, v, :n] if n else g[m, 1:1 + n_new]
            rb = g[m, 1:1 + n_new] if n else g[m, 1:1]
            nc = min(L, n + n_new)
            # tighter exact start (as below), reading the merge from v's kf-th offer on
            i1 = 0
            i2 = 0
            for _ in range(min(kf, nc)):
                if merge_takes_a(ra, len(ra), i1, rb, len(rb), i2):
                    i1 += 1
                else:
                    i2 += 1
            f2 = L
            kk = kf
            for i in range(f, L):
                if kk < nc:
                    val = ra[i1] if merge_takes_a(ra, len(ra), i1, rb, len(rb), i2) else rb[i2]
                else:
                    val = np.inf
                if RT[v, g0 + i] + val <= dhat[g0 + i]:
                    f2 = i
                    break
                if nodes[g0 + i] == v:
                    if merge_takes_a(ra, len(ra), i1, rb, len(rb), i2):
                        i1 += 1
                    else:
                        i2 += 1
                    kk += 1
            resumed += f2 - f
            if f2 == L:  # the routing is the base one: the gain solve_greedy computes is 0 − dcost
                gains[a, v] = base[a] - base[a] - dcost
                continue
            tot = route_sorted(RT[v, g0:g1_], w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], hR[g0:g1_], hH[g0:g1_], nhs[a], v,
                               ra, nc, f2, nodes[g0:g1_], prefix[g0 + a + f2], g1, False, zk, zk, dummy, sk, sc, rb,
                               len(rb))
            gains[a, v] = base[a] - tot - dcost
            continue
        if n and mono[m]:
            # sorted(old + new)[:L] by g value: both runs are sorted (g nondecreasing), merge them, up to
            # the first +inf (the rest is +inf too, and an infinite offer is never taken: the routing
            # treats the levels past the row's end the same way)
            nc = min(L, n + n_new)
            i1 = 0
            i2 = 0
            for j in range(nc):
                if i2 >= n_new or (i1 < n and gv[a, v, i1] <= g[m, i2 + 1]):
                    val = gv[a, v, i1]
                    i1 += 1
                else:
                    val = g[m, i2 + 1]
                    i2 += 1
                if not val < np.inf:
                    nc = j
                    break
                cand[j] = val
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
        if track:
            # Tighter exact start: until the routings part, v has taken cnt[i, v] stages in both, so
            # stage i sees v at row[cnt[i, v]]; it can only route differently if that is <= its d̂.
            f2 = L
            kk = kf
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
                               row, nc, f, nodes[g0:g1_], prefix[g0 + a + f], g1, False, zk, zk, dummy, sk, sc, dummy, 0)
        else:
            nh = nh0 if n else host_list(nlev[a], up, hl, v)  # v joins the hosts
            tot, i0 = route_head(ready, rows[g0:g1_], now, w[g0:g1_], pen[g0:g1_], gv[a], nlev[a], hl if not n else hl0,
                                 nh, v, row, nc, 0, zk, 0.0, False, zk, zk, dummy, sk, sc, sk_a)
            if i0 < L:  # its waiting tail is summed below, with the other candidates' (route_tail)
                tv[nt] = v
                ti[nt] = i0
                tacc[nt] = tot
                tdc[nt] = dcost
                nt += 1
                continue
            tots[a, v] = tot
        gains[a, v] = base[a] - tot - dcost
    if nt:
        sum_tails(w[g0:g1_], pen[g0:g1_], ti, tacc, nt, scr[5:8], scf[2:3])
        for q in range(nt):
            gains[a, tv[q]] = base[a] - tacc[q] - tdc[q]
            tots[a, tv[q]] = tacc[q]
    return pruned, resumed


@njit(cache=True)
def _stable_order(key, idx, out):
    """``out[:] = idx[argsort(key[idx], kind="mergesort")]`` (a stable sort), skipping the sort when
    ``key[idx]`` is already nondecreasing (the common case: stages come oldest first), where the
    stable order is ``idx`` itself."""
    n = len(idx)
    for j in range(1, n):
        if not (key[idx[j - 1]] <= key[idx[j]]):
            o = np.argsort(key[idx], kind="mergesort")
            for t in range(n):
                out[t] = idx[o[t]]
            return
    for t in range(n):
        out[t] = idx[t]


@njit(cache=True)
def greedy_state(ready, now, up, stage_ms, w, pen, start, prev, avail, dem, c_dp, c_run, g, y, eta, inst_node,
                 inst_ms, inst_jobs, track, tol, knear=0, light=None):
    """:func:`greedy_slot` on a slot's state: builds its inputs as ``slot_problem`` does and
    returns the routing in state order.

    R = ready − now (inf on down nodes); stages grouped by MS (ascending), each
    group in data-ready order (earliest ready time over the nodes, stable);
    start instances busiest first (stable).

    Returns
    -------
    (x, route, level, dhat, delay, added, n_pruned, n_resumed, per)
        ``per`` (V, #light) the E7 cost terms ``max(0, x − prev)·c_dp + x·c_run`` of the ``light``
        columns (ascending; none without ``light``), as numpy computes them: ``η·per.sum() + delay``
        is the E19 objective.
    """
    S, V = ready.shape
    M = start.shape[1]
    first = first_ready(ready, up, now)
    # by MS (counting sort keeps state order), then by first ready time (stable merge sort)
    cnt, byms = group_by_ms(stage_ms, M)
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
        _stable_order(first, byms[lo:hi], perm[lo:hi])
        gms[a] = m
        gptr[a] = lo
        a += 1
    gptr[G] = S
    wg = np.empty(S)
    pg = np.empty(S)
    for j in range(S):
        i = perm[j]
        wg[j] = w[i]
        pg[j] = pen[i]
    order = np.argsort(-inst_jobs, kind="mergesort")
    x, nodes, lev, dh, delay, added, n_pr, n_res = greedy_slot(
        ready, perm, now, wg, pg, gms, gptr, start, prev, up, avail, dem, c_dp, c_run, g, y, eta, inst_node[order],
        inst_ms[order], inst_jobs[order], track, tol, knear)
    route = np.empty(S, dtype=np.int64)
    level = np.empty(S, dtype=np.int64)
    dhat = np.empty(S)
    for j in range(S):
        route[perm[j]] = nodes[j]
        level[perm[j]] = lev[j]
        dhat[perm[j]] = dh[j]
    nl = 0
    if light is not None:
        for m in range(M):
            nl += light[m]
    per = np.empty((V, nl))
    if light is not None:
        for v in range(V):
            c = 0
            for m in range(M):
                if light[m]:
                    inc = x[v, m] - prev[v, m]
                    per[v, c] = (inc if inc > 0 else 0) * c_dp[m] + x[v, m] * c_run[m]
                    c += 1
    return x, route, level, dhat, delay, added, n_pr, n_res, per
