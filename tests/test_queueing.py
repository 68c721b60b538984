"""Queue sizing (E22–E23b): closed forms, monotonicity, and the sizing rule against the simulator."""
import math

import numpy as np
import pytest

from edgefm.placement.queueing import erlang_c, light_servers, max_rate, servers_for, wait_tail
from edgefm.workload import poisson_arrivals

from simkit import core_ms, light_ms, scenario, tiny_doc
from test_sim import Fixed
from edgefm.sim.engine import simulate


def _erlang_c_direct(c, a):
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize("c,a", [(1, 0.3), (2, 1.5), (5, 4.2), (12, 9.0), (30, 28.5)])
def test_erlang_c_matches_the_direct_formula(c, a):
    assert erlang_c(c, a) == pytest.approx(_erlang_c_direct(c, a), rel=1e-10)


def test_erlang_c_edges():
    assert erlang_c(3, 0.0) == 0.0 and erlang_c(3, 3.0) == 1.0 and erlang_c(0, 0.5) == 1.0
    assert erlang_c(200, 190.0) < 1.0  # the recursion stays finite where factorials overflow


def test_wait_tail_is_the_exact_mm_c_tail_for_exponential_service():
    # M/M/c: Pr{W > t} = C(c, A) exp(-(c mu - lambda) t)
    c, lam, s, t = 3, 2.0, 1.2, 0.7
    exact = erlang_c(c, lam * s) * math.exp(-(c / s - lam) * t)
    assert wait_tail(t, c, lam, s, cs2=1.0, ca2=1.0) == pytest.approx(exact, rel=1e-12)
    assert wait_tail(0.0, 1, 0.5, 1.0, cs2=0.0) == pytest.approx(0.5)  # Pr{wait} = rho for one server
    assert wait_tail(1.0, 2, 5.0, 1.0) == 1.0  # unstable


def test_max_rate_properties():
    g = [max_rate(c, 0.5, 5.0, 0.05) for c in range(0, 12)]
    assert g[0] == 0.0
    assert all(b > a for a, b in zip(g, g[1:]))  # more instances admit more
    assert all(gc < c / 0.5 for c, gc in enumerate(g) if c)  # always stable
    util = [gc * 0.5 / c for c, gc in enumerate(g) if c]
    assert all(b >= a - 1e-9 for a, b in zip(util, util[1:]))  # pooling: utilisation grows with c
    assert max_rate(3, 0.5, 10.0, 0.05) > max_rate(3, 0.5, 2.0, 0.05)  # a larger budget admits more
    assert wait_tail(5.0, 4, max_rate(4, 0.5, 5.0, 0.05), 0.5) == pytest.approx(0.05, rel=1e-6)


@pytest.mark.parametrize("rate", [0.3, 2.0, 7.3, 40.0])
def test_servers_for_is_the_smallest_count(rate):
    c = servers_for(rate, 0.4, 3.0, 0.02)
    assert max_rate(c, 0.4, 3.0, 0.02) >= rate > max_rate(c - 1, 0.4, 3.0, 0.02)


def test_light_servers_closed_form_and_monotonicity():
    lam, a, k, beta, w, eps = 4.0, 1.5, 1.2, 6.0, 8.0, 0.05
    theta = math.log(1 / eps) / (lam * a * w)
    expect = math.ceil(lam * math.expm1(theta * a) / (k * math.log1p(theta * beta)))
    assert light_servers(lam, a, k, beta, w, eps) == max(expect, math.ceil(lam * a / (k * beta)))
    assert light_servers(2 * lam, a, k, beta, w, eps) >= light_servers(lam, a, k, beta, w, eps)
    assert light_servers(lam, a, k, beta, w / 4, eps) >= light_servers(lam, a, k, beta, w, eps)
    assert light_servers(lam, a, k, beta, w, eps / 10) >= light_servers(lam, a, k, beta, w, eps)
    assert light_servers(lam, a, k, beta, w, eps) * k * beta >= lam * a  # never below stability


