"""E14 placement: exact optima vs brute force, infeasibility messages, κ search, variants, baselines."""
import itertools
import json
import math

import numpy as np
import pytest

import edgefm
from edgefm.errors import InfeasibleError, TimeLimitWarning
from edgefm.placement import (e14_data, greedy_placement, max_support, mean_profile, place, relaxed_placement,
                              violations)
from edgefm.scenario import sample_scenario, spec_from_dict
import strictjson


def tiny(xi=10.0, cpu=(10, 7), rate=0.8, gpu_b=1, **over):
    """2 nodes, chain A -> B of 2 core MSs, one user (brute-force size)."""
    doc = {
        "name": "tiny",
        "node_classes": {"S": {"kind": "ES", "capacity": {"cpu": 10, "ram": 10, "gpu": 10, "vram": 10}}},
        "nodes": [{"name": "n0", "kind": "ES", "capacity": {"cpu": cpu[0], "ram": 10, "gpu": 10, "vram": 10}},
                  {"name": "n1", "kind": "ES", "capacity": {"cpu": cpu[1], "ram": 10, "gpu": 10, "vram": 10}}],
        "links": {"rate": 1.0, "edges": [["n0", "n1"]]},
        "ms_classes": {"core": {"resources": {"cpu": 3, "ram": 1, "gpu": 1, "vram": 1}, "work_mb": 4,
                                "output_mb": 1, "rate": 2, "cost": {"deploy": 20, "maintain": 4}}},
        "microservices": [{"name": "A", "kind": "core"},
                          {"name": "B", "kind": "core", "work_mb": 6, "rate": 3,
                           "resources": {"cpu": 4, "ram": 1, "gpu": gpu_b, "vram": 1}}],
        "task_types": {"input_mb": 2, "deadline_ms": 10, "types": [{"name": "t", "edges": [["A", "B"]]}]},
        "users": {"rate_per_ms": rate, "list": [{"name": "u", "gateway": "n0"}]},
        "placement": {"xi": xi},
    }
    doc.update(over)
    return sample_scenario(spec_from_dict(doc), seed=0)


def brute(s, kappa=0, caps=None):
    """Enumerate all integer x within capacity; return (best objective, best x, feasible objectives by support)."""
    prof = mean_profile(s)
    R, r = s.capacity, s.demand
    coef = np.array([[m.cost_deploy + m.cost_maintain - s.placement.xi * prof.score[v, i]
                      for i, m in enumerate(s.microservices)] for v in range(s.n_nodes)])
    U = np.floor(R[:, None, :] / r[None, :, :]).min(axis=2).astype(int)
    if caps is not None:
        U = np.minimum(U, caps)
    best, bx = math.inf, None
    for flat in itertools.product(*[range(U[v, m] + 1) for v in range(2) for m in range(2)]):
        x = np.array(flat).reshape(2, 2)
        if np.any(x @ r > R + 1e-9) or np.any(x.sum(axis=0) < prof.n_min) or np.count_nonzero(x) < kappa:
            continue
        obj = float((coef * x).sum())
        if obj < best - 1e-9:
            best, bx = obj, x
    return best, bx


@pytest.mark.parametrize("xi", [3.0, 10.0, 30.0])
@pytest.mark.parametrize("kappa", [0, 3, 4])
@pytest.mark.parametrize("solver", ["scip", "highs"])
def test_exact_matches_brute_force(xi, kappa, solver):
    s = tiny(xi=xi)
    best, _ = brute(s, kappa)
    if not math.isfinite(best):
        with pytest.raises(InfeasibleError):
            place(s, solver=solver, kappa=kappa, variant="literal")
        return
    p = place(s, solver=solver, kappa=kappa, variant="literal")
    assert p.status == "optimal"
    assert p.objective == pytest.approx(best, rel=1e-7, abs=1e-7)
    assert p.sites >= kappa
    assert violations(s, p.x, kappa=kappa) == []


@pytest.mark.parametrize("xi", [10.0, 30.0])
def test_bounded_matches_brute_force(xi):
    s = tiny(xi=xi)
    prof = mean_profile(s)
    caps = np.ceil(prof.occupancy - 1e-9).astype(int) + s.placement.spare
    best, _ = brute(s, 0, caps)
    p = place(s, kappa=0, variant="bounded")
    assert p.objective == pytest.approx(best, rel=1e-7, abs=1e-7)
    assert np.all(p.x <= caps)


