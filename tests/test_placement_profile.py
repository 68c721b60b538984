"""Mean-value profile, E15 load apportioning, E16 scores and N_m (edgefm.placement.profile)."""
import math

import numpy as np
import pytest

import edgefm
from edgefm.placement.profile import mean_profile, occupancy_demand
from edgefm.scenario import sample_scenario, spec_from_dict


def chain_spec(**over):
    """2 nodes joined by a 1 MB/ms link; chain A -> B; one user at node n0."""
    doc = {
        "name": "chain",
        "node_classes": {"S": {"kind": "ES", "capacity": {"cpu": 10, "ram": 10, "gpu": 10, "vram": 10}}},
        "nodes": [{"name": "n0", "class": "S"}, {"name": "n1", "class": "S"}],
        "links": {"rate": 1.0, "edges": [["n0", "n1"]]},
        "ms_classes": {"core": {"resources": {"cpu": 3, "ram": 1, "gpu": 1, "vram": 1}, "work_mb": 4,
                                "output_mb": 1, "rate": 2, "cost": {"deploy": 20, "maintain": 4}}},
        "microservices": [{"name": "A", "kind": "core"},
                          {"name": "B", "kind": "core", "work_mb": 6, "rate": 3,
                           "resources": {"cpu": 4, "ram": 1, "gpu": 1, "vram": 1}}],
        "task_types": {"input_mb": 2, "deadline_ms": 10, "types": [{"name": "t", "edges": [["A", "B"]]}]},
        "users": {"rate_per_ms": 1.2, "list": [{"name": "u", "gateway": "n0"}]},
        "placement": {"delta": 0.01, "u_min": -1.0},
    }
    doc.update(over)
    return spec_from_dict(doc)


def test_chain_by_hand():
    s = sample_scenario(chain_spec(), seed=0)
    p = mean_profile(s)
    # A: root, input 2 MB over 1 MB/ms; service 4/2 = 2 ms
    np.testing.assert_allclose(p.prefix[0, 0, 0], [0.0, 2.0])
    np.testing.assert_allclose(p.finish[0, 0, 0], [2.0, 4.0])
    # B: min over s of finish_A(s) + 1 MB transfer; service 6/3 = 2 ms
    np.testing.assert_allclose(p.prefix[0, 0, 1], [2.0, 3.0])
    np.testing.assert_allclose(p.finish[0, 0, 1], [4.0, 5.0])
    # urgency: A has descendant work 2 ms; B is the sink, denominator max(0, Δ) = 1
    np.testing.assert_allclose(p.urgency[0, 0, 0], [(10 - 2) / 2, (10 - 4) / 2])
    np.testing.assert_allclose(p.urgency[0, 0, 1], [6.0, 5.0])
    # E15: softmin weights exp(-0.01 (prefix - min))
    wA = np.array([1.0, math.exp(-0.02)])
    wB = np.array([1.0, math.exp(-0.01)])
    np.testing.assert_allclose(p.z[:, 0], 1.2 * wA / wA.sum())
    np.testing.assert_allclose(p.z[:, 1], 1.2 * wB / wB.sum())
    # E16
    np.testing.assert_allclose(p.score[:, 0], p.z[:, 0] * [4.0, 3.0])
    np.testing.assert_allclose(p.score[:, 1], p.z[:, 1] * [6.0, 5.0])
    # N_m = ceil(1.2 * 2) = 3 for both; occupancy = z / Δ * service
    assert list(p.n_min) == [3, 3]
    np.testing.assert_allclose(p.occupancy.sum(axis=0), [2.4, 2.4])


def test_unfit_node_is_infinite_and_gets_no_load():
    spec = chain_spec(nodes=[{"name": "n0", "class": "S"},
                             {"name": "n1", "kind": "ES", "capacity": {"cpu": 3.5, "ram": 10, "gpu": 10, "vram": 10}}])
    s = sample_scenario(spec, seed=0)
    p = mean_profile(s)
    assert np.isinf(p.finish[0, 0, 1, 1]) and np.isinf(p.prefix[0, 0, 1, 1])  # B (cpu 4) not on n1
    assert p.z[1, 1] == 0 and p.score[1, 1] == 0
    assert p.urgency[0, 0, 1, 1] == -1.0  # u_min
    np.testing.assert_allclose(p.z[0, 1], 1.2)
    # A still fits on n1 and B's prefix on n0 may use A on n1: min over s
    assert np.isfinite(p.finish[0, 0, 0, 1])


def test_occupancy_demand_formula():
    s = sample_scenario(chain_spec(users={"rate_per_ms": 0.1, "list": [{"name": "u", "gateway": "n0"}]}), seed=0)
    assert list(occupancy_demand(s)) == [1, 1]  # ceil(0.2) = 1, max(1, .) as well
    s = s.with_load(10.0)
    assert list(occupancy_demand(s)) == [2, 2]  # ceil(2.0) exactly, no round-off bump


@pytest.mark.parametrize("seed", [0, 1])
def test_paper_invariants(seed):
    s = edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=seed)
    p = mean_profile(s)
    lam = s.arrival_rates
    for m in range(s.n_ms):
        users_of = sum(lam[:, n].sum() for n in range(s.n_types) if s.uses(n, m))
        np.testing.assert_allclose(p.z[:, m].sum(), users_of * s.slot_ms)  # weights normalised over v
        assert np.all(p.z[~p.fits[m], m] == 0)
    # DP: a stage cannot start before any parent's best finish, and finish = prefix + a/f
    for n, tt in enumerate(s.task_types):
        for i, m in enumerate(tt.stages):
            svc = s.microservices[m].mean_service_ms
            ok = np.isfinite(p.prefix[:, n, m])
            np.testing.assert_allclose(p.finish[:, n, m][ok], p.prefix[:, n, m][ok] + svc)
            for q in tt.parents[i]:
                mq = tt.stages[q]
                assert np.all(p.prefix[:, n, m] >= p.finish[:, n, mq].min(axis=1)[:, None] - 1e-12)
    assert np.all(p.urgency >= s.placement.u_min)
