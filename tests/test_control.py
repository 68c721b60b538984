"""Tests of the tier-2 controllers (docs/model.md §6–7): hand-checked rules and end-to-end runs."""
from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

import edgefm
from edgefm.control import METHODS, REGISTRY, make_controller
from edgefm.control.base import Decision, RunContext, State
from edgefm.control.exact import per_slot_gap, solve_exact
from edgefm.control.ga import ga_minimize
from edgefm.control.hpa import Stabilizer, hpa_desired
from edgefm.control.lbrr import least_utilised, round_robin
from edgefm.control.lyapunov import LatencyDebt, light_cost, unassigned_penalty
from edgefm.control.proposed import ProposedController, SlotProblem, route_levels, solve_greedy
from edgefm.sim.engine import simulate
from edgefm.workload import poisson_arrivals


# ----------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def paper():
    return edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=0, load=0.2)


@pytest.fixture(scope="module")
def core_x(paper):
    try:
        from edgefm.placement import place
    except ImportError:
        from edgefm.placement import place
    return place(paper, solver="greedy").x


def problem(g_rows, R, w, pen, occ, start, prev, avail, demand, c_dp=4.0, c_run=1.5, eta=1.0, y=4):
    """A SlotProblem with one group per MS key of ``R`` (stages already in ready order)."""
    M = len(g_rows)
    groups = {m: (np.arange(len(R[m])) + sum(len(R[k]) for k in R if k < m), R[m], w[m], pen[m]) for m in R}
    n = sum(len(r) for r in R.values())
    return SlotProblem(now=0.0, eta=eta, y=y, groups=groups, occ=occ, start=np.array(start), prev=np.array(prev),
                       up=np.ones(len(avail), bool), avail=np.array(avail, float), demand=np.array(demand, float),
                       c_dp=np.full(M, c_dp), c_run=np.full(M, c_run), light=np.ones(M, bool), n_waiting=n)


def brute_force(P, g, max_new=3):
    """min over all count matrices (≤ max_new new per (v, m)) of η·cost + greedy-routed delay."""
    V, M = P.start.shape
    best = np.inf
    for add in itertools.product(range(max_new + 1), repeat=V * M):
        x = P.start + np.array(add).reshape(V, M)
        if (((x - P.start) @ P.demand) > P.avail + 1e-9).any():
            continue
        tot = P.eta * P.cost(x)
        for m, (_, R, w, pen) in P.groups.items():
            occ = P.occ.get(m) or [[] for _ in range(V)]
            gv = []
            for v in range(V):
                lv = sorted(l for o in list(occ[v]) + [0] * (x[v, m] - len(occ[v])) for l in range(o + 1, P.y + 1))
                gv.append([g[m][l] for l in lv[:len(R)]])
            tot += route_levels(R, w, pen, gv, [v for v in range(V) if gv[v]])
        best = min(best, tot)
    return best


def hand_state(sc, *, stage_ms, ready, task, inst=(), now=0.0, t=0):
    """A State of the paper scenario with the given waiting stages and light instances (node, ms, jobs)."""
    V, M = sc.n_nodes, sc.n_ms
    inst = list(inst)
    node = np.array([i[0] for i in inst], dtype=np.int64)
    ms = np.array([i[1] for i in inst], dtype=np.int64)
    jobs = np.array([i[2] for i in inst], dtype=np.int64)
    counts = np.zeros((V, M), dtype=np.int64)
    busy = np.zeros((V, M), dtype=np.int64)
    np.add.at(counts, (node, ms), 1)
    np.add.at(busy, (node, ms), (jobs > 0).astype(np.int64))
    free = sc.capacity - counts @ sc.demand
    return State(t=t, now=now, stage=np.arange(len(stage_ms)), stage_ms=np.array(stage_ms, dtype=np.int64),
                 stage_task=np.array(task, dtype=np.int64), ready=np.array(ready, float), inst_node=node,
                 inst_ms=ms, inst_jobs=jobs, inst_backlog=jobs * 1.0, light_counts=counts, busy_counts=busy,
                 parallelism=np.ones((V, M), np.int64), free_capacity=free, node_up=np.ones(V, bool),
                 _active=np.unique(np.array(task, dtype=np.int64)))


def ctx_for(sc, n_tasks=4, deadline=60.0):
    return RunContext(scenario=sc, network=None, core_x=np.zeros((sc.n_nodes, sc.n_ms), int), n_tasks=n_tasks,
                      task_type=np.zeros(n_tasks, int), task_arrival_ms=np.zeros(n_tasks),
                      task_deadline_ms=np.full(n_tasks, deadline), rng=np.random.default_rng(0))


