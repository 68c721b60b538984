"""Re-planning after a node failure for the ``edgefm`` controller (docs/model.md E32; option ``recover``).

The paper's tier 1 runs once, so a failed node's core instances are gone for the rest of the run and
its pools serve only what the survivors can (E27 thins the admission to that). E32 instead solves
the provisioning program E24 again, once per change of the set of up nodes, on the surviving network:

* the failed nodes hold nothing (their capacity is zero in the program; their links still carry
  transfers, as in the failure model of docs/model.md §6.6);
* every core instance that survived is kept (a lower bound x_{v,m} ≥ x⁰_{v,m} on the core counts:
  running instances are not moved), and the program adds core instances where the room left by
  them allows, chooses the light pools and the admitted rates α′ as E24 does: the most tasks, then
  the cheapest instances, then the shortest paths;
* no spread limit (E24's fault-tolerance rows guard against the *first* failure).

The new core instances are started by :attr:`~edgefm.control.base.Decision.core_counts`
(:mod:`edgefm.sim.core_pool`: each pays E6's deployment cost once and serves after the engine's
``core_startup_ms``). An addition must fit beside the node's current light instances, so the
controller starts what fits at once and the rest as light instances leave (:func:`staged_counts`).
When every node is up again the controller returns to its original plan and removes the added
instances as they fall idle.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

__all__ = ["surviving", "recovery_plan", "staged_counts"]


def surviving(scenario, node_up):
    """The scenario with the capacity of every down node set to zero (links unchanged).

    Parameters
    ----------
    scenario : Scenario
    node_up : array (V,) of bool

    Examples
    --------
    >>> import edgefm, numpy as np
    >>> s = edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=0)
    >>> up = np.ones(s.n_nodes, bool); up[0] = False
    >>> float(surviving(s, up).capacity[0].sum()), bool((surviving(s, up).capacity[1:] == s.capacity[1:]).all())
    (0.0, True)
    """
    up = np.asarray(node_up, bool)
    if up.shape != (scenario.n_nodes,):
        raise ValueError(f"node_up must have one entry per node ({scenario.n_nodes}), got shape {up.shape}")
    nodes = tuple(n if ok else replace(n, capacity=tuple(0.0 for _ in n.capacity)) for n, ok in zip(scenario.nodes, up))
    return replace(scenario, nodes=nodes)


def recovery_plan(scenario, core_x, node_up, eps: float | None = 0.05, time_limit: float | None = 60.0):
    """E32: E24 on the surviving nodes, keeping every surviving core instance (module doc).

    Parameters
    ----------
    scenario : Scenario
    core_x : array (V, M) of int
        Core instances alive before the re-plan (those on down nodes are ignored).
    node_up : array (V,) of bool
    eps : float or None
        ε of the queue sizing (E22–E23), as in the original plan.

    Returns
    -------
    Provision
        Of the surviving scenario: ``x`` ≥ the surviving core counts, zero on down nodes.
    """
    from ..placement.provision import provision

    up = np.asarray(node_up, bool)
    floor = np.where(up[:, None], np.asarray(core_x, dtype=np.int64), 0)
    return provision(surviving(scenario, up), core_floor=floor, eps=eps, spread=None, time_limit=time_limit)


def staged_counts(target, current, free, demand) -> np.ndarray:
    """Core counts that move ``current`` toward ``target`` with the room there is now.

    Removals are asked in full (the engine removes idle instances only); additions are taken node by
    node, MS by MS (the largest demand first), as long as they fit in ``free``.

    Parameters
    ----------
    target, current : array (V, M) of int
    free : array (V, K)
        Room on each node after its current core and light instances (0 or less on a down node).
    demand : array (M, K)
        Resources per instance.

    Examples
    --------
    >>> import numpy as np
    >>> staged_counts(np.array([[3]]), np.array([[1]]), np.array([[1.5]]), np.array([[1.0]]))
    array([[2]])
    """
    target = np.asarray(target, dtype=np.int64)
    out = np.minimum(target, np.asarray(current, dtype=np.int64))
    add = target - out
    free = np.array(free, dtype=float)
    demand = np.asarray(demand, float)
    order = np.argsort(-demand.sum(axis=1), kind="stable")
    for v in np.flatnonzero(add.sum(axis=1) > 0).tolist():
        for m in order.tolist():
            k = int(add[v, m])
            while k > 0 and (free[v] >= demand[m] - 1e-12).all():
                out[v, m] += 1
                free[v] -= demand[m]
                k -= 1
    return out