def test_kappa_search_matches_brute_force():
    s = tiny(xi=10.0)
    opt0, _ = brute(s, 0)
    thr = opt0 + (1 - s.placement.rho) * abs(opt0)
    admissible = [k for k in range(5) if brute(s, k)[0] <= thr + 1e-9]
    p = place(s, variant="literal")
    assert p.kappa == max(admissible)
    assert p.objective == pytest.approx(brute(s, p.kappa)[0], rel=1e-7)


def paper(seed=0, **kw):
    return edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=seed, **kw)


@pytest.mark.parametrize("variant", ["literal", "bounded"])
def test_scip_and_highs_agree_on_paper(variant):
    s = paper(0)
    a = place(s, solver="scip", kappa=0, variant=variant)
    b = place(s, solver="highs", kappa=0, variant=variant)
    assert a.status == b.status == "optimal"
    assert a.objective == pytest.approx(b.objective, rel=1e-6)


def test_kappa_search_rule_on_paper():
    s = paper(0)
    p = place(s, variant="bounded")
    opt0 = place(s, kappa=0, variant="bounded").objective
    thr = opt0 + (1 - s.placement.rho) * abs(opt0)
    assert p.sites >= p.kappa
    assert p.objective <= thr + 1e-6 * abs(thr)
    try:
        nxt = place(s, kappa=p.kappa + 1, variant="bounded")
    except InfeasibleError:
        return
    assert nxt.objective > thr


def test_bounded_places_fewer_than_literal():
    s = paper(0)
    lit = place(s, kappa=0, variant="literal")
    bnd = place(s, kappa=0, variant="bounded")
    assert bnd.n_instances < lit.n_instances
    assert bnd.cost_core < lit.cost_core
    n = mean_profile(s).n_min
    for p in (lit, bnd):
        assert violations(s, p.x, n_min=n) == []
    assert np.all(lit.x[:, list(s.light_ms)] == 0)


# ------------------------------------------------------------------ infeasibility messages
def test_infeasible_ms_fits_nowhere():
    s = tiny(gpu_b=30.1)  # nodes hold gpu 10
    with pytest.raises(InfeasibleError, match=r"core MS 'B' needs gpu 30.1 per instance but the largest node has 10.0"):
        place(s, kappa=0)


def test_infeasible_total_resource():
    s = tiny(rate=4.0)  # N = ceil(4 * 2) = 8 each: cpu 8*3 + 8*4 = 56 > 17
    with pytest.raises(InfeasibleError, match=r"resource cpu: the N_m = \[A 8, B 8\] instances need 56.0 but the nodes hold 17.0"):
        place(s, kappa=0)


def test_infeasible_kappa_exceeds_pairs():
    s = tiny()
    with pytest.raises(InfeasibleError, match="kappa = 9 exceeds the 4"):
        place(s, kappa=9)


def test_infeasible_kappa_exceeds_support():
    s = tiny(cpu=(10, 4.5))  # n1 holds A or B, not both: at most 3 pairs in use
    assert max_support(s, e14_data(s)) == 3
    with pytest.raises(InfeasibleError, match="kappa = 4 exceeds 3"):
        place(s, kappa=4)


def test_infeasible_survivability():
    s = tiny(cpu=(14, 3.5))  # B fits only on n0
    with pytest.raises(InfeasibleError, match="survivability"):
        place(s, kappa=0, survivable=True)


def test_infeasible_family_named():
    # each MS fits, totals fit, but no packing: n0 (cpu 7) and n1 (cpu 7) with N_A = N_B = 2 needs
    # A,A,B,B = 3+3+4+4 = 14 <= 14 yet each node holds one A and one B exactly; make it 6.9 to break it
    s = tiny(cpu=(6.9, 7.5), rate=0.8)
    with pytest.raises(InfeasibleError, match="capacity"):
        place(s, kappa=0)


# ------------------------------------------------------------------ baselines and limits
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_meets_demand_and_capacity(seed):
    s = paper(seed)
    g = greedy_placement(s)
    n = mean_profile(s).n_min
    assert violations(s, g.x, n_min=n) == []
    assert np.array_equal(g.x.sum(axis=0)[list(s.core_ms)], n[list(s.core_ms)])  # exactly N_m
    assert g.status == "heuristic" and math.isnan(g.bound)


