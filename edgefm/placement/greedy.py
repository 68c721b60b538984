"""Least-loaded greedy core placement, the baseline of LBRR and GA (docs/model.md §5.8, §7).

N_m instances of every core MS, MSs taken largest first (by total normalised resource
Σ_k r_{m,k} / Σ_v R_{v,k}), each instance put on the feasible node of least mean utilisation
(1/|K_v| Σ_{k: R_{v,k} > 0} used_{v,k} / R_{v,k}, after the instances already placed); ties go to
the lower node index. It ignores the QoS scores, κ and costs; its E14 objective is reported so it
can be compared with the program's.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import InfeasibleError
from ..scenario.schema import RESOURCES, Scenario
from .model import Placement, core_cost, e14_objective
from .profile import MeanProfile, mean_profile

__all__ = ["greedy_placement", "least_loaded"]


def least_loaded(scenario: Scenario, n_min: np.ndarray, reserve: float | None = None) -> np.ndarray:
    """The least-loaded placement x, shape (V, M) int, of ``n_min[m]`` instances per core MS.

    Raises
    ------
    InfeasibleError
        When an instance finds no node with room (the message names the MS and the instance).
    """
    reserve = scenario.placement.reserve if reserve is None else reserve
    R = scenario.capacity * (1.0 - reserve)
    r = scenario.demand
    V, M = scenario.n_nodes, scenario.n_ms
    pos = R > 0
    n_pos = np.maximum(pos.sum(axis=1), 1)
    total = R.sum(axis=0)
    size = (r / np.where(total > 0, total, 1.0)).sum(axis=1)
    order = sorted(scenario.core_ms, key=lambda m: (-size[m], m))
    used = np.zeros_like(R)
    x = np.zeros((V, M), dtype=int)
    for m in order:
        for i in range(int(n_min[m])):
            room = np.all(used + r[m] <= R + 1e-9, axis=1)
            if not room.any():
                k = int(np.argmax([(r[m, j] - (R[:, j] - used[:, j]).max()) for j in range(len(RESOURCES))]))
                raise InfeasibleError(
                    f"greedy: no node has room for instance {i + 1} of N_m = {int(n_min[m])} of core MS "
                    f"{scenario.microservices[m].name!r} (short of {RESOURCES[k]}); try solver='scip'")
            util = np.where(pos, used / np.where(pos, R, 1.0), 0.0).sum(axis=1) / n_pos
            v = int(np.flatnonzero(room)[np.argmin(util[room])])
            x[v, m] += 1
            used[v] += r[m]
    return x


def greedy_placement(scenario: Scenario, profile: MeanProfile | None = None,
                     reserve: float | None = None) -> Placement:
    """Least-loaded greedy placement (docs/model.md §5.8) as a :class:`Placement`.

    Status ``"heuristic"``, bound nan; ``objective`` is the E14 objective of the result.

    Examples
    --------
    >>> import edgefm
    >>> s = edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=0)
    >>> p = greedy_placement(s)
    >>> bool((p.x.sum(axis=0) >= mean_profile(s).n_min * s.is_core).all())
    True
    """
    t0 = time.perf_counter()
    prof = mean_profile(scenario) if profile is None else profile
    x = least_loaded(scenario, prof.n_min, reserve)
    x.setflags(write=False)
    score = float(scenario.placement.xi * (prof.score * x).sum())
    return Placement(status="heuristic", objective=e14_objective(scenario, x, prof), bound=float("nan"),
                     gap=float("nan"), seconds=time.perf_counter() - t0, nodes=0, kappa=None,
                     variant="least_loaded", solver="greedy", x=x, cost_core=core_cost(scenario, x), score=score,
                     node_names=tuple(n.name for n in scenario.nodes),
                     ms_names=tuple(m.name for m in scenario.microservices))
