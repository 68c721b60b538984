"""Latency-debt virtual queues and the drift-plus-penalty objective (E18–E19).

Each active task j carries a latency debt (Eq. E18)

    H_j(t) = max(H_min, H_j(t−1) + age_j(t) − D_n),    age_j(t) = t·Δ − arrival_j,

so a task younger than its deadline keeps the floor H_min and a late task's
weight grows every slot it stays unfinished. Each slot the tier-2 controller
minimises the drift-plus-penalty bound (Eq. E19; Neely 2010)

    η · C_light(t) + Σ_{waiting light stages s} H_{j(s)} · d̂_s,

with C_light(t) of Eq. E7 and d̂_s the predicted delay of stage s. Choices made
here where docs/model.md §6.3–6.4 leaves room (all documented, all exercised by tests):

- ``age`` is measured at the slot boundary ``now`` (the decision time), the
  update runs once per slot for the tasks active in that slot, and a task's
  debt starts at H_min when it arrives.
- d̂_s for stage s routed to node v and admitted as the l-th job of an
  instance is ``(ready_{s,v} − now) + g(l)``: the instance is "free" for
  admission as soon as it has room (< y jobs), and the wait behind the jobs it
  already holds is inside g(l) (E21 with l jobs); adding the backlog again
  would count it twice.
- An unassigned stage pays ``2 D_n + Δ``.

The objective separates by light MS once the instance counts are fixed, which
is what :mod:`edgefm.control.proposed` exploits.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["LatencyDebt", "light_cost", "light_cost_ms", "unassigned_penalty", "dpp_objective"]


@njit(cache=True)
def debt_update(H, arrival, deadline, active, now, h_min):
    """Eq. E18 for the ``active`` task ids, in place; returns their new H (as LatencyDebt.peek/update).

    Every new H is computed from the old ones (an id listed twice gets the same value twice); with
    strictly increasing ids (the engine's) each H is read once before it is written, in one pass."""
    n = len(active)
    out = np.empty(n)
    uniq = True
    for i in range(1, n):
        if active[i] <= active[i - 1]:
            uniq = False
            break
    for i in range(n):
        j = active[i]
        v = H[j] + (now - arrival[j]) - deadline[j]
        out[i] = h_min if h_min > v else v
        if uniq:
            H[j] = out[i]
    if not uniq:
        for i in range(n):
            H[active[i]] = out[i]
    return out


class LatencyDebt:
    """The virtual queues H_j of Eq. E18, one per task, vectorised.

    Parameters
    ----------
    arrival_ms, deadline_ms : array, shape (J,)
        Arrival time and deadline D_n of every task of the run.
    h_min : float
        Floor H_min (docs/model.md §6.3: 1).

    Examples
    --------
    >>> d = LatencyDebt([0.0], [2.0], h_min=1.0)
    >>> [float(d.update([0], now)[0]) for now in (0.0, 1.0, 2.0, 3.0, 4.0)]
    [1.0, 1.0, 1.0, 2.0, 4.0]
    """

    def __init__(self, arrival_ms, deadline_ms, h_min: float = 1.0):
        self.arrival = np.asarray(arrival_ms, dtype=float)
        self.deadline = np.asarray(deadline_ms, dtype=float)
        self.h_min = float(h_min)
        self.H = np.full(self.arrival.shape, self.h_min)

    def peek(self, active, now: float) -> np.ndarray:
        """H_j(t) for the ``active`` task ids at time ``now`` without storing it."""
        a = np.asarray(active, dtype=np.int64)
        age = now - self.arrival[a]
        return np.maximum(self.h_min, self.H[a] + age - self.deadline[a])

    def update(self, active, now: float) -> np.ndarray:
        """Apply Eq. E18 once for the ``active`` tasks; returns their new H."""
        a = np.ascontiguousarray(active, dtype=np.int64)
        return debt_update(self.H, self.arrival, self.deadline, a, float(now), self.h_min)

    def weights(self, tasks) -> np.ndarray:
        """Current H of the given task ids (e.g. ``state.stage_task``)."""
        return self.H[np.asarray(tasks, dtype=np.int64)]


def light_cost_ms(counts, prev, c_dp: float, c_run: float):
    """E7 cost of one light MS: ``c_dp · Σ max(0, x − x_prev) + c_run · Σ x``
    with ``c_run = c_mt + c_pl``. Works on arrays of any matching shape."""
    counts = np.asarray(counts)
    return c_dp * np.maximum(0, counts - np.asarray(prev)).sum() + c_run * counts.sum()


def light_cost(counts, prev, c_dp, c_mt, c_pl, light=None) -> float:
    """C_light(t) of Eq. E7 for (V, M) counts; ``light`` masks the light columns."""
    counts = np.asarray(counts, dtype=float)
    prev = np.asarray(prev, dtype=float)
    per = np.maximum(0.0, counts - prev) * np.asarray(c_dp) + counts * (np.asarray(c_mt) + np.asarray(c_pl))
    if light is not None:
        per = per[:, np.asarray(light, dtype=bool)]
    return float(per.sum())


def unassigned_penalty(deadline_ms, slot_ms: float) -> np.ndarray:
    """Delay charged to a stage left waiting: ``2 D_n + Δ`` (docs/model.md §6.4)."""
    return 2.0 * np.asarray(deadline_ms, dtype=float) + slot_ms


def dpp_objective(eta: float, cost: float, weights, dhat) -> float:
    """Eq. E19: ``η · C_light + Σ_s H_s · d̂_s``."""
    return float(eta * cost + np.dot(np.asarray(weights, dtype=float), np.asarray(dhat, dtype=float)))
