"""Online core re-sizing for the ``edgefm`` controller (docs/model.md E31; option ``resize``).

E24 sizes each core pool once, for the scenario's mean rates. Under a trace or an MMPP the rate
drifts and bursts. Every ``every`` slots the re-sizer estimates each task type's rate from the
arrivals of the last ``window`` slots, and re-sizes every core pool to the count that serves that
rate at the plan's utilisation ρ_m (E23):

    N̂_m = ⌈ a_m Σ_{n ∋ m} λ̂_n / (ρ_m f̄_m) ⌉,   λ̂_n = arrivals of type n in the window / (window · Δ),

with hysteresis: a pool grows to N̂_m as soon as N̂_m exceeds it, and shrinks only when
⌈(1 + h) N̂_m⌉ is below it, to that count (never below one instance), removing idle instances only.
An addition goes to the up node with room (after its core and this slot's light instances) that
holds the most instances of the MS (ties: the lowest index); a removal takes from the node that holds
the most. Each addition pays E6's deployment cost c_dp once (:mod:`edgefm.sim.core_pool`), each
instance the upkeep c_mt of every slot it exists: re-sizing pays where a burst would otherwise be
shed and saves where a lull leaves instances idle.
"""
from __future__ import annotations

import numpy as np

__all__ = ["CoreResizer"]


class CoreResizer:
    """E31 for one run (module doc).

    Parameters
    ----------
    scenario : Scenario
    rho : array (M,)
        The plan's utilisation per MS (E23).
    every, window : int
        Slots between re-sizings, and slots of the rate estimate.
    hysteresis : float
        h of the shrink rule.
    """

    def __init__(self, scenario, rho, every: int = 20, window: int = 50, hysteresis: float = 0.25):
        if int(every) < 1 or int(window) < 1 or not hysteresis >= 0:
            raise ValueError(f"resize needs every >= 1, window >= 1, hysteresis >= 0; got {every}, {window}, "
                             f"{hysteresis}")
        sc = scenario
        self.sc = sc
        self.every, self.window, self.h = int(every), int(window), float(hysteresis)
        self.counts = np.zeros((self.window, sc.n_types), dtype=np.int64)  # arrivals per slot (ring)
        uses = np.array([[sc.uses(n, m) and sc.is_core[m] for m in range(sc.n_ms)] for n in range(sc.n_types)], float)
        work = np.array([m.work for m in sc.microservices])
        rate = np.array([m.mean_rate if m.is_core else np.nan for m in sc.microservices])
        # instances per (task/ms of each type): a_m / (ρ_m f̄_m) on the MSs the type uses
        with np.errstate(divide="ignore", invalid="ignore"):
            per = np.where(uses > 0, work[None, :] / (np.asarray(rho, float)[None, :] * rate[None, :]), 0.0)
        self.per = np.nan_to_num(per, nan=0.0, posinf=0.0)
        self.used = uses.any(axis=0)

    def observe(self, t: int, types) -> None:
        """Record the task types that arrived in slot ``t`` (every arrival, admitted or not)."""
        row = t % self.window
        self.counts[row] = 0
        if len(types):
            self.counts[row] = np.bincount(np.asarray(types, dtype=np.int64), minlength=self.sc.n_types)

    def target(self, t: int, current: np.ndarray) -> np.ndarray | None:
        """The pool sizes (M,) to move to at slot ``t``, or None (not a re-sizing slot, or no change)."""
        if t < self.window or t % self.every:
            return None
        lam = self.counts.sum(axis=0) / (self.window * self.sc.slot_ms)  # tasks/ms per type
        need = np.ceil(lam @ self.per - 1e-9).astype(np.int64)
        need = np.where(self.used, np.maximum(need, 1), 0)
        cur = np.asarray(current, dtype=np.int64)
        shrink = np.ceil((1.0 + self.h) * need - 1e-9).astype(np.int64)
        out = np.where(need > cur, need, np.where(shrink < cur, shrink, cur))
        out = np.where(self.used, out, cur)
        return None if np.array_equal(out, cur) else out

    def place(self, x: np.ndarray, target: np.ndarray, free: np.ndarray, idle: np.ndarray, up: np.ndarray):
        """Core counts (V, M) that move ``x`` toward the pool sizes ``target`` (M,).

        ``free`` (V, K): room on each node after its core and light instances; ``idle`` (V, M): idle core
        instances (only those can go); ``up`` (V,): nodes that are up."""
        sc = self.sc
        x = np.array(x, dtype=np.int64)
        free = np.array(free, dtype=float)
        idle = np.array(idle, dtype=np.int64)
        for m in np.flatnonzero(self.used).tolist():
            d = int(target[m] - x[:, m].sum())
            while d > 0:
                fits = up & (free >= sc.demand[m] - 1e-12).all(axis=1)
                if not fits.any():
                    break
                v = int(np.argmax(np.where(fits, x[:, m], -1)))
                x[v, m] += 1
                free[v] -= sc.demand[m]
                d -= 1
            while d < 0:
                v = int(np.argmax(np.where(idle[:, m] > 0, x[:, m], -1)))
                if idle[v, m] <= 0:
                    break
                x[v, m] -= 1
                idle[v, m] -= 1
                d += 1
        return x
