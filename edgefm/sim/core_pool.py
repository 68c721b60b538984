"""Core instances that a controller adds or removes during a run (:attr:`Decision.core_counts`).

The paper places the core tier once (E14); a controller may also ask for other core counts in any slot
(docs/model.md §6.6, E31). The engine applies them here, in the slot's decision:

* an instance is removed only when it is idle (no stage dispatched to it is unfinished), newest first;
  a busy one stays until a later decision asks again;
* an added instance joins its MS's pool for dispatch from the next slot on, after a start-up of
  ``core_startup_ms`` (engine option, default 0: the model has no cold-start time), and pays the
  deployment cost c_dp of E6 once, then the upkeep c_mt of every slot in which it exists;
* the node must be up and hold the new instances beside its current core instances (those this decision
  removes included) and this slot's light instances (E8).
"""
from __future__ import annotations

import numpy as np

from ..errors import DecisionError

__all__ = ["resize_core"]


def resize_core(eng, want, t: int, now: float, node_up, light_use, startup_ms: float = 0.0):
    """Apply a controller's core counts to the engine ``eng`` (module doc).

    Parameters
    ----------
    eng : Engine
        Its ``ci_*`` instance arrays, ``core_x``, ``core_use`` and ``core_by_ms`` are updated in place.
    want : array (V, M) of int
        Desired core counts (light columns ignored).
    light_use : array (V, K)
        Resources the light instances of this slot hold.

    Returns
    -------
    (added, removed, deploy_cost)
    """
    sc = eng.sc
    V, M = eng.V, eng.M
    want = np.asarray(want)
    if want.shape != (V, M):
        raise DecisionError(f"slot {t}: core_counts must have shape {(V, M)}, got {want.shape}")
    want = np.where(eng.is_core[None, :], want, 0).astype(np.int64)
    if (want < 0).any():
        raise DecisionError(f"slot {t}: negative core instance count")
    cur = eng.core_x
    add = np.maximum(want - cur, 0)
    adds_on = add.sum(axis=1) > 0
    down = adds_on & ~np.asarray(node_up, bool)
    if down.any():
        v = int(np.flatnonzero(down)[0])
        raise DecisionError(f"slot {t}: core instances added on node {sc.nodes[v].name}, which is down")
    # E8 with the additions on top of the current core: a removal asked in the same decision may be clamped
    over = (cur + add) @ sc.demand + light_use - sc.capacity
    bad = (over > 1e-9) & adds_on[:, None]
    if bad.any():
        v = int(np.argwhere(bad)[0][0])
        raise DecisionError(f"slot {t}: node {sc.nodes[v].name} over capacity (E8) after adding core instances")
    removed = 0
    for v, m in zip(*np.nonzero(want < cur)):
        ids = np.flatnonzero(eng.ci_alive & (eng.ci_node == v) & (eng.ci_ms == m))
        idle = ids[eng.ci_busy[ids] <= now][::-1]  # newest first
        drop = idle[:int(cur[v, m] - want[v, m])]
        eng.ci_alive[drop] = False
        eng.ci_up[drop] = False
        removed += len(drop)
    nodes, mss = np.nonzero(add)
    reps = add[nodes, mss]
    new_node, new_ms = np.repeat(nodes, reps), np.repeat(mss, reps)
    k = len(new_node)
    if k:
        eng.ci_node = np.concatenate([eng.ci_node, new_node])
        eng.ci_ms = np.concatenate([eng.ci_ms, new_ms])
        eng.ci_busy = np.concatenate([eng.ci_busy, np.full(k, now + eng.dt + float(startup_ms))])
        eng.ci_commit = np.concatenate([eng.ci_commit, np.zeros(k)])
        eng.ci_up = np.concatenate([eng.ci_up, np.ones(k, dtype=bool)])
        eng.ci_alive = np.concatenate([eng.ci_alive, np.ones(k, dtype=bool)])
    if k or removed:
        x = np.zeros((V, M), dtype=np.int64)
        np.add.at(x, (eng.ci_node[eng.ci_alive], eng.ci_ms[eng.ci_alive]), 1)
        eng.core_x = x
        eng.core_use = x @ sc.demand
        eng.core_by_ms = {m: np.flatnonzero(eng.ci_alive & (eng.ci_ms == m)) for m in range(M)}
    c_dp = np.array([m.cost_deploy for m in sc.microservices])
    return k, removed, float((add * c_dp[None, :]).sum())
