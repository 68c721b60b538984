"""Greedy routing of one light MS group given its instances' free levels (numba, ``cache=True``).

Algorithm 1 (docs/model.md §6.5) routes the waiting stages of a light MS, in
data-ready order, each to the host minimising ``d̂ = (ready − now) + g(l)``
(E19: the E21 delay of the host's next free level l), ties to the lowest node
index; a stage whose best d̂ is not below its unassigned penalty 2D_n + Δ waits.
:func:`route_head` scans the hosts whose next offer is finite and stops once
none is left; every later stage then waits, and :func:`route_tail` (one
routing) or :func:`sum_tails` (several, in lock-step) add their penalties in
stage order, so that each objective is bit for bit the full scan's
(:func:`edgefm.control.proposed.route_levels`). Large networks scan each stage's
hosts in ascending R instead (:mod:`edgefm.control._sortroute`).

A stage's ready − now at node v is ``ready[rows[i], v] − now``: ``rows`` maps the
group's stages to rows of the slot's (S, V) ready times, which are not copied.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["drop_active", "first_ready", "group_by_ms", "route_head", "route_tail", "route_group", "sum_tails", "host_list"]


@njit(cache=True)
def drop_active(act, na, h):
    """Remove host ``h`` from the first ``na`` entries of ``act`` (order kept); returns the new count."""
    t = 0
    for q in range(na):
        if act[q] != h:
            act[t] = act[q]
            t += 1
    return t


@njit(cache=True)
def first_ready(ready, up, now):
    """Earliest data-ready time − ``now`` of each waiting stage over the up nodes, shape (S,)
    (``inf`` where no node is up)."""
    S, V = ready.shape
    allup = True
    for v in range(V):
        allup = allup and up[v]
    first = np.empty(S)
    for i in range(S):
        if allup and V > 0:  # min(ready) − now: the least ready − now (subtraction is monotone)
            f = ready[i, 0]
            for v in range(1, V):
                if ready[i, v] < f:
                    f = ready[i, v]
            first[i] = f - now
            continue
        f = np.inf
        for v in range(V):
            r = ready[i, v] - now if up[v] else np.inf
            if r < f:
                f = r
        first[i] = f
    return first


@njit(cache=True)
def group_by_ms(stage_ms, M):
    """Stages grouped by MS, each group in state order (a counting sort): ``byms[cnt[m]:cnt[m + 1]]``
    are the positions of MS m's stages in ``stage_ms``."""
    S = len(stage_ms)
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
    return cnt, byms


@njit(cache=True)
def route_head(ready, rows, now, w, pen, gv, nlev, hl, nh, ov, orow, norow, start, k0, obj0, want, nodes, ks, dh, k,
               cur, act):
    """Greedy routing of one MS (:func:`edgefm.control.proposed.route_levels`) up to its tail.

    Stage i's ready − now at node v is ``ready[rows[i], v] − now``. ``hl[:nh]`` are the
    hosting nodes (up), ascending; ``gv[v, :nlev[v]]`` node v's
    g values in level order, except node ``ov`` (if ≥ 0), which uses
    ``orow[:norow]``. Stages ``start``… resume with per-node counts ``k0``
    and running objective ``obj0``. With ``want`` the node, level slot and d̂
    of each stage are written to ``nodes``, ``ks``, ``dh``. ``k``, ``cur``, ``act``
    are (≥ nh,) scratch arrays (int, float, int).

    A host whose next offer is +inf (no level left, or an occupancy with no
    θ*) can never be chosen again in this routing (R + inf is never below a
    stage's best), so it leaves the scan; once no host is left, every later
    stage waits. Returns ``(obj, i)``: the objective up to stage ``i`` (the first
    stage with no host left, S if none), to which :func:`route_tail` adds
    the waiting stages ``i…`` in order (the sum of the full scan, bit for bit).
    """
    S = len(rows)
    na = 0  # act[:na]: the hosts (positions in hl) whose next offer is finite, ascending
    for h in range(nh):
        v = hl[h]
        k[h] = k0[v]
        n = norow if v == ov else nlev[v]
        if k[h] < n:
            cur[h] = orow[k[h]] if v == ov else gv[v, k[h]]
        else:
            cur[h] = np.inf
        if cur[h] < np.inf:
            act[na] = h
            na += 1
    obj = obj0
    for i in range(start, S):
        if na == 0:
            return obj, i
        best = pen[i]
        bh = -1
        r = rows[i]
        for q in range(na):
            h = act[q]
            d = (ready[r, hl[h]] - now) + cur[h]
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
            if not cur[bh] < np.inf:  # exhausted: never chosen again
                na = drop_active(act, na, bh)
        elif want:
            nodes[i] = -1
            ks[i] = -1
        if want:
            dh[i] = best
    return obj, S


