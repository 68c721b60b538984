"""Tests of the solver-independent MILP layer against brute force."""
import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from edgefm.errors import InfeasibleError, SolverError, TimeLimitWarning
from edgefm.placement.milp import MILP, lp_bound, relax, solve

SOLVERS = ["scip", "highs"]


def knapsack(rng, n=8):
    w = rng.integers(1, 20, n).astype(float)
    v = rng.integers(1, 30, n).astype(float)
    cap = float(w.sum() // 2)
    model = MILP(c=-v, A=sp.csr_matrix(w[None, :]), lb_row=[-np.inf], ub_row=[cap],
                 lb=np.zeros(n), ub=np.ones(n), integrality=np.ones(n, bool))
    return model, w, v, cap


def brute_force(model):
    n = model.n_vars
    best = np.inf
    for bits in itertools.product((0, 1), repeat=n):
        x = np.array(bits, float)
        ax = model.A @ x
        if np.all(ax <= model.ub_row + 1e-9) and np.all(ax >= model.lb_row - 1e-9):
            best = min(best, model.c @ x + model.objective_constant)
    return best


@pytest.mark.parametrize("seed", range(5))
def test_knapsack_matches_brute_force_both_solvers(seed):
    model, *_ = knapsack(np.random.default_rng(seed))
    opt = brute_force(model)
    for s in SOLVERS:
        r = solve(model, solver=s)
        assert r.status == "optimal" and r.ok
        assert r.objective == pytest.approx(opt, abs=1e-6)
        assert r.bound == pytest.approx(opt, abs=1e-6)
        assert model.c @ r.x == pytest.approx(r.objective)
        assert (model.A @ r.x <= model.ub_row + 1e-6).all()


def test_assignment_with_ranged_rows_and_constant():
    # 3x3 assignment (rows are equality, written as ranged rows) plus objective constant.
    rng = np.random.default_rng(3)
    C = rng.integers(1, 10, (3, 3)).astype(float)
    rows = []
    for i in range(3):
        r = np.zeros((3, 3)); r[i, :] = 1; rows.append(r.ravel())
    for j in range(3):
        r = np.zeros((3, 3)); r[:, j] = 1; rows.append(r.ravel())
    model = MILP(c=C.ravel(), A=sp.csr_matrix(np.array(rows)), lb_row=np.ones(6), ub_row=np.ones(6),
                 lb=np.zeros(9), ub=np.ones(9), integrality=np.ones(9, bool), objective_constant=2.5)
    opt = min(sum(C[i, p[i]] for i in range(3)) for p in itertools.permutations(range(3))) + 2.5
    assert brute_force(model) == pytest.approx(opt)
    for s in SOLVERS:
        assert solve(model, solver=s).objective == pytest.approx(opt)


def test_relax_gives_lp_bound_below_milp():
    model, w, v, cap = knapsack(np.random.default_rng(11), n=10)
    lp = relax(model)
    assert not lp.integrality.any()
    # fractional knapsack closed form: greedy by value density
    order = np.argsort(-v / w)
    left, val = cap, 0.0
    for k in order:
        take = min(1.0, left / w[k]); val += take * v[k]; left -= take * w[k]
    for s in SOLVERS:
        r = solve(lp, solver=s)
        assert r.objective == pytest.approx(-val)
        assert r.objective <= solve(model, solver=s).objective + 1e-9
    assert lp_bound(model)[0] == pytest.approx(-val)


def test_lp_bound_reduced_costs_bound_every_point():
    model, *_ = knapsack(np.random.default_rng(5), n=8)
    lb, x, rlo, rup = lp_bound(model)
    for bits in itertools.product((0, 1), repeat=8):
        xx = np.array(bits, float)
        if (model.A @ xx <= model.ub_row).all():
            assert model.c @ xx >= lb + rlo @ xx + rup @ (1 - xx) - 1e-7


@pytest.mark.parametrize("solver", SOLVERS)
def test_infeasible_status_and_raise(solver):
    # x0 + x1 >= 2.5 with binaries: LP feasible? no (max 2). Row family named in message.
    model = MILP(c=np.ones(2), A=sp.csr_matrix([[1.0, 1.0], [1.0, -1.0]]), lb_row=[2.5, -np.inf],
                 ub_row=[np.inf, 5.0], lb=np.zeros(2), ub=np.ones(2), integrality=[1, 1],
                 row_names=["cover[0]", "other[0]"])
    r = solve(model, solver=solver)
    assert r.status == "infeasible" and not r.ok and r.x is None
    assert "cover" in r.message
    with pytest.raises(InfeasibleError, match="cover"):
        r.raise_for_status()


@pytest.mark.parametrize("solver", SOLVERS)
def test_integer_infeasible_lp_feasible(solver):
    # 2 x0 + 2 x1 = 1 has LP solutions but no integer ones.
    model = MILP(c=np.ones(2), A=sp.csr_matrix([[2.0, 2.0]]), lb_row=[1.0], ub_row=[1.0],
                 lb=np.zeros(2), ub=np.full(2, 5.0), integrality=[1, 1], row_names=["even[0]"])
    r = solve(model, solver=solver)
    assert r.status == "infeasible"
    assert "integrality" in r.message


@pytest.mark.parametrize("solver", SOLVERS)
def test_unbounded(solver):
    model = MILP(c=np.array([-1.0, 1.0]), A=sp.csr_matrix([[1.0, -1.0]]), lb_row=[0.0],
                 ub_row=[np.inf], lb=np.zeros(2), ub=np.full(2, np.inf), integrality=[1, 1])
    r = solve(model, solver=solver)
    assert r.status == "unbounded"
    with pytest.raises(SolverError):
        r.raise_for_status()


def test_empty_row_infeasible_without_solver_call():
    model = MILP(c=np.ones(1), A=sp.csr_matrix((2, 1)), lb_row=[1.0, 0.0], ub_row=[2.0, 0.0],
                 lb=[0.0], ub=[1.0], integrality=[0], row_names=["need[0]", "ok[0]"])
    r = solve(model)
    assert r.status == "infeasible" and "need[0]" in r.message


def hard_instance(n=40, seed=0):
    # multi-dimensional knapsack: needs branching
    rng = np.random.default_rng(seed)
    W = rng.integers(10, 100, (5, n)).astype(float)
    v = (W.sum(axis=0) / 5 + rng.integers(0, 20, n)).astype(float)
    return MILP(c=-v, A=sp.csr_matrix(W), lb_row=np.full(5, -np.inf), ub_row=W.sum(axis=1) / 2,
                lb=np.zeros(n), ub=np.ones(n), integrality=np.ones(n, bool))


@pytest.mark.parametrize("solver", SOLVERS)
def test_node_limit_returns_incumbent_and_warns(solver):
    model = hard_instance()
    with pytest.warns(TimeLimitWarning, match="gap"):
        r = solve(model, solver=solver, node_limit=1)
    assert r.status == "node_limit"
    assert r.ok and np.isfinite(r.objective)
    assert r.bound <= r.objective + 1e-9 and r.gap > 0
    assert (model.A @ r.x <= model.ub_row + 1e-6).all()
    assert r.raise_for_status() is r


def test_time_limit_status():
    model = hard_instance(n=60, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        r = solve(model, solver="scip", time_limit=0.0)
    assert r.status in ("time_limit", "optimal")  # zero time: stops before/at the root
    if r.status == "time_limit" and r.ok:
        assert r.bound <= r.objective + 1e-9


def test_validation_errors():
    with pytest.raises(ValueError, match="columns"):
        MILP(c=np.ones(2), A=sp.csr_matrix((1, 3)), lb_row=[0], ub_row=[1], lb=[0, 0], ub=[1, 1],
             integrality=[0, 0])
    with pytest.raises(ValueError, match="lb_row"):
        MILP(c=np.ones(2), A=sp.csr_matrix((1, 2)), lb_row=[0, 0], ub_row=[1], lb=[0, 0], ub=[1, 1],
             integrality=[0, 0])
    with pytest.raises(ValueError, match="solver"):
        solve(hard_instance(), solver="gurobi")
