"""Tier 1: static core placement (docs/model.md §5).

Flat API, loaded on first attribute access so ``import edgefm.placement`` stays light (no
PySCIPOpt, HiGHS or cvxpy until a solve):

* the paper's program E14 with its estimates E15–E17: :func:`place`, :class:`Placement`,
  :func:`mean_profile`, :func:`build_e14`, :func:`e14_objective`, :func:`core_cost`, and its
  node decomposition :func:`decompose_e14` (Dantzig–Wolfe bound, price-and-branch) and its exact
  node DP :func:`solve_e14_dp` (pattern enumeration pruned by the Lagrangian bound);
* baselines and low-complexity solvers: :func:`greedy_placement` (least loaded, docs/model.md §5.8),
  :func:`relaxed_placement` (LP relaxation + reweighted ℓ1 + rounding);
* the solver layer: :class:`MILP`, :func:`solve_milp`, :class:`MILPResult`, :func:`relax`;
* the network-aware assignment form of a scenario (docs/model.md §5.7, N−1 survivability):
  :func:`assign_placement`, :func:`n1_violations`;
* its classic special cases: :class:`FacilityProblem`, :func:`solve_facility`,
  :func:`pmedian`, :func:`capacitated_facility_location`, and OR-Library readers
  :func:`read_pmed`, :func:`read_cap`, :func:`read_optima`.
"""
from __future__ import annotations

import importlib

# public name -> (module, attribute)
_LAZY = {
    "place": ("edgefm.placement.e14solve", "place"),
    "Placement": ("edgefm.placement.model", "Placement"),
    "build_e14": ("edgefm.placement.model", "build_e14"),
    "e14_data": ("edgefm.placement.model", "e14_data"),
    "e14_objective": ("edgefm.placement.model", "e14_objective"),
    "core_cost": ("edgefm.placement.model", "core_cost"),
    "violations": ("edgefm.placement.model", "violations"),
    "max_support": ("edgefm.placement.model", "max_support"),
    "E14Data": ("edgefm.placement.model", "E14Data"),
    "check_necessary": ("edgefm.placement.model", "check_necessary"),
    "e14_feasible": ("edgefm.placement.e14solve", "e14_feasible"),
    "decompose_e14": ("edgefm.placement.decompose", "decompose_e14"),
    "DecompositionResult": ("edgefm.placement.decompose", "DecompositionResult"),
    "solve_e14_dp": ("edgefm.placement.nodedp", "solve_e14_dp"),
    "DPResult": ("edgefm.placement.nodedp", "DPResult"),
    "mean_profile": ("edgefm.placement.profile", "mean_profile"),
    "MeanProfile": ("edgefm.placement.profile", "MeanProfile"),
    "occupancy_demand": ("edgefm.placement.profile", "occupancy_demand"),
    "greedy_placement": ("edgefm.placement.greedy", "greedy_placement"),
    "least_loaded": ("edgefm.placement.greedy", "least_loaded"),
    "relaxed_placement": ("edgefm.placement.relax", "relaxed_placement"),
    "assign_placement": ("edgefm.placement.assignment", "assign_placement"),
    "n1_violations": ("edgefm.placement.assignment", "n1_violations"),
    "lp_relaxation": ("edgefm.placement.relax", "lp_relaxation"),
    "MILP": ("edgefm.placement.milp", "MILP"),
    "MILPResult": ("edgefm.placement.milp", "MILPResult"),
    "solve_milp": ("edgefm.placement.milp", "solve"),
    "relax": ("edgefm.placement.milp", "relax"),
    "FacilityProblem": ("edgefm.placement.facility", "FacilityProblem"),
    "FacilityResult": ("edgefm.placement.facility_solve", "FacilityResult"),
    "solve_facility": ("edgefm.placement.facility_solve", "solve_facility"),
    "facility_milp": ("edgefm.placement.facility", "facility_milp"),
    "pmedian": ("edgefm.placement.facility", "pmedian"),
    "capacitated_facility_location": ("edgefm.placement.facility", "capacitated_facility_location"),
    "read_pmed": ("edgefm.placement.orlib", "read_pmed"),
    "read_cap": ("edgefm.placement.orlib", "read_cap"),
    "read_optima": ("edgefm.placement.orlib", "read_optima"),
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'edgefm.placement' has no attribute {name!r}")
    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
