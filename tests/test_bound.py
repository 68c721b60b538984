"""Capacity bound (edgefm.experiments.bound): closed forms on tiny cases, load invariants on the paper draws."""
import math

import numpy as np
import pytest

import edgefm
from edgefm.experiments.bound import bound_table, capacity_bound, offered_core_work
from edgefm.scenario import sample_scenario, spec_from_dict

PAPER = edgefm.data_path("scenarios", "paper.yaml")


def one_node_doc(ms_list, cap, rate):
    """One ES, one user on it, one task type chaining ``ms_list``."""
    return {
        "name": "one", "slot_ms": 1.0, "horizon_slots": 10,
        "node_classes": {}, "nodes": [{"name": "ES1", "kind": "ES", "capacity": cap}],
        "links": {"rate": 1.0, "propagation": 0.0, "edges": []},
        "ms_classes": {}, "microservices": ms_list,
        "task_types": {"types": [{"name": "t", "input_mb": 1.0, "deadline_ms": 50.0, **_dag(ms_list)}]},
        "users": {"list": [{"name": "u", "gateway": "ES1"}], "rate_per_ms": rate},
    }


def _dag(ms_list):
    names = [m["name"] for m in ms_list]
    return {"edges": [[a, b] for a, b in zip(names, names[1:])]} if len(names) > 1 else {"stages": names}


def core(name, res, work, f):
    return {"name": name, "kind": "core", "resources": res, "work_mb": work, "output_mb": 0.1, "rate": f,
            "cost": {"deploy": 20, "maintain": 4}}


def scen(doc):
    return sample_scenario(spec_from_dict(doc, source="test"), seed=0)


CAP = {"cpu": 10.0, "ram": 100.0, "gpu": 100.0, "vram": 100.0}


@pytest.mark.parametrize("rate", [0.05, 0.5, 2.0, 8.0])
def test_one_node_one_ms_closed_form(rate):
    # r = (3, 1, 1, 1) on R = (10, 100, 100, 100): CPU binds, 10/3 instances; each serves f = 8 MB/ms
    sc = scen(one_node_doc([core("enc", {"cpu": 3, "ram": 1, "gpu": 1, "vram": 1}, 4.0, 8.0)], CAP, rate))
    W = rate * 4.0
    b = capacity_bound(sc)
    assert b.status == "optimal"
    assert offered_core_work(sc)[0] == pytest.approx(W)
    assert b.share == pytest.approx(min(1.0, (10 / 3) * 8.0 / W), rel=1e-7)
    assert b.busy_instances_needed == pytest.approx(W / 8.0)
    assert b.instances_capacity == pytest.approx(10 / 3, rel=1e-7)
    row = b.per_ms.iloc[0]
    assert row["n_min"] == max(1, math.ceil(W / 8.0 - 1e-9))
    assert row["solo_capacity"] == pytest.approx(10 / 3)


def test_one_node_two_ms_shares_the_binding_resource():
    # one binding resource: φ* = R / Σ_m (W_m / f_m) r_m
    ms = [core("a", {"cpu": 2, "ram": 1, "gpu": 1, "vram": 1}, 6.0, 10.0),
          core("b", {"cpu": 5, "ram": 1, "gpu": 1, "vram": 1}, 3.0, 20.0)]
    rate = 8.0
    b = capacity_bound(scen(one_node_doc(ms, CAP, rate)))
    need = np.array([rate * 6.0 / 10.0, rate * 3.0 / 20.0])
    phi = 10.0 / float(need @ np.array([2.0, 5.0]))
    assert phi < 1
    assert b.share == pytest.approx(phi, rel=1e-7)
    assert b.instances_capacity == pytest.approx(phi * need.sum(), rel=1e-7)
    assert b.per_ms["lp_share"].to_numpy() == pytest.approx([phi, phi], rel=1e-6)


def test_ms_that_fits_nowhere_gives_share_zero():
    ms = [core("big", {"cpu": 11, "ram": 1, "gpu": 1, "vram": 1}, 4.0, 8.0)]
    b = capacity_bound(scen(one_node_doc(ms, CAP, 0.1)))
    assert b.status == "optimal" and b.share == 0.0


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_share_non_increasing_in_load_and_headroom_scales(seed):
    loads = [0.01, 0.5, 1.0, 1.5, 2.0, 4.0]
    df = bound_table(PAPER, [seed], loads)
    assert (df["status"] == "optimal").all()
    s = df["share"].to_numpy()
    assert np.all(np.diff(s) <= 1e-9), s
    # the LP is homogeneous in W: φ*(load) = φ*(1) / load, capacity in instances does not change
    h = df["headroom"].to_numpy()
    assert h * np.array(loads) == pytest.approx(np.full(len(loads), h[2]), rel=1e-6)
    assert df["instances_capacity"].to_numpy() == pytest.approx(np.full(len(loads), df["instances_capacity"][0]),
                                                                rel=1e-6)
    assert (df["es_instances_capacity"] <= df["instances_capacity"] + 1e-6).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tiny_load_is_never_overloaded(seed):
    df = bound_table(PAPER, [seed], [1e-3])
    assert df["share"].iloc[0] == 1.0 and not df["overloaded"].iloc[0]


def test_lp_solution_respects_capacity():
    sc = edgefm.load_scenario(PAPER, seed=5, load=2.0)
    b = capacity_bound(sc)
    used = b.x @ np.asarray(sc.demand)  # (V, K)
    assert np.all(used <= np.asarray(sc.capacity) + 1e-6)
    assert np.all(b.x[:, list(sc.light_ms)] == 0)
    # the served fraction of every core MS reaches the common share
    assert (b.per_ms["lp_share"] >= b.share - 1e-6).all()
