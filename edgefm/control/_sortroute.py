"""Host scans in data-ready order for Algorithm 1 on large networks (numba, ``cache=True``; issue 13).

Algorithm 1 (docs/model.md §6.5) routes each waiting stage of a light MS to the
host minimising ``d̂ = R[i, h] + g(l)`` (E19: ready − now, then the E21 delay
of the next free level l on h), ties to the lowest node index; a stage whose
best d̂ is not below its unassigned penalty 2D_n + Δ waits. On 100 nodes this
scan over the hosts of every stage, repeated for every candidate instance,
is most of a slot's decision time.

Every offer is at least ``g1 = min_{l ≥ 1} g(l)``, so a host with
``R[i, h] + g1 > best`` cannot beat or tie the best offer found so far (float
addition is monotone, so ``fl(R + g) ≥ fl(R + g1)``). Scanning each stage's
hosts in ascending R (:func:`sort_hosts`, kept per stage and MS group) can
therefore stop at the first such host: on germany50 about 1.4 of 28 hosts
are looked at. The winner is the same host with the same d̂ (ties are broken
explicitly by node index), and the objective is accumulated in stage order,
so every gain and decision is bit for bit the one of the full scan
(:func:`edgefm.control._kernels_route.route_group`; ``tests/test_goldens.py``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sort_hosts", "insert_host", "route_sorted", "least_g", "merge_takes_a"]


@njit(cache=True, inline="always")
def merge_takes_a(A, nA, i1, B, nB, i2):
    """Whether the merge of the sorted runs ``A[:nA]`` and ``B[:nB]`` (ties to A) takes its next value,
    after ``i1`` of A and ``i2`` of B, from A (a candidate's offers: its old levels and a new instance's)."""
    return i2 >= nB or (i1 < nA and A[i1] <= B[i2])


@njit(cache=True)
def least_g(gm):
    """``min_{l ≥ 1} gm[l]`` of an MS's g row: no level offers an E21 delay below it."""
    g1 = np.inf
    for l in range(1, len(gm)):
        if gm[l] < g1:
            g1 = gm[l]
    return g1


@njit(cache=True)
def insert_host(R, hR, hH, nh, v):
    """Insert node v into every stage's host list (``hR[i, :nh]`` ascending R, nodes ``hH[i, :nh]``)."""
    for i in range(R.shape[0]):
        r = R[i, v]
        j = nh
        while j > 0 and hR[i, j - 1] > r:
            hR[i, j] = hR[i, j - 1]
            hH[i, j] = hH[i, j - 1]
            j -= 1
        hR[i, j] = r
        hH[i, j] = v


@njit(cache=True)
def sort_hosts(R, nlev, hR, hH):
    """Per stage i, the nodes with levels (``nlev > 0``) in ascending ``R[i, ·]``; returns how many."""
    nh = 0
    for v in range(len(nlev)):
        if nlev[v] > 0:
            insert_host(R, hR, hH, nh, v)
            nh += 1
    return nh


@njit(cache=True, inline="always")
def route_sorted(rov, w, pen, gv, nlev, hR, hH, nh, ov, orow, norow, start, bnodes, obj0, g1, want, nodes, ks, dh, k,
                 cur, orow_b, nb):
    """Greedy routing of one MS group, scanning each stage's hosts in ascending R.

    Same value and routing, bit for bit, as :func:`edgefm.control._kernels_route.route_group` with the same
    hosts (``hH[i, :nh]``, plus ``ov`` if ≥ 0 and not among them).

    Parameters
    ----------
    rov, w, pen : arrays
        (S,) ready − now at node ``ov`` (read only if ``ov`` ≥ 0; the hosts' are in ``hR``), (S,) debts H
        (E18), (S,) unassigned penalties 2D_n + Δ.
    gv, nlev : arrays
        ``gv[v, :nlev[v]]``, node v's E21 delays in level order; node ``ov`` (if ≥ 0) uses the first
        ``norow`` values of the merge of ``orow`` (its own length) and ``orow_b[:nb]`` (both sorted,
        ties to ``orow``; :func:`merge_takes_a`), merged as they are used.
    hR, hH, nh : arrays, int
        Per stage the hosts in ascending R (:func:`sort_hosts`).
    start, bnodes, obj0 : int, array, float
        Resume at stage ``start`` with the per-node counts of ``bnodes[:start]`` (the base routing's
        nodes, −1 = wait; the routings agree before ``start``) and running objective ``obj0``.
    g1 : float
        :func:`least_g` of the MS.
    want : bool
        Write each stage's node (−1 = wait), level slot and d̂ to ``nodes``, ``ks``, ``dh``.
    k, cur : arrays (scratch)
        (V,) int and (V,) float.

    Returns
    -------
    float
        ``obj0 + Σ_{i ≥ start} w_i d̂_i``, summed in stage order.
    """
    S = len(w)
    if S == start:
        return obj0
    for j in range(nh):
        k[hH[start, j]] = 0
    if ov >= 0:
        k[ov] = 0
    for j in range(start):
        if bnodes[j] >= 0:
            k[bnodes[j]] += 1
    for j in range(nh):
        h = hH[start, j]
        cur[h] = gv[h, k[h]] if k[h] < nlev[h] else np.inf
    na_ = len(orow)
    i1 = 0
    i2 = 0
    if ov >= 0:
        for _ in range(min(k[ov], norow)):  # the offers the base routing's stages before start used
            if merge_takes_a(orow, na_, i1, orow_b, nb, i2):
                i1 += 1
            else:
                i2 += 1
        if k[ov] < norow:
            cur[ov] = orow[i1] if merge_takes_a(orow, na_, i1, orow_b, nb, i2) else orow_b[i2]
        else:
            cur[ov] = np.inf
    obj = obj0
    for i in range(start, S):
        best = pen[i]
        bh = -1
        if ov >= 0:
            d = rov[i] + cur[ov]
            if d < best:
                best = d
                bh = ov
        for j in range(nh):
            r = hR[i, j]
            if r + g1 > best:
                break
            h = hH[i, j]
            if h == ov:
                continue
            d = r + cur[h]
            if d < best or (d == best and bh >= 0 and h < bh):
                best = d
                bh = h
        obj += w[i] * best
        if bh >= 0:
            kv = k[bh]
            if want:
                nodes[i] = bh
                ks[i] = kv
            kv += 1
            k[bh] = kv
            if bh == ov:
                if merge_takes_a(orow, na_, i1, orow_b, nb, i2):
                    i1 += 1
                else:
                    i2 += 1
                if kv < norow:
                    cur[bh] = orow[i1] if merge_takes_a(orow, na_, i1, orow_b, nb, i2) else orow_b[i2]
                else:
                    cur[bh] = np.inf
            else:
                cur[bh] = gv[bh, kv] if kv < nlev[bh] else np.inf
        elif want:
            nodes[i] = -1
            ks[i] = -1
        if want:
            dh[i] = best
    return obj
