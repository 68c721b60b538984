"""E14 by the node DP: patterns and optima against brute force, the bound against the master LP and
the Dantzig–Wolfe decomposition, and agreement with SCIP on the paper scenario."""
import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.optimize import linprog
from test_placement_paper import paper

from edgefm.errors import InfeasibleError
from edgefm.placement import e14_data, place, violations
from edgefm.placement import nodedp
from edgefm.placement.decompose import decompose_e14
from edgefm.placement.nodedp import DPLimitError, lagrangian_dual, node_patterns, solve_e14_dp
from edgefm.placement.model import E14Data


def points(r, R, cap):
    """Every integer 0 ≤ x ≤ cap with r^T x ≤ R."""
    return [np.array(x) for x in itertools.product(*[range(c + 1) for c in cap]) if np.all(np.array(x) @ r <= R + 1e-9)]


@pytest.mark.parametrize("seed", range(12))
def test_patterns_are_the_maximal_points(seed):
    rng = np.random.default_rng(seed)
    n, K = rng.integers(1, 4), 2
    r = rng.uniform(0.5, 3.0, (n, K)).round(1)
    R = rng.uniform(3.0, 9.0, K).round(1)
    cap = rng.integers(1, 5, n)
    coef = rng.choice([-5.0, -1.0, 2.0], n)
    got = {tuple(x) for x in node_patterns(r, R, cap, coef)}
    pts = points(r, R, cap)
    want = {tuple(x) for x in pts
            if not any(coef[j] < 0 and x[j] < cap[j] and np.all((x + np.eye(n, dtype=int)[j]) @ r <= R + 1e-9)
                       for j in range(n))}
    assert got == want


def test_pattern_limit():
    with pytest.raises(DPLimitError, match="patterns"):
        node_patterns(np.ones((3, 1)), np.array([30.0]), np.array([30, 30, 30]), -np.ones(3), max_patterns=50)


