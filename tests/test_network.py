"""Payload-dependent transfer delays (Eq. E2, docs/model.md §1)."""
from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

import edgefm
from edgefm.network import Network
from edgefm.scenario import sample_scenario, spec_from_dict

PAPER = edgefm.data_path("scenarios", "paper.yaml")


def _tiny_doc(edges) -> dict:
    """A complete minimal scenario document over nodes A, B, C, D with the given links."""
    cap = {"cpu": 10, "ram": 10, "gpu": 10, "vram": 10}
    ms = {"resources": {"cpu": 1, "ram": 1, "gpu": 1, "vram": 1}, "work_mb": 1, "output_mb": 1,
          "cost": {"deploy": 1, "maintain": 1}}
    return {
        "name": "tiny",
        "node_classes": {"S": {"kind": "ES", "capacity": cap}},
        "nodes": [{"name": n, "class": "S"} for n in "ABCD"],
        "links": {"edges": edges},
        "ms_classes": {"core": {**ms, "rate": 1}},
        "microservices": [{"name": "m", "kind": "core"}],
        "task_types": {"input_mb": 1, "deadline_ms": 10, "types": [{"name": "t", "stages": ["m"]}]},
        "users": {"rate_per_ms": 0.1, "list": [{"name": "u", "gateway": "A"}]},
    }


def _scenario(doc, seed=0):
    return sample_scenario(spec_from_dict(doc, "tiny.yaml"), seed=seed)


# A - B - C - D: fast links (1 MB/ms) with 1 ms propagation each;
# A - D shortcut: slow (0.1 MB/ms) with 0.5 ms propagation.
PATH_AND_SHORTCUT = [
    {"u": "A", "v": "B", "rate": 1.0, "propagation": 1.0},
    {"u": "B", "v": "C", "rate": 1.0, "propagation": 1.0},
    {"u": "C", "v": "D", "rate": 1.0, "propagation": 1.0},
    {"u": "A", "v": "D", "rate": 0.1, "propagation": 0.5},
]
A, B, C, D = range(4)


def _by_hand(b: float) -> np.ndarray:
    """E2 on the graph above, path by path (b / w + p per hop)."""
    hop = b / 1.0 + 1.0  # any fast link
    cut = b / 0.1 + 0.5  # the shortcut
    T = np.zeros((4, 4))
    T[A, B] = min(hop, cut + 2 * hop)
    T[A, C] = min(2 * hop, cut + hop)
    T[A, D] = min(3 * hop, cut)
    T[B, C] = min(hop, 2 * hop + cut)
    T[B, D] = min(2 * hop, hop + cut)
    T[C, D] = min(hop, 2 * hop + cut)
    return T + T.T


def _brute_force(s, b: float) -> np.ndarray:
    """Minimum over every simple path of Σ (b / w_e + p_e), parallel links taken one by one."""
    g = nx.MultiGraph()
    g.add_nodes_from(range(s.n_nodes))
    for lk in s.links:
        g.add_edge(lk.u, lk.v, cost=b / lk.rate + lk.propagation)
    T = np.zeros((s.n_nodes, s.n_nodes))
    for u, v in itertools.permutations(range(s.n_nodes), 2):
        T[u, v] = min(sum(min(d["cost"] for d in g.get_edge_data(x, y).values()) for x, y in zip(p, p[1:]))
                      for p in nx.all_simple_paths(g, u, v))
    return T


@pytest.fixture(scope="module")
def tiny():
    return _scenario(_tiny_doc(PATH_AND_SHORTCUT))


@pytest.fixture(scope="module")
def paper():
    return edgefm.load_scenario(PAPER, seed=3)


def test_small_payload_takes_the_low_propagation_shortcut(tiny):
    net = Network(tiny)
    # b = 0.1 MB: three fast hops 3 × (0.1 + 1) = 3.3 ms; shortcut 0.1 / 0.1 + 0.5 = 1.5 ms
    assert net.transfer(0.1, A, D) == pytest.approx(1.5)
    # A -> C: two fast hops 2.2 ms; shortcut then C-D hop: 1.5 + 1.1 = 2.6 ms -> fast path
    assert net.transfer(0.1, A, C) == pytest.approx(2.2)
    # b = 0.01 MB: A -> C via the shortcut 0.1 + 0.5 + 1.01 = 1.61 < 2.02
    assert net.transfer(0.01, A, C) == pytest.approx(1.61)


def test_large_payload_takes_the_high_rate_path(tiny):
    net = Network(tiny)
    # b = 1 MB: three fast hops 3 × 2 = 6 ms; shortcut 10.5 ms
    assert net.transfer(1.0, A, D) == pytest.approx(6.0)
    assert net.transfer(1.0, A, C) == pytest.approx(4.0)
    # the crossover on A -> D is at 3b + 3 = 10b + 0.5, b = 2.5 / 7
    bx = 2.5 / 7
    assert net.transfer(bx * 0.99, A, D) == pytest.approx(10 * bx * 0.99 + 0.5)
    assert net.transfer(bx * 1.01, A, D) == pytest.approx(3 * bx * 1.01 + 3)


