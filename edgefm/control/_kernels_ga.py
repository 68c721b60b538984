"""Compiled kernels of the ``ga`` controller (numba, ``cache=True``): its slot tables, repair, fitness and search.

Each kernel is :mod:`edgefm.control.ga`'s former per-slot Python (and numpy) code, kept
operation for operation so that decisions are bit-identical (``tests/test_goldens.py``;
``tests/test_control.py::test_ga_kernel_equals_reference_each_slot``): sums follow numpy's
pairwise summation (:func:`_pairwise`).
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.typed import Dict

from ._kernels_route import drop_active, first_ready, group_by_ms

__all__ = ["ga_tables", "ga_cache", "ga_fitness", "ga_repair", "ga_search"]


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
                na = drop_active(act, na, b)
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
    first = first_ready(ready, up, now)
    cnt, byms = group_by_ms(stage_ms, M)
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