# ----------------------------------------------------------------------------- E18, E7
def test_latency_debt_by_hand():
    d = LatencyDebt(arrival_ms=[0.0, 5.0], deadline_ms=[3.0, 10.0], h_min=1.0)
    # task 0: ages 0,2,4,6 -> H = 1, max(1, 1+2-3)=1, max(1, 1+4-3)=2, 2+6-3=5
    out = [d.update([0, 1], now).tolist() for now in (0.0, 2.0, 4.0, 6.0)]
    assert [o[0] for o in out] == [1.0, 1.0, 2.0, 5.0]
    # task 1 (age negative before arrival, then < D): stays at the floor
    assert [o[1] for o in out] == [1.0, 1.0, 1.0, 1.0]
    # peek does not store; inactive tasks keep their value
    assert d.peek([0], 7.0)[0] == 5.0 + 7.0 - 3.0 and d.H[0] == 5.0
    d.update([1], 100.0)
    assert d.H[0] == 5.0 and d.H[1] == 1.0 + 95.0 - 10.0


def test_light_cost_and_penalty():
    x, prev = np.array([[2, 0], [1, 3]]), np.array([[1, 1], [1, 0]])
    # increases 1 + 3 = 4 at c_dp 4; 6 instances at 1 + 0.5
    assert light_cost(x, prev, 4.0, 1.0, 0.5) == pytest.approx(4 * 4 + 6 * 1.5)
    assert unassigned_penalty([50.0, 80.0], 1.0).tolist() == [101.0, 161.0]


# ----------------------------------------------------------------------------- Algorithm 1
def test_greedy_picks_best_marginal_gain_one_ms():
    g = [[0.0, 1.0, 2.0, 3.0, 4.0]]
    R = {0: [[0.0, 5.0], [0.0, 5.0]]}
    P = problem(g, R, {0: [1.0, 1.0]}, {0: [100.0, 100.0]}, {}, [[0], [0]], [[0], [0]], [[1.0], [1.0]], [[1.0]])
    sol = solve_greedy(P, np.array(g))
    # node 0: delay 1 + 2, gain 200 - 3 - 5.5; node 1: 6 + 7; a second instance saves 1 < 5.5
    assert sol.added == [(0, 0)]
    assert sol.x.tolist() == [[1], [0]] and sol.route.tolist() == [0, 0] and sol.level.tolist() == [1, 2]
    assert sol.objective == pytest.approx(5.5 + 3.0)
    assert sol.objective == pytest.approx(brute_force(P, g))


def test_greedy_heavy_weights_buy_more_instances():
    g = [[0.0, 1.0, 2.0, 3.0, 4.0]]
    R = {0: [[0.0, 5.0], [0.0, 5.0]]}
    P = problem(g, R, {0: [10.0, 10.0]}, {0: [100.0, 100.0]}, {}, [[0], [0]], [[0], [0]], [[5.0], [5.0]], [[1.0]])
    sol = solve_greedy(P, np.array(g))
    # with H = 10 a second instance on node 0 saves 10 > 5.5
    assert sol.x.tolist() == [[2], [0]] and sol.level.tolist() == [1, 1]
    assert sol.objective == pytest.approx(brute_force(P, g))


def test_greedy_capacity_coupling_two_ms():
    g = [[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]]
    # MS 0 is far from node 1 (gains more from node 0); node 0 fits one instance in total
    R = {0: [[0.0, 30.0]], 1: [[0.0, 2.0]]}
    P = problem(g, R, {0: [1.0], 1: [1.0]}, {0: [100.0], 1: [100.0]}, {}, [[0, 0], [0, 0]], [[0, 0], [0, 0]],
                [[1.0], [5.0]], [[1.0], [1.0]], y=3)
    sol = solve_greedy(P, np.array(g))
    assert sol.added[0] == (0, 0)
    assert sol.x.tolist() == [[1, 0], [0, 1]] and sol.route.tolist() == [0, 1]
    assert sol.objective == pytest.approx(brute_force(P, g, max_new=1))
    ex = solve_exact(P, np.array(g))
    assert ex["objective"] == pytest.approx(sol.objective)


def test_greedy_uses_busy_instances_first():
    g = [[0.0, 1.0, 2.0, 3.0, 4.0]]
    # a busy instance on node 1 with 1 job offers level 2 (g=2) at ready 0 -> cheaper than a new one
    R = {0: [[0.0, 0.0]]}
    P = problem(g, R, {0: [1.0]}, {0: [100.0]}, {0: [[], [1]]}, [[0], [1]], [[0], [1]], [[5.0], [5.0]], [[1.0]])
    sol = solve_greedy(P, np.array(g))
    assert sol.added == [] and sol.route.tolist() == [1] and sol.level.tolist() == [2]
    assert sol.objective == pytest.approx(1.5 + 2.0)


