"""Assignment form (docs/model.md §5.7): brute force, SCIP vs HiGHS, N−1 properties, infeasibility messages."""
import itertools
import math

import numpy as np
import pytest

import edgefm
from edgefm.errors import InfeasibleError
from edgefm.placement import mean_profile
from edgefm.placement.assignment import assign_placement, assignment_data, default_latency_weight, n1_violations
from edgefm.scenario import sample_scenario, spec_from_dict


def tiny(rate=0.8, deadline=10.0, types=(("t", "A"),), horizon=1000):
    """3 nodes in a chain n0 - n1 - n2 (user at n0), core MSs A/B of 3 cpu each; n0/n1/n2 hold 1/2/3."""
    cap = lambda cpu: {"cpu": cpu, "ram": 10, "gpu": 10, "vram": 10}  # noqa: E731
    doc = {
        "name": "tiny", "horizon_slots": horizon,
        "node_classes": {"S": {"kind": "ES", "capacity": cap(10)}},
        "nodes": [{"name": "n0", "kind": "ES", "capacity": cap(3)}, {"name": "n1", "kind": "ES", "capacity": cap(7)},
                  {"name": "n2", "kind": "ES", "capacity": cap(10)}],
        "links": {"rate": 1.0, "edges": [["n0", "n1"], ["n1", "n2"]]},
        "ms_classes": {"core": {"resources": {"cpu": 3, "ram": 1, "gpu": 1, "vram": 1}, "work_mb": 4,
                                "output_mb": 1, "rate": 2, "cost": {"deploy": 20, "maintain": 4}}},
        "microservices": [{"name": "A", "kind": "core"}, {"name": "B", "kind": "core"}],
        "task_types": {"input_mb": 2, "deadline_ms": deadline,
                       "types": [{"name": n, "stages": [m]} for n, m in types]},
        "users": {"rate_per_ms": rate, "list": [{"name": "u", "gateway": "n0"}]},
    }
    return sample_scenario(spec_from_dict(doc), seed=0)


def brute(s, *, omega=None, util=0.8, survivable=False, reserve=False, failover=None, min_sites=None,
          max_sites=None):
    """Optimum over every integer x (one demand, MS A): fluid routing by cheapest node first, backup enumerated."""
    d = assignment_data(s)
    assert d.n_demands == 1
    o, lam, fin, ok = d.occ[0], d.rate[0], d.finish[0], d.allowed[0]
    omega = default_latency_weight(s) if omega is None else omega
    T = s.horizon_slots
    inst = s.microservices[0].cost_deploy + T * s.microservices[0].cost_maintain
    cost = omega * T * s.slot_ms * lam * fin
    U = d.U[:, 0]
    best = math.inf
    for x in itertools.product(*[range(k + 1) for k in U]):
        x = np.array(x)
        sites = np.count_nonzero(x)
        if (min_sites is not None and sites < min_sites) or (max_sites is not None and sites > max_sites):
            continue
        if failover is not None and any(failover * (x.sum() - x[f]) < o - 1e-12 for f in range(len(x)) if U[f]):
            continue
        for b in ([None] if not survivable else [v for v in range(len(x)) if ok[v] and x[v] > 0]):
            if reserve and b is not None and o > util * x[b] + 1e-12:
                continue
            left, lat = 1.0, 0.0
            for v in np.argsort(cost, kind="stable"):
                if not ok[v] or v == b or x[v] == 0:
                    continue
                share = min(left, util * x[v] / o)
                lat += share * cost[v]
                left -= share
            if left > 1e-12:
                continue
            best = min(best, inst * x.sum() + lat)
    return best


CASES = [dict(), dict(omega=0.0), dict(omega=20.0), dict(rate=1.5), dict(rate=1.5, omega=0.0),
         dict(deadline=5.0), dict(rate=0.3, min_sites=3), dict(rate=1.5, max_sites=2, omega=20.0),
         dict(survivable=True), dict(survivable=True, omega=0.0), dict(survivable=True, rate=1.5),
         dict(survivable=True, deadline=5.0, rate=0.3), dict(survivable=True, reserve=True),
         dict(survivable=True, reserve=True, rate=1.2, omega=20.0), dict(survivable=True, failover=1.0),
         dict(survivable=True, failover=0.8, rate=1.2, omega=20.0)]


@pytest.mark.parametrize("case", CASES, ids=[",".join(f"{k}={v}" for k, v in c.items()) or "default" for c in CASES])
def test_matches_brute_force(case):
    case = dict(case)
    s = tiny(rate=case.pop("rate", 0.8), deadline=case.pop("deadline", 10.0))
    best = brute(s, **case)
    assert math.isfinite(best)
    p = assign_placement(s, latency_weight=case.get("omega"), survivable=case.get("survivable", False),
                         backup_capacity="reserve" if case.get("reserve") else
                         "failover" if case.get("failover") else "ignore", failover_util=case.get("failover") or 1.0,
                         min_sites=case.get("min_sites"), max_sites=case.get("max_sites"), gap=1e-9)
    assert p.status == "optimal"
    assert p.objective == pytest.approx(best, rel=1e-7, abs=1e-6)
    assert p.cost_core == pytest.approx(float((p.x[:, 0] * (20 + 4 * s.horizon_slots)).sum()))
    assert p.kappa == np.count_nonzero(p.x)
    assert p.variant == ("assignment_n1" if case.get("survivable") else "assignment")
    assert not p.x[:, 1].any()  # MS B has no demand here; no instance is placed for it