@njit(cache=True)
def route_tail(obj, w, pen, i0, want, nodes, ks, dh):
    """Stages ``i0…`` of a routing with no host left: each waits at its penalty (``obj`` += w·pen in order)."""
    for i in range(i0, len(w)):
        obj += w[i] * pen[i]
        if want:
            nodes[i] = -1
            ks[i] = -1
            dh[i] = pen[i]
    return obj


@njit(cache=True)
def route_group(ready, rows, now, w, pen, gv, nlev, hl, nh, ov, orow, norow, start, k0, obj0, want, nodes, ks, dh,
                k, cur, act):
    """Greedy routing of one MS (:func:`route_head`, then :func:`route_tail`); returns Σ w·d̂ (+ ``obj0``)."""
    obj, i0 = route_head(ready, rows, now, w, pen, gv, nlev, hl, nh, ov, orow, norow, start, k0, obj0, want, nodes,
                         ks, dh, k, cur, act)
    return route_tail(obj, w, pen, i0, want, nodes, ks, dh)


@njit(cache=True)
def sum_tails(w, pen, ti, tacc, nt, scr, scf):
    """:func:`route_tail` of ``nt`` routings at once, in place: routing q, at ``tacc[q]`` before stage
    ``ti[q]``, adds ``w[i]·pen[i]`` for i = ti[q]… in order, so each sum is bit for bit its own loop's.
    Routings with the same start stage and value (bit for bit, sign of zero included) share one sum
    (common: a new instance that takes the same stage at the same d̂ on several nodes), and the sums run
    in lock-step so that their additions overlap. ``scr`` (3, ≥ nt) int and ``scf`` (1, ≥ nt) float scratch."""
    own, ui, uid = scr[0], scr[1], scr[2]
    uacc = scf[0]
    nu = 0
    for q in range(nt):
        u = -1
        for p in range(nu):
            if ui[p] == ti[q] and uacc[p] == tacc[q] and math.copysign(1.0, uacc[p]) == math.copysign(1.0, tacc[q]):
                u = p
                break
        if u < 0:
            u = nu
            ui[u] = ti[q]
            uacc[u] = tacc[q]
            uid[u] = u
            nu += 1
        own[q] = u
    for p in range(1, nu):  # insertion sort of the distinct sums by start stage (nu ≤ V)
        j = p
        while j > 0 and ui[j - 1] > ui[j]:
            ui[j - 1], ui[j] = ui[j], ui[j - 1]
            uacc[j - 1], uacc[j] = uacc[j], uacc[j - 1]
            uid[j - 1], uid[j] = uid[j], uid[j - 1]
            j -= 1
    c = 0
    for i in range(ui[0], len(w)):
        while c < nu and ui[c] <= i:
            c += 1
        t = w[i] * pen[i]
        for p in range(c):
            uacc[p] += t
    for p in range(nu):  # distinct sum uid[p] (in order of first use) is uacc[p]
        ui[uid[p]] = p
    for q in range(nt):
        tacc[q] = uacc[ui[own[q]]]


@njit(cache=True)
def host_list(nlev, up, out, extra):
    """Up nodes with levels (and ``extra`` if ≥ 0), ascending, into ``out``; returns how many.

    (A down node's ready − now is +inf: it can never take a stage, with or without levels.)"""
    n = 0
    for v in range(len(nlev)):
        if (nlev[v] > 0 or v == extra) and up[v]:
            out[n] = v
            n += 1
    return n