@pytest.mark.parametrize("b", [0.0, 0.01, 0.1, 2.5 / 7, 0.5, 1.0, 7.0])
def test_tiny_graph_matches_hand_computation_and_brute_force(tiny, b):
    T = Network(tiny).transfer_matrix(b)
    np.testing.assert_allclose(T, _by_hand(b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(T, _brute_force(tiny, b), rtol=1e-12, atol=1e-12)


def test_zero_payload_costs_the_propagation_only(tiny):
    # E2 with b = 0: Σ p_e on the least-propagation path, not 0
    assert Network(tiny).transfer(0.0, A, D) == pytest.approx(0.5)
    assert Network(tiny).transfer(0.0, B, B) == 0.0


@pytest.mark.parametrize("b", [0.0, 0.3, 2.0])
def test_symmetric_with_zero_diagonal(paper, tiny, b):
    for s in (paper, tiny):
        T = Network(s).transfer_matrix(b)
        # equal up to summation order (Dijkstra adds the hops in opposite orders: ~1 ulp)
        np.testing.assert_allclose(T, T.T, rtol=1e-14, atol=0)
        np.testing.assert_array_equal(np.diag(T), 0.0)
        assert np.isfinite(T).all()
        if b > 0:
            assert (T[~np.eye(s.n_nodes, dtype=bool)] > 0).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_triangle_inequality_on_the_paper_scenario(seed):
    s = edgefm.load_scenario(PAPER, seed=seed)
    T = Network(s).transfer_matrix(1.7)
    # T[u, w] <= T[u, v] + T[v, w] for all u, v, w
    assert (T[:, None, :] <= T[:, :, None] + T[None, :, :] + 1e-12).all()


def test_paper_scenario_matches_brute_force(paper):
    np.testing.assert_allclose(Network(paper).transfer_matrix(2.0), _brute_force(paper, 2.0), rtol=1e-12)


def test_zero_propagation_fast_path_equals_general_path(paper):
    fast = Network(paper)
    assert fast.zero_propagation
    general = Network(paper)
    general.zero_propagation = False  # force the per-payload shortest-path computation
    for b in (0.25, 1.0, 3.5):
        np.testing.assert_allclose(fast.transfer_matrix(b), general.transfer_matrix(b), rtol=1e-12, atol=0)
        # with no propagation the delay is linear in the payload
        np.testing.assert_allclose(fast.transfer_matrix(b), b * fast.per_mb, rtol=1e-12, atol=0)


def test_transfer_matrix_is_read_only_and_cached(paper):
    net = Network(paper)
    m = net.transfer_matrix(1.0)
    assert m is net.transfer_matrix(1.0)
    with pytest.raises(ValueError):
        m[0, 1] = 0.0


def test_module_shortcut_agrees(paper):
    assert edgefm.transfer_delay(paper, 1.3, 0, 9) == Network(paper).transfer(1.3, 0, 9)


@pytest.mark.parametrize("b", [-1.0, -1e-9, float("nan"), float("inf")])
def test_bad_payload_is_an_error(paper, b):
    with pytest.raises(ValueError, match="payload") as info:
        Network(paper).transfer_matrix(b)
    assert "\n" not in str(info.value)


def test_parallel_links_choose_by_payload():
    # two parallel A-B links: fast with 2 ms propagation, slow with none; plus a chain to stay connected
    edges = [{"u": "A", "v": "B", "rate": 1.0, "propagation": 2.0},
             {"u": "A", "v": "B", "rate": 0.1, "propagation": 0.0},
             {"u": "B", "v": "C", "rate": 1.0, "propagation": 0.0},
             {"u": "C", "v": "D", "rate": 1.0, "propagation": 0.0}]
    s = _scenario(_tiny_doc(edges))
    # b = 0.1: slow link 1 ms < fast link 2.1 ms
    assert Network(s).transfer(0.1, A, B) == pytest.approx(1.0)
    # b = 10: fast link 12 ms < slow link 100 ms
    assert Network(s).transfer(10.0, A, B) == pytest.approx(12.0)
    assert Network(s).transfer(10.0, B, A) == pytest.approx(12.0)


@pytest.mark.parametrize("zero_propagation", [True, False])
def test_transfer_matrix_is_exactly_symmetric(paper, zero_propagation):
    net = Network(paper)
    net.zero_propagation = zero_propagation
    for b in (0.0, 0.37, 3.0):
        m = net.transfer_matrix(b)
        np.testing.assert_array_equal(m, m.T)
        assert np.all(np.isfinite(m)) and np.all(np.diag(m) == 0.0)


# Zero-cost hops (b = 0, no propagation) must stay edges: a dense matrix given to scipy's dijkstra
# would drop weights below ~1e-8 as missing edges.
def test_zero_cost_hop_with_propagation_elsewhere():
    # A - B has no propagation, the rest does: the general path runs, and b = 0 makes A - B cost 0
    edges = [{"u": "A", "v": "B", "rate": 1.0, "propagation": 0.0},
             {"u": "B", "v": "C", "rate": 1.0, "propagation": 1.0},
             {"u": "C", "v": "D", "rate": 1.0, "propagation": 1.0}]
    net = Network(_scenario(_tiny_doc(edges)))
    assert net.transfer(0.0, A, B) == 0.0
    assert net.transfer(0.0, A, D) == pytest.approx(2.0)
    assert net.transfer(1e-9, A, B) == pytest.approx(1e-9)


def test_zero_payload_general_path_equals_fast_path(paper):
    general = Network(paper)
    general.zero_propagation = False
    np.testing.assert_array_equal(general.transfer_matrix(0.0), np.zeros((10, 10)))
