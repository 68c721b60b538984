"""Facility-location builder: brute force, OR-Library optima, N-1 backups, infeasibility."""
import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

from edgefm.errors import InfeasibleError, ScenarioError
from edgefm.placement.facility import FacilityProblem, capacitated_facility_location, pmedian
from edgefm.placement.facility_solve import solve_facility
from edgefm.placement.orlib import read_cap, read_optima, read_pmed

DATA = Path(__file__).parent / "data" / "orlib"
SOLVERS = ["scip", "highs"]


def split_assignment_cost(C, d, Q, S):
    """Min-cost splittable assignment of all demand to open sites S (an LP), inf if infeasible."""
    I, J = C[S].shape
    Cs = np.where(np.isfinite(C[S]), C[S], 0.0)
    A_eq = np.kron(np.ones(I), np.eye(J))              # sum_i x_ij = 1
    A_ub = np.kron(np.eye(I), d[None, :])              # sum_j d_j x_ij <= Q_i
    bounds = [(0, 1 if np.isfinite(C[S][a, b]) else 0) for a in range(I) for b in range(J)]
    qs = np.where(np.isfinite(Q[S]), Q[S], d.sum() + 1)
    r = linprog(Cs.ravel(), A_ub=A_ub, b_ub=qs, A_eq=A_eq, b_eq=np.ones(J), bounds=bounds,
                method="highs")
    return r.fun if r.status == 0 else np.inf


def brute(prob: FacilityProblem):
    I = prob.n_sites
    lo, hi = prob.card_range()
    best = np.inf
    for k in range(max(lo, 1), hi + 1):
        for S in itertools.combinations(range(I), k):
            S = list(S)
            if prob.single_source:
                for pick in itertools.product(S, repeat=prob.n_demands):
                    load = np.zeros(I)
                    np.add.at(load, list(pick), prob.demand)
                    if (load <= prob.capacity + 1e-9).all():
                        c = sum(prob.cost[i, j] for j, i in enumerate(pick))
                        best = min(best, prob.fixed_cost[S].sum() + c)
            elif np.isinf(prob.capacity).all():
                best = min(best, prob.fixed_cost[S].sum() + prob.cost[S].min(axis=0).sum())
            else:
                best = min(best, prob.fixed_cost[S].sum()
                           + split_assignment_cost(prob.cost, prob.demand, prob.capacity, S))
    return best


def random_problem(seed, I=5, J=6, capacitated=True, single_source=False, **kw):
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 30, (I, J)).astype(float)
    cost[rng.random((I, J)) < 0.15] = np.inf
    cost[rng.integers(0, I, J), np.arange(J)] = rng.integers(1, 30, J)  # each demand reachable
    d = rng.integers(1, 10, J).astype(float)
    Q = rng.integers(10, 30, I).astype(float) if capacitated else np.full(I, np.inf)
    f = rng.integers(0, 40, I).astype(float)
    return FacilityProblem(cost=cost, demand=d, capacity=Q, fixed_cost=f,
                           single_source=single_source, **kw)


def solve_or_inf(prob, solver, **kw):
    try:
        return solve_facility(prob, solver=solver, **kw).objective
    except InfeasibleError:
        return np.inf


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["uncap", "cap", "single", "pmed"])
def test_brute_force_tiny(seed, kind):
    if kind == "pmed":
        rng = np.random.default_rng(seed)
        prob = pmedian(rng.integers(0, 20, (6, 6)).astype(float), p=2 + seed % 3)
    else:
        prob = random_problem(seed, capacitated=kind != "uncap", single_source=kind == "single",
                              max_open=4 if seed % 2 else None, min_open=2 if seed % 3 == 0 else None)
    opt = brute(prob)
    for s in SOLVERS:
        got = solve_or_inf(prob, s)
        assert got == pytest.approx(opt, rel=1e-7, abs=1e-7), s


@pytest.mark.parametrize("seed", range(3))
def test_reduced_cost_fixing_is_exact(seed):
    rng = np.random.default_rng(seed)
    pts = rng.random((60, 2))
    dist = np.round(100 * np.linalg.norm(pts[:, None] - pts[None], axis=2))
    prob = pmedian(dist, p=4)
    a = solve_facility(prob, reduce=True)
    b = solve_facility(prob, reduce=False)
    assert a.objective == pytest.approx(b.objective)
    assert a.status == b.status == "optimal"
    assert "reduced-cost fixing" in a.message