def synthetic(seed, V=3, M=3):
    """A random E14 over V nodes and M core MSs (mixed-sign coefficients) and the brute-force inputs."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(1.0, 3.0, (M, 2)).round(1)
    R = rng.uniform(3.0, 8.0, (V, 2)).round(1)
    U = np.floor(R[:, None, :] / r[None] + 1e-9).min(axis=2).astype(int)
    pv, pm = np.nonzero(U >= 1)
    coef = rng.uniform(-10.0, 4.0, len(pv)).round(2)
    N = rng.integers(1, 3, M)
    data = E14Data(pv=pv, pm=pm, coef=coef, cap=U[pv, pm], U=U[pv, pm], N=N, R=R, r=r, core=tuple(range(M)),
                   variant="literal", profile=None)
    return SimpleNamespace(n_nodes=V), data


def brute(data, kappa=0, survivable=False):
    best = math.inf
    for x in itertools.product(*[range(c + 1) for c in data.cap]):
        x = np.array(x)
        X = np.zeros((len(data.R), len(data.r)), dtype=int)
        X[data.pv, data.pm] = x
        if np.any(X @ data.r > data.R + 1e-9) or np.any(X.sum(axis=0) < data.N):
            continue
        if np.count_nonzero(x) < kappa or (survivable and np.any(np.count_nonzero(X, axis=0) < 2)):
            continue
        best = min(best, float(data.coef @ x))
    return best


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("kw", [dict(), dict(kappa=4), dict(survivable=True)])
def test_dp_matches_brute_force(seed, kw):
    s, data = synthetic(seed)
    if np.prod(data.cap + 1.0) > 2e5:
        pytest.skip("too many points to enumerate")  # never for these seeds; guards edits to synthetic()
    best = brute(data, **kw)
    res = solve_e14_dp(s, data, **kw)
    if not math.isfinite(best):
        assert res.status == "infeasible" and res.x is None
        return
    assert res.status == "optimal" and res.gap == 0.0
    assert res.objective == pytest.approx(best, abs=1e-9)
    assert data.coef @ res.x == pytest.approx(res.objective)
    assert res.lagrangian <= best + 1e-9  # weak duality
    if math.isfinite(res.heuristic):
        assert res.heuristic >= best - 1e-9  # the beam pass returns a feasible placement
    narrow = solve_e14_dp(s, data, beam=1, **kw)  # a beam of one state often completes nothing
    assert narrow.objective == pytest.approx(best, abs=1e-9)


def test_lagrangian_equals_master_lp():
    """max_μ L(μ) is the LP dual of the master over all patterns (Dantzig–Wolfe): same value."""
    s, data = synthetic(3, V=4)
    core = list(data.core)
    costs, covers = [], []
    for v in range(s.n_nodes):
        at = np.flatnonzero(data.pv == v)
        X = node_patterns(data.r[data.pm[at]], data.R[v], data.cap[at], data.coef[at])
        costs.append(X @ data.coef[at])
        covers.append(nodedp._coverage(X, data.pm[at], core, 0, False))
    L, mu, phi, _ = lagrangian_dual(costs, covers, data.N.astype(float))
    n = [len(c) for c in costs]
    A_eq = np.zeros((s.n_nodes, sum(n)))
    for v in range(s.n_nodes):
        A_eq[v, sum(n[:v]):sum(n[:v + 1])] = 1.0
    lp = linprog(np.concatenate(costs), A_ub=-np.vstack(covers).T, b_ub=-data.N, A_eq=A_eq, b_eq=np.ones(s.n_nodes),
                 method="highs")
    assert lp.status == 0
    assert L == pytest.approx(lp.fun, rel=1e-9, abs=1e-9)
    assert np.all(mu >= 0)


def test_lagrangian_equals_decomposition_bound():
    """Two independent computations of the Dantzig–Wolfe bound (SCIP pricing vs enumerated patterns)."""
    s = paper(8)
    d = e14_data(s, variant="literal")
    dw = decompose_e14(s, d, gap=1e-9)
    res = solve_e14_dp(s, d)
    assert dw.converged
    assert res.lagrangian == pytest.approx(dw.bound, rel=1e-6)
    assert res.lagrangian <= res.objective


@pytest.mark.parametrize("seed,variant,kw", [(0, "literal", dict(kappa=0)), (5, "literal", dict(kappa=0)),
                                             (8, "literal", dict(kappa=22)), (0, "bounded", dict(kappa=0)),
                                             (0, "literal", dict(kappa=0, survivable=True))])
def test_dp_equals_scip_on_paper(seed, variant, kw):
    s = paper(seed)
    dp = place(s, variant=variant, method="dp", **kw)
    direct = place(s, variant=variant, method="direct", gap=1e-9, **kw)
    assert dp.info["method"] == "dp" and dp.status == "optimal" and dp.gap == 0
    assert dp.objective == pytest.approx(direct.objective, rel=1e-7)
    assert violations(s, dp.x, kappa=kw["kappa"], survivable=kw.get("survivable", False)) == []


def test_dp_kappa_search_equals_direct():
    s = paper(4)
    dp, direct = place(s, variant="literal"), place(s, variant="literal", method="direct", gap=1e-9)
    assert dp.info["method"] == "dp" and dp.info["certified"]
    assert dp.kappa == direct.kappa
    assert dp.objective == pytest.approx(direct.objective, rel=1e-7)


def test_dp_proves_infeasibility():
    s = paper(6)  # no E14 placement exists (SCIP agrees: the message comes from its diagnosis)
    res = solve_e14_dp(s, e14_data(s, variant="literal"))
    assert res.status == "infeasible" and math.isnan(res.objective)
    with pytest.raises(InfeasibleError, match="capacity"):
        place(s, kappa=0, variant="literal", method="dp")


def test_auto_uses_dp_on_small_literal_programs():
    p = place(paper(3), kappa=0, variant="literal")
    assert p.info["method"] == "dp" and p.status == "optimal" and p.nodes == 0
    s = paper(0)
    assert place(s, kappa=0, variant="literal", max_sites=30).info["method"] == "direct"
    with pytest.raises(ValueError, match="max_sites"):
        place(s, kappa=0, variant="literal", max_sites=30, method="dp")


def test_limit_hands_over_to_the_solver(monkeypatch):
    def too_many(*a, **k):
        raise DPLimitError("a node has more than 1 patterns")

    monkeypatch.setattr(nodedp, "node_patterns", too_many)
    s = paper(0)
    p = place(s, kappa=0, variant="literal", method="dp")
    assert p.info["method"] == "direct" and "node DP stopped" in p.info["message"]
    assert p.status == "optimal"


def test_time_limit_raises_limit():
    s = paper(0)
    with pytest.raises(DPLimitError, match="time"):
        solve_e14_dp(s, e14_data(s, variant="literal"), time_limit=0.0)


def test_hashed_keys_give_the_same_optimum(monkeypatch):
    s = paper(0)
    d = e14_data(s, variant="literal")
    a = solve_e14_dp(s, d)
    monkeypatch.setattr(nodedp, "_radix", lambda rhs: None)  # as when the grid has ≥ 2⁶² points
    b = solve_e14_dp(s, d)
    assert b.objective == pytest.approx(a.objective, rel=1e-12)


def test_deterministic_and_beam_independent():
    s = paper(9)
    d = e14_data(s, variant="literal")
    a, b = solve_e14_dp(s, d), solve_e14_dp(s, d)
    assert np.array_equal(a.x, b.x)
    for beam in (1, 4, 16):  # the beam only supplies the pruning bound (1 finds none): same optimum
        assert solve_e14_dp(s, d, beam=beam).objective == pytest.approx(a.objective, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 9])
def test_tabulated_last_node_equals_pairwise(monkeypatch, seed):
    """The last node by suffix-minimum table gives what forming every (state, pattern) pair gives."""
    s = paper(seed)
    d = e14_data(s, variant="literal")
    a = solve_e14_dp(s, d)
    monkeypatch.setattr(nodedp, "_GRID", 0)
    b = solve_e14_dp(s, d)
    assert b.objective == pytest.approx(a.objective, rel=1e-12)
    assert b.work > a.work


def test_last_node_table_reports_no_completion():
    """No pattern of the last node covers what a state lacks: no placement (also without a bound)."""
    keys, costs = np.array([[0, 0], [1, 0]]), np.array([0.0, -1.0])
    K, C = np.array([[1, 0], [0, 0]]), np.array([-1.0, 0.0])
    best, picks, _, _ = nodedp._finish(keys, costs, [], K, C, np.array([1, 1]), np.inf, 2, 0)
    assert best == math.inf and picks is None
    best, picks, _, _ = nodedp._finish(keys, costs, [(np.array([0, 0]), np.array([0, 1]))], K, C,
                                       np.array([1, 0]), np.inf, 2, 0)
    assert best == -2.0 and picks == [1, 0]  # state 1 (cost -1) + the pattern [1, 0] (cost -1)


def test_limit_keeps_the_beam_placement_as_a_start(monkeypatch):
    """Past its work limit the DP hands over its beam placement; SCIP starts from it and proves the optimum."""
    import functools

    s = paper(3)
    d = e14_data(s, variant="literal")
    opt = solve_e14_dp(s, d)
    with pytest.raises(DPLimitError) as err:
        solve_e14_dp(s, d, max_work=1.5e5)  # enough for the beam pass only
    x = np.zeros((s.n_nodes, s.n_ms), dtype=int)
    x[d.pv, d.pm] = err.value.incumbent
    assert violations(s, x) == []
    assert d.coef @ err.value.incumbent >= opt.objective - 1e-9 * abs(opt.objective)
    monkeypatch.setattr(nodedp, "solve_e14_dp", functools.partial(solve_e14_dp, max_work=1.5e5))
    p = place(s, kappa=0, variant="literal", method="dp")
    assert p.info["method"] == "direct" and p.status == "optimal"
    assert p.objective == pytest.approx(opt.objective, rel=1e-7)