@pytest.mark.parametrize("variant", ["literal", "bounded"])
def test_relax_feasible_and_bracketed(variant):
    s = paper(0)
    exact = place(s, kappa=10, variant=variant)
    r = relaxed_placement(s, kappa=10, variant=variant, exact_objective=exact.objective)
    assert violations(s, r.x, kappa=10) == []
    assert r.objective >= exact.objective - 1e-6 * abs(exact.objective)
    assert exact.objective >= r.bound - 1e-6 * abs(exact.objective)
    assert r.info["gap_to_exact"] >= -1e-9


def test_relax_via_place_and_search():
    s = paper(0)
    r = place(s, solver="relax", variant="bounded")
    assert r.solver == "relax" and violations(s, r.x, kappa=r.kappa) == []


def test_repair_node_load_is_the_full_table_row():
    """The repair checks one node's load without the whole table; the same bits (issue 13)."""
    from edgefm.placement.relax import _Repair

    s = paper(0)
    d = e14_data(s, variant="literal")
    rep = _Repair(d, 0, None, False)
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = rng.integers(0, 4, d.n_pairs)
        full = rep.load(x)
        for v in np.unique(d.pv):
            assert np.array_equal(rep.node_load(x, v), full[v])
        for p in range(d.n_pairs):
            assert bool(rep.fits(x, p)) == bool(x[p] < d.cap[p] and np.all(full[d.pv[p]] + rep.r[p] <= d.R[d.pv[p]] + 1e-9))


def test_max_support_memo_matches_a_fresh_count():
    from edgefm.placement import model

    s = tiny(cpu=(10, 4.5))
    model._MAX_SUPPORT.clear()
    assert max_support(s, e14_data(s)) == 3 == model._max_support(s.n_nodes, e14_data(s), 16)
    assert max_support(s, e14_data(s)) == 3 and len(model._MAX_SUPPORT) == 1
    s2 = tiny(cpu=(10, 7))  # another program: its own entry
    assert max_support(s2, e14_data(s2)) == model._max_support(s2.n_nodes, e14_data(s2), 16)
    assert len(model._MAX_SUPPORT) == 2


def test_node_limit_returns_incumbent():
    s = paper(1)
    with pytest.warns(TimeLimitWarning):
        p = place(s, kappa=0, variant="literal", node_limit=1, method="direct")  # the node DP has no B&B
    assert p.status == "node_limit"
    assert violations(s, p.x) == []
    assert p.gap > 0 and p.bound <= p.objective


def test_time_limit_returns_incumbent_or_optimum():
    s = paper(1)
    p = place(s, kappa=0, variant="literal", time_limit=0.3, method="direct")
    assert p.status in ("time_limit", "optimal")
    assert violations(s, p.x) == []
    assert p.bound <= p.objective + 1e-6 * abs(p.objective)
    if p.status == "time_limit":
        assert p.gap == pytest.approx((p.objective - p.bound) / abs(p.objective), rel=1e-6)


def test_placement_helpers_and_cli(capsys):
    from edgefm.cli import main

    s = tiny()
    p = place(s, kappa=0)
    inst = p.instances()
    assert sum(i["count"] for i in inst) == p.n_instances
    d = json.loads(json.dumps(p.to_dict()))
    assert d["instances"] == inst and d["kappa"] == 0
    T = s.horizon_slots
    assert p.cost_core == pytest.approx(sum(int(p.x[:, m].sum()) * (20 + T * 4) for m in range(2)))
    path = str(edgefm.data_path("scenarios/paper.yaml"))
    assert main(["place", "--scenario", path, "--seed", "0", "--variant", "bounded", "--json"]) == 0
    out = strictjson.loads(capsys.readouterr().out)
    assert {"status", "objective", "bound", "gap", "seconds", "kappa", "instances"} <= set(out)
    assert main(["place", "--scenario", path, "--seed", "0", "--kappa", "999"]) == 2
    assert "kappa = 999" in capsys.readouterr().err


def test_solver_study_cases_in_processes_give_the_same_rows():
    """``workers`` only spreads the cases over processes (issue 13): the rows, timings aside, are the same."""
    from edgefm.experiments import placement_study as study

    cases = [("topozoo/Abilene", 1), ("topozoo/Abilene", 2)]
    kw = dict(variants=("bounded",), solvers=("scip", "relax", "greedy"), time_limit=None, gap=0.01)
    serial = study.solver_study(cases, workers=0, **kw).drop(columns="seconds")
    spread = study.solver_study(cases, workers=2, **kw).drop(columns="seconds")
    assert len(serial) == 6
    import pandas as pd

    pd.testing.assert_frame_equal(serial, spread)