def test_greedy_never_worse_than_exact(paper):
    rng = np.random.default_rng(3)
    for _ in range(4):
        g = np.vstack([[0.0, *np.sort(rng.uniform(0.5, 5.0, 4))] for _ in range(2)])
        R = {m: rng.uniform(0, 6, size=(3, 2)).tolist() for m in (0, 1)}
        w = {m: rng.uniform(1, 8, 3).tolist() for m in (0, 1)}
        pen = {m: [60.0] * 3 for m in (0, 1)}
        P = problem(g.tolist(), R, w, pen, {}, [[0, 0], [0, 0]], [[1, 0], [0, 0]], [[2.0], [2.0]],
                    [[1.0], [1.0]])
        sol = solve_greedy(P, g)
        ex = solve_exact(P, g)
        assert ex["objective"] <= sol.objective + 1e-6
        assert ex["objective"] <= brute_force(P, g.tolist(), max_new=2) + 1e-6


def test_proposed_on_hand_state(paper):
    sc = paper
    m = sc.ms_index("text_pre")
    ready = np.full((1, sc.n_nodes), 10.0)
    ready[0, 2] = 0.0
    st = hand_state(sc, stage_ms=[m], ready=ready, task=[0])
    c = ProposedController("ec")
    c.reset(ctx_for(sc))
    dec = c.decide(st)
    assert dec.route.tolist() == [2]
    want = np.zeros((sc.n_nodes, sc.n_ms), int)
    want[2, m] = 1
    assert np.array_equal(dec.light_counts, want)
    # the slot problem's gap to the exact optimum is zero here
    gap = per_slot_gap(st, sc, c)
    assert gap["gap"] == pytest.approx(0.0, abs=1e-9)


def test_fallback_is_counted(paper):
    sc = paper
    m = sc.ms_index("post_crossmodal")
    c = ProposedController("ec", fallback=True)
    c.reset(ctx_for(sc))
    assert c.fb[m, 2] and not c.fb[m, 1]  # r(2) >= k beta in this scenario: no theta*
    ready = np.full((1, sc.n_nodes), 50.0)
    ready[0, 0] = 0.0
    # a busy instance on node 0 with one job: level 2 (fallback mean delay) beats a new instance
    st = hand_state(sc, stage_ms=[m], ready=ready, task=[0], inst=[(0, m, 1)])
    dec = c.decide(st)
    assert dec.route.tolist() == [0] and c.last.level.tolist() == [2]
    assert c.fallback_uses == 1
    # without the servable rule g(2) = inf: a new instance is bought instead
    c2 = ProposedController("ec", fallback=False)
    c2.reset(ctx_for(sc))
    c2.decide(st)
    assert c2.last.level.tolist() == [1] and c2.fallback_uses == 0


def test_keep_alive_keeps_idle_instances(paper):
    sc = paper
    m = sc.ms_index("text_pre")
    ready = np.zeros((1, sc.n_nodes))
    c = ProposedController("ec", keep_alive=3)
    c.reset(ctx_for(sc))
    d0 = c.decide(hand_state(sc, stage_ms=[m], ready=ready, task=[0]))
    v = int(d0.route[0])
    # next slot: the instance is idle and nothing waits; keep-alive keeps it, the paper rule drops it
    idle = hand_state(sc, stage_ms=[], ready=np.zeros((0, sc.n_nodes)), task=[], inst=[(v, m, 0)], now=1.0, t=1)
    assert c.decide(idle).light_counts[v, m] == 1
    p = ProposedController("ec", keep_alive=0)
    p.reset(ctx_for(sc))
    assert p.decide(idle).light_counts[v, m] == 0


# ----------------------------------------------------------------------------- baselines
def test_hpa_desired_formula():
    assert hpa_desired([2, 4, 3, 1], [0.9, 0.3, 0.62, 0.0], 0.6).tolist() == [3, 2, 3, 0]
    assert hpa_desired([5], [1.2], 0.6, tolerance=0.0).tolist() == [10]


def test_hpa_stabilisation_window():
    s = Stabilizer(window=3)
    cur = np.array([4])
    assert s.apply([6], cur).tolist() == [6]        # scale-up immediate
    assert s.apply([2], [6]).tolist() == [6]        # max of {6, 2}
    assert s.apply([1], [6]).tolist() == [6]        # {6, 2, 1}
    assert s.apply([1], [6]).tolist() == [2]        # 6 left the window: {2, 1, 1}
    assert s.apply([1], [2]).tolist() == [1]


