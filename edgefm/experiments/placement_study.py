"""Placement studies (docs/model.md §5): the runs behind notebook 02, each returning a tidy table.

* :func:`variant_placements`, :func:`variant_summary`, :func:`per_ms_table` — the paper's program
  E14 with the ρ-retention κ search (E17), literal and bounded variants (docs/model.md §5.6), side by side;
* :func:`kappa_sweep` — cost and QoS score of the E14 optimum as the diversity floor κ grows;
* :func:`solver_study` — SCIP, HiGHS, the LP relaxation with rounding and the least-loaded greedy on
  the same E14 programs over topohub networks of growing size;
* :func:`orlib_study` — the facility builder of docs/model.md §5.7 on OR-Library p-median and capacitated facility
  location instances against their published optima (Beasley 1985, 1988, 1990).

The functions do all the solving; figures in :mod:`edgefm.plots.placement` only read their tables.
"""
from __future__ import annotations

import functools
import time
import warnings

import numpy as np

from ..errors import TimeLimitWarning

__all__ = ["variant_placements", "variant_summary", "per_ms_table", "exact_methods", "kappa_sweep",
           "placement_feasibility", "solver_study", "orlib_study"]

VARIANTS = ("literal", "bounded")
SOLVERS = ("scip", "scip-direct", "highs", "relax", "greedy")