def test_solution_structure():
    prob = random_problem(4)
    r = solve_facility(prob)
    assert r.ok and r.status == "optimal"
    np.testing.assert_allclose(r.assignment.sum(axis=0), 1.0, atol=1e-6)
    assert (r.assignment[~r.open] <= 1e-9).all()
    assert (r.assignment.T @ np.ones(prob.n_sites) > 0).all()
    load = r.assignment @ prob.demand
    assert (load <= prob.capacity + 1e-6).all()
    assert r.bound <= r.objective + 1e-6


@pytest.mark.parametrize("name", ["pmed1", "pmed5"])
def test_orlib_pmed_optimum(name):
    inst = read_pmed(DATA / f"{name}.txt")
    opt = read_optima(DATA / "pmedopt.txt")[name]
    r = solve_facility(pmedian(inst.dist, inst.p))
    assert r.status == "optimal"
    assert round(r.objective) == opt
    assert r.open.sum() == inst.p


@pytest.mark.parametrize("name", ["cap41", "cap71"])
def test_orlib_cap_optimum(name):
    inst = read_cap(DATA / f"{name}.txt")
    opt = read_optima(DATA / "capopt.txt")[name]
    prob = capacitated_facility_location(inst.capacity, inst.fixed_cost, inst.demand, inst.alloc_cost)
    for s in SOLVERS:
        r = solve_facility(prob, solver=s)
        assert r.objective == pytest.approx(opt, rel=1e-6), s


def test_max_open_and_min_open():
    # 3 sites on a line, 3 demands sitting at the sites; opening cost 1.
    dist = np.array([[0, 5, 9], [5, 0, 5], [9, 5, 0]], float)
    base = dict(cost=dist, demand=np.ones(3), capacity=np.full(3, np.inf), fixed_cost=np.ones(3))
    assert solve_facility(FacilityProblem(**base)).objective == pytest.approx(3.0)  # open all
    r = solve_facility(FacilityProblem(**base, max_open=1))
    assert r.open.tolist() == [False, True, False] and r.objective == pytest.approx(11.0)
    r = solve_facility(FacilityProblem(**base, max_open=2))
    assert r.open.sum() == 2 and r.objective == pytest.approx(2 + 5)
    expensive = dict(base, fixed_cost=np.full(3, 100.0))
    r = solve_facility(FacilityProblem(**expensive, min_open=2))
    assert r.open.sum() == 2 and r.objective == pytest.approx(200 + 5)
    r = solve_facility(FacilityProblem(**expensive, n_open=3))
    assert r.open.sum() == 3


def test_n1_backup_on_other_node():
    # demands 0,1; sites 0,1,2. Primary cheapest at site 0 for both.
    cost = np.array([[1.0, 1.0], [5.0, 9.0], [8.0, 3.0]])
    prob = FacilityProblem(cost=cost, demand=np.ones(2), capacity=np.full(3, np.inf),
                           fixed_cost=np.zeros(3), survivable=True, backup_weight=0.5)
    r = solve_facility(prob)
    assert r.assignment[0].tolist() == [1.0, 1.0]
    # best backups: site 1 for demand 0 (5), site 2 for demand 1 (3)
    assert r.backup[:, 0].tolist() == [False, True, False]
    assert r.backup[:, 1].tolist() == [False, False, True]
    assert r.objective == pytest.approx(2 + 0.5 * (5 + 3))
    assert not (r.backup & (r.assignment > 0)).any()
    assert (r.open[r.backup.argmax(axis=0)]).all()
    # one open site only -> infeasible
    with pytest.raises(InfeasibleError, match="2 open sites"):
        solve_facility(FacilityProblem(cost=cost, demand=np.ones(2), capacity=np.full(3, np.inf),
                                       fixed_cost=np.zeros(3), survivable=True, max_open=1))


def test_n1_backup_mask_and_reserve():
    cost = np.array([[1.0, 1.0], [5.0, 9.0], [8.0, 3.0]])
    mask = np.array([[True, True], [False, True], [True, True]])  # demand 0 may not back up on 1
    prob = FacilityProblem(cost=cost, demand=np.ones(2), capacity=np.full(3, np.inf),
                           fixed_cost=np.zeros(3), survivable=True, backup_allowed=mask,
                           backup_weight=0.5)
    r = solve_facility(prob)
    assert r.backup[:, 0].tolist() == [False, False, True]
    # reserve: capacity 2 per site; primary+backup loads must fit
    prob = FacilityProblem(cost=cost, demand=np.ones(2), capacity=np.full(3, 2.0),
                           fixed_cost=np.zeros(3), survivable=True, backup_capacity="reserve",
                           backup_weight=1.0, single_source=True)
    r = solve_facility(prob)
    load = r.assignment @ prob.demand + r.backup.astype(float) @ prob.demand
    assert (load <= 2 + 1e-9).all()
    assert brute_n1(prob) == pytest.approx(r.objective)