def test_lbrr_round_robin_order():
    hosts = {7: [0, 2, 5]}
    room = {(0, 7): 5, (2, 7): 1, (5, 7): 5}
    ptr = {}
    r = round_robin([7] * 6, hosts, room, ptr)
    assert r.tolist() == [0, 2, 5, 0, 5, 0]  # node 2 full after one
    assert ptr[7] == 1
    # pointer persists across slots; a MS with no host waits
    r2 = round_robin([7, 3], hosts, {(0, 7): 1, (2, 7): 1, (5, 7): 1}, ptr)
    assert r2.tolist() == [2, -1]


def test_least_utilised():
    used = np.array([[5.0, 5.0], [1.0, 1.0], [0.0, 0.0]])
    cap = np.full((3, 2), 10.0)
    assert least_utilised(used, cap, np.array([True, True, False])) == 1
    assert least_utilised(used, cap, np.zeros(3, bool)) == -1


def test_ga_elitism_and_determinism():
    target = np.array([3, 1, 4, 1, 5])

    def f(z):
        return float(((z - target) ** 2).sum())

    lo, hi = np.zeros(5, int), np.full(5, 6)
    best, bf, hist = ga_minimize(f, lo, hi, np.random.default_rng(1), 10, 30, 0.1)
    assert len(hist) == 31 and all(b <= a for a, b in zip(hist, hist[1:]))
    assert bf == hist[-1] == f(best) and ((best >= lo) & (best <= hi)).all()
    assert bf < hist[0] or hist[0] == 0
    best2, bf2, hist2 = ga_minimize(f, lo, hi, np.random.default_rng(1), 10, 30, 0.1)
    assert np.array_equal(best, best2) and hist == hist2
    # a seeded optimum is never lost
    _, bf3, _ = ga_minimize(f, lo, hi, np.random.default_rng(2), 10, 5, 0.5, seeds=(target,))
    assert bf3 == 0.0


# ----------------------------------------------------------------------------- registry, end to end
def test_registry():
    assert METHODS == ("proposed", "propavg", "lbrr", "ga", "hpa", "static", "edgefm")
    assert {REGISTRY[m].placement for m in ("proposed", "propavg", "hpa", "static")} == {"scip"}
    assert REGISTRY["lbrr"].placement == REGISTRY["ga"].placement == "greedy"
    for name in METHODS:
        assert make_controller(name).name == name
    assert make_controller("proposed", keep_alive=4).keep_alive == 4
    with pytest.raises(ValueError, match="unknown method"):
        make_controller("nope")
    code = "import sys, edgefm.control; print(any(k.startswith('pyscipopt') for k in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", METHODS)
def test_end_to_end_conservation(paper, core_x, name):
    n = 40 if name == "ga" else 100
    arr = poisson_arrivals(paper, seed=0, n_slots=n)
    kw = {"generations": 10} if name == "ga" else {}
    r = simulate(paper, arr, core_x, make_controller(name, paper, **kw), seed=0)
    assert r.arrivals == len(arr.slot) == r.on_time + r.late + r.unfinished + r.shed
    assert r.counters["overflow"] == 0 or name in ("lbrr", "hpa", "static")
    assert 0.0 <= r.on_time_ratio <= 1.0
    assert r.cost_total >= r.cost_parts["core_deploy"]


def test_candidate_pruning_is_exact(monkeypatch):
    """Algorithm 1 with exact node pruning and resumed routings (_MSState.first_stage) decides as without,
    in the Python reference and in the compiled kernel alike."""
    import edgefm.control.proposed as prop
    from edgefm.experiments.runner import run_method
    from edgefm.scenario import sample_scenario
    from edgefm.scenario.topology import topology_spec

    sc = sample_scenario(topology_spec("sndlib/geant", ed_per_site=1), seed=1)
    assert sc.n_nodes > prop.PRUNE_ABOVE
    arr = poisson_arrivals(sc, 1, n_slots=40)
    p = edgefm.place(sc, variant="bounded", gap=0.01)
    calls = []
    orig = prop._MSState.first_stage

    def counting(self, g1):
        out = orig(self, g1)
        calls.append((int((out == self.Ra.shape[0]).sum()), int(out.sum())))
        return out

    monkeypatch.setattr(prop._MSState, "first_stage", counting)
    ref = {"solver": "reference"}
    pruned = run_method(sc, "proposed", seed=1, arrivals=arr, placement=p, overrides=ref)
    monkeypatch.setattr(prop._MSState, "first_stage", lambda self, g1: np.zeros(self.Ra.shape[1], dtype=int))
    full = run_method(sc, "proposed", seed=1, arrivals=arr, placement=p, overrides=ref)
    assert sum(n for n, _ in calls) > 0 and sum(k for _, k in calls) > 0  # pruned nodes and resumed routings
    monkeypatch.undo()
    ctrls = {}
    for prune in (True, False):
        c = ctrls[prune] = make_controller("proposed", sc, prune=prune)
        kern = simulate(sc, arr, p.x, c, seed=1)
        assert kern.on_time_ratio == full.on_time_ratio and kern.cost_parts == full.cost_parts
        assert np.array_equal(kern.task_latency, full.task_latency, equal_nan=True)
        assert np.array_equal(kern.light_instances, full.light_instances)
    assert ctrls[True].pruned_nodes > 0 and ctrls[True].resumed_stages > 0
    assert ctrls[False].pruned_nodes == 0 == ctrls[False].resumed_stages
    for r in (pruned, full):
        assert r.on_time_ratio == full.on_time_ratio and r.cost_parts == full.cost_parts
        assert np.array_equal(r.task_latency, full.task_latency, equal_nan=True)
        assert np.array_equal(r.light_instances, full.light_instances)