def test_finish_is_the_mean_profile():
    s = tiny()
    d = assignment_data(s)
    # transfer of 2 MB at 1 MB/ms per hop plus a/f = 4/2 ms
    np.testing.assert_allclose(d.finish[0], [2.0, 4.0, 6.0])
    np.testing.assert_allclose(d.finish[0], mean_profile(s).finish[0, 0, 0])
    assert d.occ[0] == pytest.approx(0.8 * 2.0)


@pytest.fixture(scope="module")
def paper():
    return edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=0)


@pytest.fixture(scope="module")
def paper_n1(paper):
    return assign_placement(paper, survivable=True)


def test_scip_and_highs_agree_on_paper(paper):
    a = assign_placement(paper, solver="scip", gap=1e-6)
    b = assign_placement(paper, solver="highs", gap=1e-6)
    assert a.status == b.status == "optimal"
    assert a.objective == pytest.approx(b.objective, rel=2e-6)
    for p in (a, b):
        # every demand fully routed, and each site's load within util of its instances
        w, dem = p.info["w"], p.info["demands"]
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-6)
        d = assignment_data(paper)
        load = np.zeros(p.x.shape)
        for i, (u, n, m) in enumerate(dem):
            load[:, m] += d.occ[i] * w[i]
        assert np.all(load <= 0.8 * p.x + 1e-6)
        assert np.all((w > 1e-9) <= d.allowed)
        assert np.all(p.x @ paper.demand <= paper.capacity + 1e-6)


def test_n1_backups_disjoint_and_within_budget(paper, paper_n1):
    p = paper_n1
    assert p.status == "optimal" and p.variant == "assignment_n1"
    d = assignment_data(paper)
    w, z = p.info["w"], p.info["z"]
    assert np.all(z.sum(axis=1) == 1)
    for i in range(d.n_demands):
        b = int(np.flatnonzero(z[i])[0])
        assert w[i, b] <= 1e-9, "backup node also serves a primary share"
        assert d.allowed[i, b] and d.finish[i, b] <= d.deadline[i] + 1e-9
        assert p.x[b, d.demands[i, 2]] >= 1
    assert n1_violations(paper, p) == []


def test_n1_every_core_ms_survives_any_single_failure(paper, paper_n1):
    x = paper_n1.x
    for f in range(paper.n_nodes):
        left = np.delete(x, f, axis=0)
        for m in paper.core_ms:
            assert left[:, m].sum() >= 1, f"losing {paper.nodes[f].name} removes {paper.microservices[m].name}"
    assert all(np.count_nonzero(x[:, m]) >= 2 for m in paper.core_ms)


def test_n1_violations_detects_a_single_site():
    s = tiny(rate=0.3)
    p = assign_placement(s, max_sites=1)
    assert p.kappa == 1
    msgs = n1_violations(s, p)
    assert len(msgs) == 1 and "losing node" in msgs[0]


def test_reserve_never_cheaper_than_ignore():
    s = tiny(rate=1.2)
    a = assign_placement(s, survivable=True)
    b = assign_placement(s, survivable=True, backup_capacity="reserve")
    assert b.objective >= a.objective - 1e-6


def test_relaxed_budget_routes_to_best_node():
    s = tiny(rate=0.3, deadline=1.0)  # every node finishes after 2 ms
    p = assign_placement(s)
    assert [r["ms"] for r in p.info["relaxed"]] == ["A"]
    assert [sh["node"] for sh in p.info["shares"]] == ["n0"]
    assert p.x[0, 0] == 1 and p.x.sum() == 1


@pytest.mark.parametrize("kw, match", [
    (dict(rate=0.8, deadline=3.0), r"busy instances but its nodes within the 3 ms budget \(n0\)"),
    (dict(rate=0.3, deadline=3.0, survivable=True), r"N-1: demand .* has only node n0"),
    (dict(rate=5.0), r"busy instances"),
    (dict(rate=1.3, types=(("t1", "A"), ("t2", "B"))), r"resource cpu: .* use 24\.0 but all nodes hold 20\.0"),
    (dict(rate=0.3, survivable=True, max_sites=1), r"max_sites = 1 < 2"),
    (dict(rate=0.3, min_sites=7), r"min_sites = 7 exceeds the 6"),
    (dict(rate=1.5, max_sites=1), r"infeasible .*max_sites"),
    (dict(rate=1.3, survivable=True, backup_capacity="reserve"), r"resource cpu: .* reserved backups"),
])
def test_infeasible_messages(kw, match):
    kw = dict(kw)
    opts = {k: kw.pop(k) for k in ("survivable", "max_sites", "min_sites", "backup_capacity") if k in kw}
    s = tiny(**kw)
    with pytest.raises(InfeasibleError, match=match):
        assign_placement(s, **opts)


def test_bad_options():
    s = tiny()
    with pytest.raises(ValueError, match="backup_capacity"):
        assign_placement(s, survivable=True, backup_capacity="all")
    with pytest.raises(ValueError, match="util"):
        assign_placement(s, util=1.5)