def _silenced(func):
    """Run ``func`` with solver time-limit warnings silenced (the tables carry the status)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TimeLimitWarning)
            return func(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- feasibility
def placement_feasibility(scenario, x, kappa: int = 0, variant: str = "literal", profile=None) -> list[str]:
    """Constraints of E14 (``variant`` caps included) that the (V, M) placement ``x`` violates.

    :func:`edgefm.placement.model.violations` (capacity, demand N_m, diversity floor κ) plus, for the
    bounded variant, the caps x_{v,m} ≤ min(U, ⌈occ⌉ + spare) and no instance outside the pairs.
    """
    from ..placement.model import e14_data, violations
    from ..placement.profile import mean_profile

    prof = mean_profile(scenario) if profile is None else profile
    x = np.asarray(x)
    out = violations(scenario, x, n_min=prof.n_min, kappa=int(kappa or 0))
    data = e14_data(scenario, prof, variant)
    cap = np.zeros_like(x)
    cap[data.pv, data.pm] = data.cap
    over = np.argwhere(x > cap)
    for v, m in over[:3]:
        out.append(f"{variant} cap: {scenario.microservices[m].name} on {scenario.nodes[v].name} has "
                   f"{x[v, m]} > {cap[v, m]}")
    if len(over) > 3:
        out.append(f"{variant} cap: {len(over) - 3} more pairs over their cap")
    return out


# --------------------------------------------------------------------------- (1) literal vs bounded
@_silenced
def variant_placements(scenario, variants=VARIANTS, solver: str = "scip", time_limit: float | None = None,
                       gap: float = 1e-4, profile=None) -> dict:
    """E14 with the κ search (E17, ``kappa=None``) for each variant: ``{variant: Placement}``."""
    from ..placement.e14solve import place
    from ..placement.profile import mean_profile

    prof = mean_profile(scenario) if profile is None else profile
    return {v: place(scenario, solver=solver, kappa=None, variant=v, time_limit=time_limit, gap=gap,
                     profile=prof) for v in variants}


def variant_summary(scenario, placements: dict):
    """One row per variant: κ*, status, E14 objective, ξΣQx, core cost E6, instances, sites, time.

    ``top_ms_share`` is the share of all core instances taken by the most replicated MS, ``over_N``
    the instances above the demand Σ_m N_m, ``cost_per_instance`` the E6 cost per instance.
    """
    import pandas as pd

    from ..placement.profile import mean_profile

    n_min = mean_profile(scenario).n_min
    need = int(n_min[list(scenario.core_ms)].sum())
    rows = []
    for variant, p in placements.items():
        per = p.per_ms()
        rows.append({"variant": variant, "solver": p.solver, "method": p.info.get("method", ""),
                     "status": p.status, "kappa": p.kappa,
                     "max_support": p.info.get("max_support"), "objective": p.objective, "score": p.score,
                     "cost_core": p.cost_core, "instances": p.n_instances, "demand_N": need,
                     "over_N": p.n_instances - need, "sites": p.sites,
                     "top_ms": max(per, key=per.get), "top_ms_share": max(per.values()) / p.n_instances,
                     "cost_per_instance": p.cost_core / p.n_instances,
                     "search_seconds": p.info.get("search_seconds", p.seconds), "solves": p.info.get("solves", 1)})
    return pd.DataFrame(rows)


def per_ms_table(scenario, placements: dict):
    """Tidy: one row per (variant, core MS) with N_m, instances, hosting nodes and E6 cost."""
    import pandas as pd

    from ..placement.profile import mean_profile

    n_min = mean_profile(scenario).n_min
    T = scenario.horizon_slots
    rows = []
    for variant, p in placements.items():
        for m in scenario.core_ms:
            ms = scenario.microservices[m]
            col = p.x[:, m]
            rows.append({"variant": variant, "ms": ms.name, "N_m": int(n_min[m]), "instances": int(col.sum()),
                         "nodes": int(np.count_nonzero(col)),
                         "cost_core": float(col.sum() * (ms.cost_deploy + T * ms.cost_maintain))})
    return pd.DataFrame(rows)


EXACT_RUNS = (("scip", "dp"), ("scip", "direct"), ("highs", "direct"))


@_silenced
def exact_methods(scenario, variant: str = "literal", kappa: int = 0, runs=EXACT_RUNS,
                  time_limit: float | None = 60.0, gap: float = 1e-6, profile=None):
    """The same E14 (fixed κ) by each exact (solver, method) of ``runs``: one row each.

    Returns
    -------
    DataFrame
        solver, method (what ran: a node DP past its limits hands over), status, objective, bound,
        gap, nodes (branch-and-bound nodes; 0 for the node DP), seconds (wall) and
        rel_to_best = (objective − best) / |best| over the rows.
    """
    import pandas as pd

    from ..placement.e14solve import place
    from ..placement.profile import mean_profile

    prof = mean_profile(scenario) if profile is None else profile
    rows = []
    for solver, method in runs:
        t0 = time.perf_counter()
        p = place(scenario, solver=solver, method=method, kappa=kappa, variant=variant, time_limit=time_limit,
                  gap=gap, profile=prof)
        rows.append({"solver": solver, "method": p.info["method"], "status": p.status, "objective": p.objective,
                     "bound": p.bound, "gap": p.gap, "nodes": p.nodes, "seconds": time.perf_counter() - t0})
    df = pd.DataFrame(rows)
    df["rel_to_best"] = (df.objective - df.objective.min()) / df.objective.abs().min()
    return df


# --------------------------------------------------------------------------- (2) κ sweep
@_silenced
def kappa_sweep(scenario, variants=VARIANTS, step: int = 1, solver: str = "scip", gap: float = 1e-3,
                time_limit: float | None = 20.0, profile=None):
    """E14 at fixed κ for a grid of κ per variant (E17 trade-off): cost and QoS score against κ.

    The feasible sets are nested in κ, so an optimum found at κ with ‖X‖₀ = s is also optimal for
    every κ' ∈ (κ, s]; those rows reuse it (``solved=False``, ``seconds=0``) instead of re-solving.

    Parameters
    ----------
    step : int
        κ = 0, step, 2·step, … and always the largest conceivable κ,
        :func:`~edgefm.placement.model.max_support` of the variant (above it E14 is infeasible by
        counting).
    gap, time_limit : float
        Per solve. A solve stopped at the limit keeps its incumbent (status ``"time_limit"``).

    Returns
    -------
    DataFrame
        variant, kappa, solved, status, objective, rel_objective (objective / OPT₀), within_rho
        (objective ≤ OPT₀ + (1 − ρ)|OPT₀|, the E17 admissibility rule), score, cost_core, instances,
        sites, seconds; ``OPT₀`` is the κ = 0 optimum of the variant.
    """
    import pandas as pd

    from ..errors import InfeasibleError
    from ..placement.e14solve import place
    from ..placement.model import e14_data, max_support
    from ..placement.profile import mean_profile

    prof = mean_profile(scenario) if profile is None else profile
    rho = scenario.placement.rho
    rows = []
    for variant in variants:
        top = max_support(scenario, e14_data(scenario, prof, variant))
        grid = sorted({*range(0, top + 1, max(int(step), 1)), top})
        last, opt0 = None, None
        for k in grid:
            solved = last is None or last.sites < k
            if solved:
                try:
                    last = place(scenario, solver=solver, kappa=k, variant=variant, gap=gap,
                                 time_limit=time_limit, profile=prof)
                except InfeasibleError:
                    rows.append({"variant": variant, "kappa": k, "solved": True, "status": "infeasible"})
                    continue
            p = last
            opt0 = p.objective if k == 0 else opt0
            rows.append({"variant": variant, "kappa": k, "solved": solved, "status": p.status,
                         "objective": p.objective, "rel_objective": p.objective / opt0,
                         "within_rho": p.objective <= opt0 + (1 - rho) * abs(opt0) + 1e-9 * abs(opt0),
                         "score": p.score, "cost_core": p.cost_core, "instances": p.n_instances,
                         "sites": p.sites, "seconds": p.seconds if solved else 0.0})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- (3) solvers vs size
def _row(case: dict, p, kappa, variant, scenario, prof, seconds, label) -> dict:
    viol = placement_feasibility(scenario, p.x, kappa, variant, prof)
    return {**case, "variant": variant, "kappa": kappa, "solver": label, "method": p.info.get("method", ""),
            "status": p.status,
            "objective": p.objective, "bound": p.bound, "gap": p.gap, "seconds": seconds,
            "instances": p.n_instances, "sites": p.sites, "cost_core": p.cost_core, "feasible": not viol,
            "violations": "; ".join(viol)}


@_silenced
def solver_study(cases=(("topozoo/Abilene", 1),), variants=VARIANTS, solvers=SOLVERS, seed: int = 0,
                 load: float | None = None, ed_per_site: int = 1, time_limit: float | None = 20.0,
                 gap: float = 0.01, workers: int = 0):
    """The solvers of docs/model.md §5.8 on the same E14 programs over topohub networks of growing size.

    For each case ``(network, n_fm)`` a scenario is sampled with ``seed`` on
    :func:`~edgefm.scenario.topology.topology_spec` (``ed_per_site`` EDs per site). The diversity floor
    κ of a (case, variant) is fixed once by the E17 rule applied to the LP relaxation (the κ the
    relaxation's own search returns, stepped down until it rounds to a feasible placement), so every
    solver faces the same program; the greedy baseline ignores κ and the objective, and its row
    says whether its placement happens to satisfy them (``feasible``).

    ``workers`` > 1 runs the cases in that many processes (one case's solves stay in one process,
    one after the other; each solve is single-threaded, so with no more workers than cores every
    solve still has a core to itself). The rows are the same in any case, except the objective of a
    solve stopped by its time limit (which depends on the machine's speed in any run) and the
    timings.

    Returns
    -------
    DataFrame
        network, n_fm, nodes, core_ms, pairs (x variables of E14), variant, kappa, solver (``"scip"``
        chooses its method by size, ``"scip-direct"`` always solves the whole program), method, status,
        objective, bound, gap (reported: MIP gap, LP gap for relax, nan for greedy), seconds (wall),
        instances, sites, cost_core, feasible, violations, best (least objective of a feasible row of
        the same program) and rel_to_best = (objective − best) / |best|.
    """
    import pandas as pd

    jobs = [(network, int(n_fm), tuple(variants), tuple(solvers), seed, load, ed_per_site, time_limit, gap)
            for network, n_fm in cases]
    if workers and workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(int(workers), len(jobs))) as ex:
            parts = list(ex.map(_solver_case, jobs))
    else:
        parts = [_solver_case(j) for j in jobs]
    df = pd.DataFrame([row for part in parts for row in part])
    key = ["network", "n_fm", "variant"]
    df["best"] = df["objective"].where(df["feasible"]).groupby([df[k] for k in key]).transform("min")
    df["rel_to_best"] = (df["objective"] - df["best"]) / df["best"].abs()
    return df


@_silenced
def _solver_case(job) -> list[dict]:
    """The rows of :func:`solver_study` for one (network, n_fm) case."""
    from ..errors import EdgeFMError
    from ..placement.e14solve import place
    from ..placement.model import e14_data
    from ..placement.profile import mean_profile
    from ..scenario import sample_scenario
    from ..scenario.topology import topology_spec

    network, n_fm, variants, solvers, seed, load, ed_per_site, time_limit, gap = job
    rows = []
    s = sample_scenario(topology_spec(network, ed_per_site=ed_per_site, n_fm=int(n_fm)), seed, load)
    prof = mean_profile(s)
    sites = sum(n.kind == "ES" for n in s.nodes)
    for variant in variants:
        case = {"network": network.split("/")[-1], "n_fm": int(n_fm), "sites_topology": sites,
                "nodes": s.n_nodes, "core_ms": len(s.core_ms),
                "pairs": e14_data(s, prof, variant).n_pairs}
        t0 = time.perf_counter()
        try:
            relaxed = place(s, solver="relax", kappa=None, variant=variant, profile=prof)
            kappa = relaxed.kappa
        except EdgeFMError as exc:
            relaxed, kappa = exc, 0
        t_relax = time.perf_counter() - t0
        for solver in solvers:
            t0 = time.perf_counter()
            try:
                if solver == "relax" and isinstance(relaxed, Exception):
                    raise relaxed
                name, method = ("scip", "direct") if solver == "scip-direct" else (solver, "auto")
                p = relaxed if solver == "relax" else place(
                    s, solver=name, kappa=kappa, variant=variant, time_limit=time_limit, gap=gap, profile=prof,
                    method=method)
                seconds = t_relax if solver == "relax" else time.perf_counter() - t0
                rows.append(_row(case, p, kappa, variant, s, prof, seconds, solver))
            except EdgeFMError as exc:
                rows.append({**case, "variant": variant, "kappa": kappa, "solver": solver,
                             "status": "failed", "seconds": time.perf_counter() - t0, "feasible": False,
                             "violations": str(exc)})
    return rows


# --------------------------------------------------------------------------- (4) OR-Library
def orlib_study(pmed=("pmed1", "pmed5"), cap=("cap41", "cap71"), solvers=("scip",),
                time_limit: float | None = None):
    """OR-Library p-median and capacitated facility location instances against the published optima.

    Solved with the assignment builder of docs/model.md §5.7 (:func:`edgefm.placement.orlib.solve_pmed_file`,
    :func:`~edgefm.placement.orlib.solve_cap_file`; cap with splittable demand, as published).
    Data: J.E. Beasley, OR-Library, J. Oper. Res. Soc. 41(11), 1990.

    Returns
    -------
    DataFrame
        family, instance, size, solver, status, objective, published, rel_error
        = (objective − published) / published, gap, seconds.
    """
    import pandas as pd

    from ..paths import data_path
    from ..placement.orlib import read_cap, read_optima, read_pmed, solve_cap_file, solve_pmed_file

    opt = {"pmed": read_optima(data_path("orlib", "pmed", "pmedopt.txt")),
           "cap": read_optima(data_path("orlib", "cap", "capopt.txt"))}
    rows = []
    for family, names, solve, read in (("pmed", pmed, solve_pmed_file, read_pmed),
                                       ("cap", cap, solve_cap_file, read_cap)):
        for name in names:
            path = data_path("orlib", family, f"{name}.txt")
            inst = read(path)
            size = (f"n={inst.n}, p={inst.p}" if family == "pmed"
                    else f"m={len(inst.capacity)}, n={len(inst.demand)}")
            for solver in solvers:
                t0 = time.perf_counter()
                r = solve(path, solver=solver, time_limit=time_limit)
                pub = opt[family].get(name, float("nan"))
                rows.append({"family": family, "instance": name, "size": size, "solver": solver,
                             "status": r.status, "objective": r.objective, "published": pub,
                             "rel_error": (r.objective - pub) / abs(pub), "gap": r.gap,
                             "seconds": time.perf_counter() - t0})
    return pd.DataFrame(rows)
