"""Capacity bound: the largest share of the offered core work the nodes can serve at all.

A draw of the paper scenario can be overloaded whatever the method: the core
microservices need more busy instances than the nodes' resources can hold. This
module measures that per draw with a fluid linear program, so the experiment
notebooks can put every method's on-time ratio next to what is achievable.

The program (continuous instance counts, fluid service)::

    maximise   φ
    subject to Σ_m r_{m,k} x_{v,m} ≤ R_{v,k}           every node v, resource k   (E8, core only)
               f_m Σ_v x_{v,m} ≥ φ W_m                 every core MS m with W_m > 0
               x_{v,m} ≥ 0,  x_{v,m} = 0 where one instance of m does not fit on v alone

with W_m = Σ_{(u,n) ∋ m} λ_{u,n} a_m (MB/ms, the offered work of MS m) and f_m
its deterministic rate (MB/ms): an instance serves at most f_m MB/ms, so
f_m Σ_v x_{v,m} is the work rate m can absorb. φ is the common served fraction
(max-min share): the same fraction of every core MS's work. The *bound* is
``share = min(1, φ*)``: no placement and no controller can serve a larger
fraction of the core work of every MS in the long run, because the LP relaxes
integrality and ignores light instances, queueing, transfers and deadlines
(all of which only make things worse). ``share < 1`` therefore proves the
draw is overloaded (some core MS cannot keep up), while ``share = 1`` does not
prove that deadlines can be met.

Two instance counts summarise the same program:

* ``busy_instances_needed`` = Σ_m W_m / f_m, the mean number of core instances
  busy at once (Little's law; the occupancy demand N_m of docs/model.md §5.4
  before its ceiling);
* ``instances_capacity`` = φ* · Σ_m W_m / f_m, how many busy core instances of
  the same mix (proportional to the needs) the nodes can hold; φ* is not
  capped at 1 for this, so capacity > need means headroom.

Solved with :func:`scipy.optimize.linprog` (HiGHS).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["BoundResult", "capacity_bound", "bound_table", "offered_core_work"]

_TOL = 1e-9
_PHI_MAX = 1e6  # keeps the LP bounded when a core MS needs no resource at all


@dataclass(frozen=True)
class BoundResult:
    """Capacity bound of one scenario draw.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"no_demand"`` (no core work offered: share 1) or the
        solver's failure message.
    share : float
        min(1, φ*): the largest common fraction of every core MS's offered work
        the nodes can serve (1 = not overloaded by this bound).
    headroom : float
        φ* itself (uncapped; > 1 means spare capacity, ``inf`` without demand).
    busy_instances_needed : float
        Σ_m W_m / f_m over core MSs.
    instances_capacity : float
        φ* · busy_instances_needed: busy core instances of the needed mix that fit.
    per_ms : pandas.DataFrame
        One row per core MS: ``ms``, ``work_mb_per_ms`` (W_m), ``rate`` (f_m),
        ``need`` (W_m/f_m), ``n_min`` (⌈need⌉, at least 1), ``solo_capacity``
        (instances of m alone that fit on all nodes, continuous), ``solo_headroom``
        (f_m · solo_capacity / W_m) and ``solo_share`` (its min with 1), ``lp_instances`` (Σ_v x_{v,m} at the
        optimum) and ``lp_share`` (min(1, f_m · lp_instances / W_m)).
    x : ndarray, shape (V, M)
        Optimal continuous instance counts (0 for light MSs).
    """

    status: str
    share: float
    headroom: float
    busy_instances_needed: float
    instances_capacity: float
    per_ms: object = field(repr=False)
    x: np.ndarray = field(repr=False)


def offered_core_work(scenario) -> np.ndarray:
    """W_m = Σ_{(u,n) ∋ m} λ_{u,n} a_m (MB/ms), shape (M,); 0 for light MSs."""
    from ..control.static import mean_light_load

    return np.where(scenario.is_core, mean_light_load(scenario), 0.0)


def _fits(scenario) -> np.ndarray:
    """(V, M) bool: one instance of m fits on v alone."""
    R, r = scenario.capacity, scenario.demand
    return np.all(r[None, :, :] <= R[:, None, :] + _TOL, axis=2)


def _solo_capacity(R: np.ndarray, r_m: np.ndarray, fits_m: np.ndarray) -> float:
    """Continuous instances of one MS that fit on all nodes: Σ_v min_k R_{v,k} / r_{m,k}."""
    pos = r_m > 0
    if not pos.any():
        return float("inf") if fits_m.any() else 0.0
    per_node = (R[:, pos] / r_m[pos]).min(axis=1)
    return float(per_node[fits_m].sum())


def capacity_bound(scenario) -> BoundResult:
    """Solve the fluid max-min capacity LP of a scenario draw (see module doc).

    Parameters
    ----------
    scenario : Scenario
        A sampled scenario at its load (``scenario.with_load(x)`` scales W).

    Returns
    -------
    BoundResult

    Examples
    --------
    >>> import edgefm
    >>> s = edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=0)
    >>> b = capacity_bound(s)
    >>> 0.0 <= b.share <= 1.0
    True
    """
    import pandas as pd
    from scipy.optimize import linprog

    V, M, K = scenario.n_nodes, scenario.n_ms, scenario.capacity.shape[1]
    R, r = np.asarray(scenario.capacity, float), np.asarray(scenario.demand, float)
    core = list(scenario.core_ms)
    W = offered_core_work(scenario)
    f = np.array([ms.mean_rate for ms in scenario.microservices])
    fits = _fits(scenario)
    need = np.where(scenario.is_core, W / np.where(f > 0, f, 1.0), 0.0)
    busy = float(need[core].sum())

    pairs = [(v, m) for m in core for v in range(V) if fits[v, m]]
    P = len(pairs)
    x = np.zeros((V, M))
    demanded = [m for m in core if W[m] > _TOL]
    if not demanded:
        status, phi = "no_demand", float("inf")
    else:
        # variables: x_p (P pairs) then φ; minimise −φ
        c = np.zeros(P + 1)
        c[-1] = -1.0
        A, b = [], []
        for v in range(V):
            for k in range(K):
                row = np.zeros(P + 1)
                for p, (pv, pm) in enumerate(pairs):
                    if pv == v:
                        row[p] = r[pm, k]
                if row.any():
                    A.append(row)
                    b.append(R[v, k])
        for m in demanded:  # φ W_m − f_m Σ_v x_{v,m} ≤ 0
            row = np.zeros(P + 1)
            for p, (_, pm) in enumerate(pairs):
                if pm == m:
                    row[p] = -f[m]
            row[-1] = W[m]
            A.append(row)
            b.append(0.0)
        bounds = [(0, None)] * P + [(0, _PHI_MAX)]
        res = linprog(c, A_ub=np.array(A), b_ub=np.array(b), bounds=bounds, method="highs")
        if res.status == 0:
            status, phi = "optimal", float(res.x[-1])
            for p, (pv, pm) in enumerate(pairs):
                x[pv, pm] = res.x[p]
        else:
            status, phi = f"failed: {res.message}", float("nan")

    rows = []
    for m in core:
        ms = scenario.microservices[m]
        solo = _solo_capacity(R, r[m], fits[:, m])
        lp_inst = float(x[:, m].sum())
        rows.append(dict(
            ms=ms.name, work_mb_per_ms=float(W[m]), rate=float(f[m]), need=float(need[m]),
            n_min=max(1, int(np.ceil(need[m] - _TOL))), solo_capacity=solo,
            solo_headroom=float("inf") if W[m] <= _TOL else f[m] * solo / W[m],
            solo_share=1.0 if W[m] <= _TOL else min(1.0, f[m] * solo / W[m]),
            lp_instances=lp_inst, lp_share=1.0 if W[m] <= _TOL else min(1.0, f[m] * lp_inst / W[m])))
    share = 1.0 if status == "no_demand" else min(1.0, phi)
    cap = float("nan") if status == "no_demand" else phi * busy
    x.setflags(write=False)
    return BoundResult(status=status, share=share, headroom=phi, busy_instances_needed=busy,
                       instances_capacity=cap, per_ms=pd.DataFrame(rows), x=x)


def bound_table(scenario_path, seeds, loads):
    """Capacity bound of every (seed, load) draw, one row each.

    Parameters
    ----------
    scenario_path : path
        Scenario YAML (e.g. ``data/scenarios/paper.yaml``).
    seeds : iterable of int
        Scenario seeds (the same draw as ``run_sweep``'s cells of that seed).
    loads : iterable of float
        Load multipliers on the arrival rates.

    Returns
    -------
    pandas.DataFrame
        Columns ``seed``, ``load``, ``status``, ``share``, ``headroom``,
        ``busy_instances_needed``, ``instances_capacity``,
        ``es_instances_capacity`` (the same mix on the edge servers alone),
        ``overloaded`` (share < 1 − 1e-9) and ``worst_ms`` (core MS with the
        lowest solo headroom: the tightest one even if it had the nodes alone).
    """
    import pandas as pd

    from ..scenario.sample import load_scenario

    rows = []
    for s in seeds:
        base = load_scenario(scenario_path, seed=int(s), load=1.0)
        es = [v for v, n in enumerate(base.nodes) if n.kind == "ES"]
        for ld in loads:
            sc = base.with_load(float(ld))
            b = capacity_bound(sc)
            b_es = capacity_bound(_only_nodes(sc, es)) if es and len(es) < sc.n_nodes else b
            worst = b.per_ms.sort_values("solo_headroom", kind="stable").iloc[0]["ms"] if len(b.per_ms) else ""
            rows.append(dict(seed=int(s), load=float(ld), status=b.status, share=b.share, headroom=b.headroom,
                             busy_instances_needed=b.busy_instances_needed,
                             instances_capacity=b.instances_capacity,
                             es_instances_capacity=b_es.instances_capacity,
                             overloaded=bool(b.share < 1.0 - 1e-9), worst_ms=worst))
    return pd.DataFrame(rows)


class _NodeView:
    """A scenario whose capacity is zero outside ``keep`` (only what the bound reads)."""

    def __init__(self, scenario, keep):
        self._s = scenario
        cap = np.array(scenario.capacity, float)
        mask = np.zeros(scenario.n_nodes, bool)
        mask[list(keep)] = True
        cap[~mask] = 0.0
        self.capacity = cap

    def __getattr__(self, name):
        return getattr(self._s, name)


def _only_nodes(scenario, keep):
    return _NodeView(scenario, keep)