@pytest.mark.parametrize("kind", ["ec", "avg"])
def test_kernel_solver_equals_reference_each_slot(paper, core_x, kind):
    """The compiled Algorithm 1 returns the reference solve_greedy's solution bit for bit, slot by slot."""
    from edgefm.control.proposed import ProposedController

    class Both(ProposedController):
        def decide(self, state):
            self.debt.update(state.active_tasks, state.now)
            w = self.debt.weights(state.stage_task)
            ref = solve_greedy(self.problem(state, w), self.g)
            for prune in (False, True):
                self._track = prune
                got = self.solve(state, w)
                assert np.array_equal(got.x, ref.x) and np.array_equal(got.route, ref.route)
                assert np.array_equal(got.level, ref.level) and np.array_equal(got.dhat, ref.dhat)
                assert got.objective == ref.objective and got.added == ref.added
            self.checked += 1
            return Decision(light_counts=ref.x, parallelism=self.y, route=ref.route)

    c = Both(kind=kind)
    c.checked = 0
    simulate(paper.with_load(2.0), poisson_arrivals(paper.with_load(2.0), seed=3, n_slots=60), core_x, c, seed=3)
    assert c.checked > 60


@pytest.mark.parametrize("name", ["hpa", "lbrr"])
def test_kernel_decide_equals_reference_each_slot(paper, core_x, name):
    """hpa and lbrr decide through compiled kernels exactly as their numpy references, slot by slot
    (including a node failure, so that down nodes are exercised)."""
    from edgefm.sim.engine import Failure

    fast, ref = make_controller(name, paper), make_controller(name, paper)

    class Both:
        def __init__(self):
            self.name, self.checked = name, 0

        def reset(self, ctx):
            fast.reset(ctx)
            ref.reset(ctx)

        def decide(self, state):
            a, b = fast.decide(state), ref.decide_reference(state)
            assert np.array_equal(a.light_counts, b.light_counts) and np.array_equal(a.route, b.route)
            assert np.array_equal(np.broadcast_to(a.parallelism, (paper.n_nodes, paper.n_ms)),
                                  np.broadcast_to(b.parallelism, (paper.n_nodes, paper.n_ms)))
            self.checked += 1
            return a

    c = Both()
    sc = paper.with_load(2.0)
    v = int(np.argmax(core_x.sum(axis=1)))
    simulate(sc, poisson_arrivals(sc, seed=2, n_slots=120), core_x, c, seed=2, failures=[Failure(v, 40.0, 80.0)])
    assert c.checked > 120


def test_ga_kernel_equals_reference_each_slot(paper, core_x):
    """The compiled GA search decides as ga_minimize with the numpy repair and fitness, slot by slot."""
    import copy
    from dataclasses import replace

    fast, ref = make_controller("ga", paper), make_controller("ga", paper, solver="reference")

    class Both:
        name = "ga"

        def __init__(self):
            self.checked = 0

        def reset(self, ctx):
            fast.reset(ctx)
            ref.reset(replace(ctx, rng=copy.deepcopy(ctx.rng)))

        def decide(self, state):
            a, b = fast.decide(state), ref.decide(state)
            assert np.array_equal(a.light_counts, b.light_counts) and np.array_equal(a.route, b.route)
            assert fast.history == ref.history
            self.checked += 1
            return a

    c = Both()
    sc = paper.with_load(2.0)
    simulate(sc, poisson_arrivals(sc, seed=4, n_slots=60), core_x, c, seed=4)
    assert c.checked > 60
