"""Compiled inner loops of the engine (numba, ``cache=True``).

Each kernel is the engine's former per-stage / per-job Python loop, written
over the struct-of-arrays state and kept operation for operation (same
comparisons, same order of floating-point operations), so results are
bit-identical to the loops they replace (``tests/test_goldens.py``).

The first call of a kernel in a fresh environment compiles it (a few seconds
for the whole module); the machine code is cached next to this file, so later
processes load it in milliseconds.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["finish_events", "dispatch_core", "light_service", "route_light", "shed_queues"]


@njit(cache=True)
def finish_events(ev_s, ev_g, st_gen, task_shed, st_task, st_child, st_finish, st_left, task_finish, task_done):
    """Process the finish events of one slot boundary, in order.

    An event (stage, generation) is stale when the stage was reset since
    (generation changed) or its task was shed. A last stage finishes its task;
    another decrements its child's count of unfinished parents.

    Returns
    -------
    ndarray of int64
        The child stages released (their last parent finished), in order.
    """
    out = np.empty(len(ev_s), dtype=np.int64)
    n = 0
    for e in range(len(ev_s)):
        s = ev_s[e]
        if ev_g[e] != st_gen[s] or task_shed[st_task[s]]:
            continue
        c = st_child[s]
        if c < 0:
            j = st_task[s]
            task_finish[j] = st_finish[s]
            task_done[j] = True
        else:
            st_left[c] -= 1
            if st_left[c] == 0:
                out[n] = c
                n += 1
    return out[:n]


@njit(cache=True)
def dispatch_core(waiting, ids, ci_busy, ci_up, ci_node, st_rdy, now, dt, base, min_scale, task_scale, st_task,
                  st_node, st_start, st_finish, st_gen, ci_commit, hold=False):
    """Dispatch the waiting stages of one core MS (docs/model.md §6.6).

    Oldest task first (ascending stage id), each stage goes to the available
    instance (up, free before the slot ends) where it starts earliest (first
    such instance on ties); an instance busy past the slot end stops being
    available. ``base`` is the MS's work / rate (service time at scale 1).
    ``ci_commit`` (per instance) accumulates the time each dispatch commits the
    instance for: from when it was free (or now) to the stage's finish, i.e. the
    service plus the idle wait for the stage's data (docs/model.md E28).

    ``hold`` (E30): a stage whose earliest start is after the slot's end is not
    dispatched; it keeps its place in the queue and the next stages are tried, so
    an instance never idles committed to data still in transit.

    Returns
    -------
    (remaining, ev_s, ev_g, ev_b)
        Stages still waiting (sorted, as ``waiting`` must be) and the finish events (stage,
        generation, bucket slot) in dispatch order.
    """
    w = waiting  # sorted by the engine
    K = len(ids)
    end = now + dt
    busy = np.empty(K)
    avail = np.empty(K, dtype=np.int64)
    na = 0
    for k in range(K):
        busy[k] = ci_busy[ids[k]]
        if ci_up[ids[k]] and busy[k] <= end:
            avail[na] = k
            na += 1
    if na == 0:
        return w, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    if hold:  # a held stage is skipped, not a stop: every waiting stage may be tried
        n = len(w)
    else:  # no more stages than the instances' free time in the slot can start
        tot = 0.0
        for a in range(na):
            k = avail[a]
            tot += end - (busy[k] if busy[k] > now else now)
        n = min(len(w), na + int(tot / (base * min_scale)) + 1)
    ev_s = np.empty(n, np.int64)
    ev_g = np.empty(n, np.int64)
    ev_b = np.empty(n, np.int64)
    keep = np.empty(len(w), np.int64)
    nk = 0
    nd = 0
    r = 0
    while r < n:
        s = w[r]
        r += 1
        svc = base * task_scale[st_task[s]]
        best = -1
        bstart = math.inf
        for a in range(na):
            k = avail[a]
            rk = st_rdy[s, ci_node[ids[k]]]
            if now > rk:
                rk = now
            st = rk if rk > busy[k] else busy[k]
            if st < bstart:
                best = k
                bstart = st
        if hold and bstart > end:
            keep[nk] = s
            nk += 1
            continue
        fin = bstart + svc
        ci_commit[ids[best]] += fin - (busy[best] if busy[best] > now else now)
        busy[best] = fin
        st_node[s] = ci_node[ids[best]]
        st_start[s] = bstart
        st_finish[s] = fin
        ev_s[nd] = s
        ev_g[nd] = st_gen[s]
        ev_b[nd] = int(math.ceil(fin / dt))
        nd += 1
        if fin > end:
            for a in range(na):
                if avail[a] == best:
                    for b in range(a, na - 1):
                        avail[b] = avail[b + 1]
                    na -= 1
                    break
            if na == 0:
                break
    for q in range(r, len(w)):
        keep[nk] = w[q]
        nk += 1
    for k in range(K):
        ci_busy[ids[k]] = busy[k]
    return keep[:nk].copy(), ev_s[:nd], ev_g[:nd], ev_b[:nd]


@njit(cache=True)
def light_service(order, rates, i_ms, i_rem, i_qlen, q_rt, q_s, ms_work, now, dt, st_start, st_finish, st_gen):
    """Serve the light instances ``order`` (busy ones, with this slot's rates) in [now, now + dt).

    Each instance spends rate·Δ on its queue in data-ready order; a job that
    does not fit keeps its remaining work for the next slot.

    Returns
    -------
    (ev_s, ev_g, ev_b)
        Finish events (stage, generation, bucket slot) in service order.
    """
    tot = 0
    for o in range(len(order)):
        tot += i_qlen[order[o]]
    ev_s = np.empty(tot, np.int64)
    ev_g = np.empty(tot, np.int64)
    ev_b = np.empty(tot, np.int64)
    ne = 0
    end = now + dt
    for o in range(len(order)):
        i = order[o]
        rate = rates[o]
        m = i_ms[i]
        cur = now
        while i_qlen[i] > 0:
            rt = q_rt[i, 0]
            s = q_s[i, 0]
            if rt >= end:
                break
            if i_rem[i] == 0.0:
                i_rem[i] = ms_work[m] * 1.0
                st_start[s] = cur if cur >= rt else rt
            cur = cur if cur >= rt else rt
            if rate <= 0:
                break
            need = i_rem[i] / rate
            if cur + need <= end:
                cur += need
                i_rem[i] = 0.0
                q = i_qlen[i]
                for b in range(q - 1):
                    q_rt[i, b] = q_rt[i, b + 1]
                    q_s[i, b] = q_s[i, b + 1]
                i_qlen[i] = q - 1
                st_finish[s] = cur
                ev_s[ne] = s
                ev_g[ne] = st_gen[s]
                ev_b[ne] = int(math.ceil(cur / dt))
                ne += 1
            else:
                i_rem[i] -= rate * (end - cur)
                break
    return ev_s[:ne], ev_g[:ne], ev_b[:ne]


@njit(cache=True)
def route_light(lw, route, ready, st_ms, M, key_start, key_len, key_ids, ypar, i_qlen, q_rt, q_s, st_node):
    """Apply a routing decision to the waiting light stages ``lw``, in order.

    ``route[r]`` is a node, −1 (keep waiting) or −2 (shed: drop). A routed stage
    joins the least-occupied instance of its MS on that node (first on ties),
    its queue kept sorted by (data-ready time, stage); when that instance is
    at its cap y the stage keeps waiting (an overflow).

    Returns
    -------
    (keep, overflow, error)
        Stages still waiting, the overflow count, and the row of the first
        stage routed to a node without an instance of its MS (−1 if none; the
        kernel stops there).
    """
    keep = np.empty(len(lw), np.int64)
    nk = 0
    overflow = 0
    for r in range(len(lw)):
        s = lw[r]
        v = route[r]
        if v == -2:
            continue
        if v < 0:
            keep[nk] = s
            nk += 1
            continue
        m = st_ms[s]
        key = v * M + m
        if key_len[key] == 0:
            return keep[:nk], overflow, r
        a = key_start[key]
        best = key_ids[a]
        for b in range(a + 1, a + key_len[key]):
            if i_qlen[key_ids[b]] < i_qlen[best]:
                best = key_ids[b]
        q = i_qlen[best]
        if q >= ypar[v, m]:
            overflow += 1
            keep[nk] = s
            nk += 1
            continue
        rt = ready[r, v]
        pos = q  # insort_right on (ready, stage) pairs
        while pos > 0 and (q_rt[best, pos - 1] > rt or (q_rt[best, pos - 1] == rt and q_s[best, pos - 1] > s)):
            pos -= 1
        for b in range(q, pos, -1):
            q_rt[best, b] = q_rt[best, b - 1]
            q_s[best, b] = q_s[best, b - 1]
        q_rt[best, pos] = rt
        q_s[best, pos] = s
        i_qlen[best] = q + 1
        st_node[s] = v
    return keep[:nk], overflow, -1


@njit(cache=True)
def shed_queues(ids, i_rem, i_qlen, q_rt, q_s, st_task, task_shed):
    """Remove the queued jobs of shed tasks from the instances ``ids``; a started head job stays."""
    for i in ids:
        q = i_qlen[i]
        n = 0
        for b in range(q):
            s = q_s[i, b]
            if (b == 0 and i_rem[i] > 0) or not task_shed[st_task[s]]:
                q_rt[i, n] = q_rt[i, b]
                q_s[i, n] = s
                n += 1
        i_qlen[i] = n


@njit(cache=True)
def ready_rows(stages, st_npar, st_par, st_task, st_ms, st_finish, st_node, task_arrival, task_ul, task_input,
               task_gw, ms_out, per_mb, st_rdy):
    """Fill ``st_rdy[s]`` (data-ready time at every node, E3–E4) of the released ``stages``.

    Zero-propagation networks only: moving b MB from u to v takes b·per_mb[u, v].
    A root stage's input leaves its gateway at arrival + uplink; another
    stage's data are ready when the last parent output arrives.
    """
    V = per_mb.shape[1]
    for i in range(len(stages)):
        s = stages[i]
        if st_npar[s] == 0:
            j = st_task[s]
            base = task_arrival[j] + task_ul[j]
            b = task_input[j]
            g = task_gw[j]
            for v in range(V):
                st_rdy[s, v] = base + b * per_mb[g, v]
        else:
            for v in range(V):
                st_rdy[s, v] = -np.inf
            for k in range(st_par.shape[1]):
                p = st_par[s, k]
                if p < 0:
                    continue
                f = st_finish[p]
                b = ms_out[st_ms[p]]
                u = st_node[p]
                for v in range(V):
                    r = f + b * per_mb[u, v]
                    if r > st_rdy[s, v]:
                        st_rdy[s, v] = r


@njit(cache=True)
def active_tasks(lo, hi, task_done, task_shed):
    """Ids in [lo, hi) of tasks neither finished nor shed, and the first such id (``hi`` if none)."""
    out = np.empty(hi - lo, dtype=np.int64)
    n = 0
    for j in range(lo, hi):  # branch-free: finished and active tasks interleave unpredictably
        out[n] = j
        n += 1 - (task_done[j] | task_shed[j])
    return out[:n], (out[0] if n else hi)


@njit(cache=True)
def ready_at(st_rdy, stages, now):
    """``np.maximum(st_rdy[stages], now)`` in one pass: the (S, V) data-ready times of the waiting
    ``stages`` at every node, never earlier than ``now`` (the engine's State.ready)."""
    V = st_rdy.shape[1]
    out = np.empty((len(stages), V))
    for i in range(len(stages)):
        s = stages[i]
        for v in range(V):
            r = st_rdy[s, v]
            out[i, v] = r if r > now else now
    return out