def brute_n1(prob):
    """Single-source primary + backup enumeration for tiny N-1 instances with reservation."""
    I, J = prob.cost.shape
    best = np.inf
    for prim in itertools.product(range(I), repeat=J):
        for back in itertools.product(range(I), repeat=J):
            if any(p == b for p, b in zip(prim, back)):
                continue
            load = np.zeros(I)
            np.add.at(load, list(prim), prob.demand)
            np.add.at(load, list(back), prob.demand)
            if (load > prob.capacity).any():
                continue
            S = sorted(set(prim) | set(back))
            c = prob.fixed_cost[S].sum() + sum(prob.cost[p, j] + prob.backup_weight * prob.cost[b, j]
                                               for j, (p, b) in enumerate(zip(prim, back)))
            best = min(best, c)
    return best


def test_n1_infeasible_single_allowed_site():
    cost = np.array([[1.0, 1.0], [np.inf, 2.0]])
    prob = FacilityProblem(cost=cost, demand=np.ones(2), capacity=np.full(2, np.inf),
                           fixed_cost=np.zeros(2), survivable=True)
    with pytest.raises(InfeasibleError, match="N-1: demand j=0 has only 1 allowed site"):
        solve_facility(prob)


# ---------------------------------------------------------- necessary conditions
def _base(**kw):
    d = dict(cost=np.ones((3, 4)), demand=np.full(4, 30.0), capacity=np.full(3, 50.0),
             fixed_cost=np.zeros(3))
    d.update(kw)
    return FacilityProblem(**d)


def test_infeasible_total_capacity():
    with pytest.raises(InfeasibleError, match="demand 120 exceeds total site capacity 100"):
        _base(capacity=np.array([50.0, 50.0, 0.0])).check()


def test_infeasible_no_allowed_site():
    cost = np.ones((3, 8))
    cost[:, 7] = np.inf
    with pytest.raises(InfeasibleError, match="demand j=7 has no site within its latency budget"):
        _base(cost=cost, demand=np.ones(8)).check()


def test_infeasible_demand_exceeds_reachable_capacity():
    cost = np.ones((3, 4))
    cost[1:, 2] = np.inf
    with pytest.raises(InfeasibleError, match="demand j=2 of 60 exceeds the total capacity 50"):
        _base(cost=cost, demand=np.array([10.0, 10, 60, 10]), capacity=np.full(3, 50.0)).check()


def test_infeasible_single_source_largest_capacity():
    with pytest.raises(InfeasibleError, match="largest capacity 50"):
        _base(demand=np.array([60.0, 1, 1, 1]), single_source=True).check()


@pytest.mark.parametrize("kw", [dict(max_open=2), dict(n_open=2)])
def test_infeasible_too_few_open_sites(kw):
    with pytest.raises(InfeasibleError, match=r"=2 sites hold at most 100"):
        _base(**kw).check()


def test_infeasible_open_limits():
    with pytest.raises(InfeasibleError, match="conflict"):
        _base(min_open=3, max_open=2).check()
    with pytest.raises(InfeasibleError, match="only 3 candidate sites"):
        _base(n_open=4).check()


def test_solver_infeasibility_names_family():
    # Necessary conditions pass but 3 indivisible demands of 30 don't fit 2 sites of 50+45.
    prob = FacilityProblem(cost=np.ones((2, 3)), demand=np.full(3, 30.0),
                           capacity=np.array([50.0, 45.0]), fixed_cost=np.zeros(2),
                           single_source=True)
    prob.check()
    with pytest.raises(InfeasibleError, match="integrality"):
        solve_facility(prob)


def test_bad_input_shapes():
    with pytest.raises(ScenarioError, match="demand"):
        FacilityProblem(cost=np.ones((2, 3)), demand=np.ones(2), capacity=np.ones(2),
                        fixed_cost=np.zeros(2))
    with pytest.raises(ScenarioError, match="capacity"):
        FacilityProblem(cost=np.ones((2, 3)), demand=np.ones(3), capacity=[-1.0, 1.0],
                        fixed_cost=np.zeros(2))
