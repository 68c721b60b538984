"""Scaling study (notebook 09): real topologies of growing size with ED clusters.

For every network and seed: sample the scenario family of
:func:`edgefm.scenario.topology.topology_spec`, place the core MSs (E14 with
SCIP for the methods that use it, least-loaded greedy for the others), simulate
each method, and record quality (on-time ratio, cost per task) and effort
(placement solve time and gap, per-slot decision time).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

import time

__all__ = ["NETWORKS", "scale_table"]

#: Networks of the study, smallest first: Internet Topology Zoo and SNDlib (via topohub).
NETWORKS = ("topozoo/Abilene", "sndlib/geant", "sndlib/germany50")


def scale_table(networks=NETWORKS, seeds=(0,), methods=("proposed", "lbrr"), n_slots: int = 300,
                load: float = 1.0, n_fm: int = 1, ed_per_site: int = 1, variant: str = "bounded",
                gap: float = 0.01, time_limit: float = 60.0, progress: bool = False,
                variants: dict | None = None) -> "pd.DataFrame":
    """One row per (network, seed, method).

    Parameters
    ----------
    networks : sequence of str
        topohub names.
    n_slots : int
        Arrival horizon T of each run (then drain).
    variant, gap, time_limit
        E14 variant and SCIP stopping rule of the core placement; a solve that
        stops at the time limit keeps its incumbent and reports its gap. Where E14
        is infeasible at ``load`` (the nodes cannot host its mean occupancy), the
        placement is sized for the largest load that fits, as
        :func:`~edgefm.experiments.runner.core_placement` does (column ``placement_load``).
    variants : dict, optional
        Extra rows: label -> (method, controller overrides), run on the method's own placement, e.g.
        ``{"edgefm, paper core dispatch": ("edgefm", {"hold_core": False})}`` (the label is the row's
        ``method``).
    progress : bool
        Print a line per run; without it, under ``edgefm reproduce`` the line goes to the runner's log
        (:func:`edgefm.progress.note`).
    """
    import warnings

    import pandas as pd

    from ..control import REGISTRY
    from ..errors import InfeasibleError, TimeLimitWarning
    from ..placement import place
    from ..progress import note
    from ..scenario import sample_scenario
    from ..scenario.topology import topology_spec
    from ..workload import poisson_arrivals
    from .runner import PLAN_SOLVERS, core_placement, run_method

    rows = []
    for name in networks:
        spec = topology_spec(name, ed_per_site=ed_per_site, n_fm=n_fm)
        for seed in seeds:
            sc = sample_scenario(spec, seed=seed, load=load)
            arr = poisson_arrivals(sc, seed, n_slots=n_slots)
            placements = {}
            runs = [(m, m, None) for m in methods] + [(k, m, dict(o)) for k, (m, o) in (variants or {}).items()]
            for label, method, ovr in runs:
                solver = REGISTRY[method].placement
                if solver not in placements:
                    t0 = time.perf_counter()
                    sized = sc.load
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", TimeLimitWarning)
                        if solver in PLAN_SOLVERS:  # the provisioning program E24, pilot-calibrated (E28)
                            from .calibrate import calibrated_plan

                            p = calibrated_plan(sc, gap=max(gap, 1e-3), survivable=PLAN_SOLVERS[solver])
                        else:
                            try:
                                p = place(sc, solver=solver, variant=variant, gap=gap, time_limit=time_limit)
                            except InfeasibleError:  # overloaded whatever the method: sized for the largest load
                                p, sized = core_placement(sc, solver, variant, time_limit)  # that fits (runner)
                        placements[solver] = (p, time.perf_counter() - t0, sized)
                p, secs, sized = placements[solver]
                res = run_method(sc, method, seed=seed, arrivals=arr, placement=p, overrides=ovr)
                line = f"{name} seed {seed} {label}: on-time {res.on_time_ratio:.3f}, {res.wall_s:.1f} s"
                if progress:
                    print(line)
                else:
                    note("scale: " + line)  # the log of edgefm reproduce, not the notebook
                rows.append({
                    "network": name, "seed": seed, "method": label,
                    "sites": sum(n.kind == "ES" for n in sc.nodes), "nodes": sc.n_nodes,
                    "core_ms": len(sc.core_ms), "users": sc.n_users, "tasks": res.arrivals,
                    "on_time_ratio": res.on_time_ratio, "cost_total": res.cost_total,
                    "cost_per_task": res.cost_total / max(res.arrivals, 1),
                    "latency_p95": res.latency_ms["p95"],
                    "placement_solver": solver, "placement_status": p.status, "placement_gap": p.gap,
                    "placement_seconds": secs, "placement_load": sized, "core_instances": int(p.x.sum()),
                    "decision_ms_median": res.decision_ms["median"], "decision_ms_p99": res.decision_ms["p99"],
                    "sim_wall_s": res.wall_s,
                })
    return pd.DataFrame(rows)