@pytest.mark.parametrize("c,s,budget", [(1, 1.0, 2.0), (3, 1.0, 1.0)])
def test_core_sizing_rule_holds_in_the_simulator(c, s, budget):
    """c deterministic instances fed at g(c) (E23) keep Pr{wait > budget} near ε or below; at
    1.5 g(c), nearer saturation, the same budget is missed far more often (the rule is not vacuous)."""
    eps = 0.05
    share = []
    for factor in (1.0, 1.5):
        lam = min(max_rate(c, s, budget, eps) * factor, 0.97 * c / s)
        doc = tiny_doc([core_ms("enc", s, 1.0)], [], single=["enc"], gateway="ES1", rate=lam, deadline=1e6,
                       horizon=20_000)
        sc = scenario(doc)
        x = np.zeros((2, 1), int)
        x[sc.node_index("ES1"), 0] = c
        res = simulate(sc, poisson_arrivals(sc, 0), x, Fixed(np.zeros((2, 1), int), -1), seed=0)
        share.append(float(np.mean(res.task_latency - s > budget)))
    assert share[0] <= eps * 1.2, share
    assert share[1] > 2 * share[0] + 0.01, share


def test_light_sizing_rule_holds_in_the_simulator():
    """A light pool sized by effective capacity (E23b) for a Gamma(1, β) rate keeps the waits within the
    budget with probability ≥ 1 − ε in the simulator."""
    eps, w, a, k, beta = 0.1, 3.0, 1.0, 1.0, 4.0
    lam = 2.0
    c = light_servers(lam, a, k, beta, w, eps)
    doc = tiny_doc([light_ms("pre", a, k * beta, shape=k)], [], single=["pre"], gateway="ES1", rate=lam,
                   deadline=1e6, horizon=5_000)
    doc["microservices"][0]["scale"] = beta
    sc = scenario(doc)
    counts = np.zeros((2, 1), int)
    counts[sc.node_index("ES1"), 0] = c
    res = simulate(sc, poisson_arrivals(sc, 1), np.zeros((2, 1), int), Fixed(counts, sc.node_index("ES1")), seed=1)
    lat = res.task_latency
    assert np.isfinite(lat).all()
    assert np.mean(lat > w + a / (k * beta) + 1.0) <= eps, (c, np.mean(lat > w))


def test_split_light_pools_need_at_least_the_pooled_count():
    for lam in (1.0, 20.0, 120.0):
        pooled = light_servers(lam, 1.2, 1.3, 12.0, 7.0, 0.05)
        split = light_servers(lam, 1.2, 1.3, 12.0, 7.0, 0.05, split=True)
        assert split >= pooled
        # the split count meets the single-instance condition at lambda / c, one fewer does not
        def ok(c):
            lc = lam / c
            th = math.log(20) / (lc * 1.2 * 7.0)
            return lc * math.expm1(th * 1.2) <= 1.3 * math.log1p(th * 12.0)
        assert ok(split) and (split == math.ceil(lam * 1.2 / (1.3 * 12.0)) or not ok(split - 1))


def test_split_light_sizing_ends_when_eps_is_out_of_reach():
    # split queues: θ_ε = ln(1/ε)/(λ_c a w) grows as c does, so a tiny ε can fail for every c; the search
    # must stop with a clear error instead of looping (it used to run forever for ε = 1e-3 on the paper draw)
    assert light_servers(4.8, 1.0, 1.5, 10.0, 11.0, 0.05, split=True) >= 1
    with pytest.raises(ValueError, match="no split light pool up to"):
        light_servers(4.8, 1.0, 1.5, 10.0, 11.0, 1e-12, split=True)


def test_provision_names_the_pool_it_cannot_size():
    import edgefm
    from edgefm.errors import InfeasibleError
    from edgefm.placement.provision import provision

    sc = edgefm.load_scenario(edgefm.data_path("scenarios", "paper.yaml"), seed=0)
    with pytest.raises(InfeasibleError, match=r"eps = 0.001: no pool of \w+"):
        provision(sc, eps=1e-3, strict_eps=True)
    with pytest.raises(ValueError, match="eps must be a probability"):
        provision(sc, eps=0.0)


def test_provision_blames_the_deadlines_when_the_budget_is_gone(tmp_path):
    """Links so slow that the shortest path eats a stage's whole slack: the error says so instead of
    asking for a larger eps (no eps sizes a pool whose waiting budget is below its service time)."""
    import edgefm
    from edgefm.errors import InfeasibleError
    from edgefm.placement.provision import provision

    text = edgefm.data_path("scenarios", "paper.yaml").read_text()
    assert "  rate: [0.1, 1.0]" in text
    slow = tmp_path / "slow.yaml"
    slow.write_text(text.replace("  rate: [0.1, 1.0]", "  rate: [0.01, 0.01]", 1))
    sc = edgefm.load_scenario(slow, seed=0)
    with pytest.raises(InfeasibleError, match=r"waiting budget is .* ms, less than its mean service .*no eps can fix"):
        provision(sc)
