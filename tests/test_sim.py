"""Simulator: hand-computed runs, conservation, queueing theory, determinism, failures."""
import numpy as np
import pytest

import edgefm
from edgefm.control.base import Decision
from edgefm.control.static import StaticController, spread_instances
from edgefm.errors import DecisionError
from edgefm.sim.engine import Engine, Failure, simulate
from edgefm.workload import poisson_arrivals

from simkit import arrivals_at, core_ms, light_ms, scenario, tiny_doc


class Fixed:
    """Keeps ``counts`` light instances and routes every waiting stage to ``node``."""

    name = "fixed"

    def __init__(self, counts, node, y=20):
        self.counts, self.node, self.y = counts, node, y
        self.states = []

    def reset(self, ctx):
        pass

    def decide(self, state):
        self.states.append(state)
        return Decision(light_counts=self.counts, parallelism=self.y,
                        route=np.full(state.n_waiting, self.node, dtype=np.int64))


def _two_stage(pre_work=1.0):
    doc = tiny_doc([light_ms("pre", pre_work, 10.0, output=0.5), core_ms("enc", 8.0, 16.0)], [["pre", "enc"]])
    sc = scenario(doc)
    x = np.zeros((2, 2), int)
    x[sc.node_index("ES1"), sc.ms_index("enc")] = 1
    counts = np.zeros((2, 2), int)
    counts[sc.node_index("ED1"), sc.ms_index("pre")] = 1
    return sc, x, counts


def test_hand_computed_two_stage_task():
    # ED1 --0.5 MB/ms-- ES1; pre (light, ~10 MB/ms, a=1) on ED1, enc (core, 16 MB/ms, a=8) on ES1.
    # task 1: pre 0 -> 0.1; output 0.5 MB to ES1 takes 1.0 -> ready 1.1; released at slot 1; enc 1.1 -> 1.6.
    # task 2 (same slot): pre 0.1 -> 0.2 (FIFO); ready at ES1 1.2; enc waits for task 1: 1.6 -> 2.1.
    sc, x, counts = _two_stage()
    ed1 = sc.node_index("ED1")
    res = simulate(sc, arrivals_at(sc, [0, 0], n_slots=1), x, Fixed(counts, ed1), seed=0)
    assert res.arrivals == 2 and res.on_time == 2
    np.testing.assert_allclose(np.sort(res.task_latency), [1.6, 2.1], atol=1e-4)


def test_light_job_carries_work_across_slots():
    # a = 15 MB at ~10 MB/ms: 10 MB in slot 0, the remaining 5 MB by t = 1.5; then 1 ms to ES1, enc 0.5 ms.
    sc, x, counts = _two_stage(pre_work=15.0)
    res = simulate(sc, arrivals_at(sc, [0], n_slots=1), x, Fixed(counts, sc.node_index("ED1")), seed=0)
    np.testing.assert_allclose(res.task_latency, [1.5 + 1.0 + 0.5], atol=1e-4)


def test_core_instance_finishes_many_jobs_per_slot():
    # 5 tasks in one slot, each a single core stage of 0.1 ms at the gateway: all done within slot 0.
    doc = tiny_doc([core_ms("enc", 1.0, 10.0)], [], single=["enc"], gateway="ES1")
    sc = scenario(doc)
    x = np.zeros((2, 1), int)
    x[sc.node_index("ES1"), 0] = 1
    res = simulate(sc, arrivals_at(sc, [0] * 5, n_slots=1), x, Fixed(np.zeros((2, 1), int), -1), seed=0)
    np.testing.assert_allclose(np.sort(res.task_latency), [0.1, 0.2, 0.3, 0.4, 0.5], atol=1e-12)


@pytest.mark.parametrize("rho", [0.3, 0.5, 0.7])
def test_single_core_ms_is_md1(rho):
    """Poisson arrivals into one deterministic server: mean wait = ρs / (2(1−ρ)) (Pollaczek–Khinchine).

    With batch-Poisson arrivals at slot boundaries and an integer service time s, the slotted queue's
    mean wait E[U] + sλ/2 with E[U] = (E[B²] − E[B]) / (2(1 − ρ)), B = s·Poisson(λ), equals P–K exactly.
    """
    s = 1.0  # one slot: the shortest relaxation time, so the fewest slots for a tight estimate
    lam = rho / s
    doc = tiny_doc([core_ms("enc", s, 1.0)], [], single=["enc"], gateway="ES1", rate=lam, deadline=1e6,
                   horizon=60_000)
    sc = scenario(doc)
    x = np.zeros((2, 1), int)
    x[sc.node_index("ES1"), 0] = 1
    waits = []
    for seed in range(3):
        arr = poisson_arrivals(sc, seed)
        res = simulate(sc, arr, x, Fixed(np.zeros((2, 1), int), -1), seed=seed)
        assert res.unfinished == 0
        waits.append(res.task_latency - s)
    w = np.concatenate(waits)
    pk = rho * s / (2 * (1 - rho))
    assert abs(w.mean() - pk) / pk < 0.05, (w.mean(), pk)


def _paper(load=0.3, n_slots=150, seed=1):
    sc = edgefm.load_scenario(edgefm.data_path("scenarios", "paper.yaml"), seed=seed, load=load)
    occ = np.zeros(sc.n_ms)
    lam = sc.arrival_rates.sum(0)
    for n, tt in enumerate(sc.task_types):
        for m in tt.stages:
            ms = sc.microservices[m]
            if ms.is_core:
                occ[m] += lam[n] * ms.work / ms.rate
    need = np.where(sc.is_core, np.ceil(occ) + 1, 0).astype(int)
    x = spread_instances(sc, need, sc.capacity.copy(), nodes=[0, 1, 2])
    return sc, x, poisson_arrivals(sc, seed, n_slots=n_slots)


def test_conservation_and_costs():
    sc, x, arr = _paper()
    res = simulate(sc, arr, x, StaticController(), seed=3)
    assert res.arrivals == len(arr.slot) == res.on_time + res.late + res.unfinished
    assert sum(res.per_type[t]["arrivals"] for t in res.per_type) == res.arrivals
    assert res.cost_total == pytest.approx(sum(res.cost_parts.values()))
    c_dp = np.array([m.cost_deploy for m in sc.microservices])
    c_mt = np.array([m.cost_maintain for m in sc.microservices])
    assert res.cost_parts["core_deploy"] == pytest.approx((x * c_dp).sum())
    assert res.cost_parts["core_maintain"] == pytest.approx((x * c_mt).sum() * res.slots)  # drain included
    assert res.cost_parts["light_maintain"] == pytest.approx(res.counters["light_instance_slots"] * 1.0)
    assert 0 < res.on_time_ratio <= 1


def test_resource_feasibility_enforced_every_slot():
    sc, x, arr = _paper(n_slots=20)
    seen = []

    class Greedy(StaticController):
        def decide(self, state):
            core_use = x @ sc.demand
            light_use = state.light_counts @ sc.demand
            seen.append(bool((core_use + light_use <= sc.capacity + 1e-9).all()))
            return super().decide(state)

    simulate(sc, arr, x, Greedy(), seed=0)
    assert seen and all(seen)

    class TooMany(StaticController):
        def decide(self, state):
            d = super().decide(state)
            d.light_counts = d.light_counts.copy()
            d.light_counts[3, sc.light_ms[0]] = 10_000
            return d

    with pytest.raises(DecisionError, match=r"node ED1 \w+ over capacity"):
        simulate(sc, arr, x, TooMany(), seed=0)


def test_same_seed_same_result_bit_for_bit():
    sc, x, arr = _paper()
    a = simulate(sc, arr, x, StaticController(), seed=5)
    b = simulate(sc, arr, x, StaticController(), seed=5)
    np.testing.assert_array_equal(a.task_latency, b.task_latency)
    assert a.cost_parts == b.cost_parts
    c = simulate(sc, arr, x, StaticController(), seed=6)
    assert not np.array_equal(a.task_latency, c.task_latency)


def test_failure_removes_exactly_the_failed_nodes_instances():
    sc, x, arr = _paper(n_slots=120)
    v = 0
    eng = Engine(sc, arr, x, StaticController(), seed=0, failures=[Failure(node=v, at_ms=40.0)])
    rec = []
    inner = eng.ctrl.decide

    def spy(state):
        rec.append((state.t, state.light_counts.copy(), state.node_up.copy()))
        return inner(state)

    eng.ctrl.decide = spy
    res = eng.run()
    np.testing.assert_array_equal(~eng.ci_up, eng.ci_node == v)
    for t, counts, up in rec:
        if t >= 40:
            assert not up[v] and counts[v].sum() == 0
    assert res.arrivals == res.on_time + res.late + res.unfinished
    assert res.counters["lost_jobs"] >= 0


class Scripted(Fixed):
    """``Fixed``, and at slot t sheds the tasks of ``shed[t]`` and asks for the core counts ``core[t]``."""

    def __init__(self, counts, node, shed=None, core=None):
        super().__init__(counts, node)
        self.shed, self.core = shed or {}, core or {}

    def decide(self, state):
        d = super().decide(state)
        d.shed = np.array(self.shed.get(state.t, []), dtype=np.int64)
        d.core_counts = self.core.get(state.t)
        return d


def test_shed_task_is_final_and_frees_the_core():
    # As test_hand_computed_two_stage_task, but task 0 is shed in slot 0 (its pre job has not started:
    # the engine routes and serves it within the slot, after the shed). Task 1 then runs alone:
    # pre 0 -> 0.1, enc 1.1 -> 1.6 instead of waiting for task 0 (2.1).
    sc, x, counts = _two_stage()
    ed1 = sc.node_index("ED1")
    res = simulate(sc, arrivals_at(sc, [0, 0], n_slots=1), x, Scripted(counts, ed1, shed={0: [0]}), seed=0)
    assert (res.arrivals, res.on_time, res.late, res.unfinished, res.shed) == (2, 1, 0, 0, 1)
    assert not np.isfinite(res.task_latency[0])
    np.testing.assert_allclose(res.task_latency[1], 1.6, atol=1e-4)
    assert res.per_type["task"]["shed"] == 1


def test_shedding_a_finished_or_unknown_task_is_ignored():
    sc, x, counts = _two_stage()
    ed1 = sc.node_index("ED1")
    res = simulate(sc, arrivals_at(sc, [0, 0], n_slots=1), x, Scripted(counts, ed1, shed={5: [0, 1, 7, -1]}), seed=0)
    assert (res.on_time, res.shed) == (2, 0)


def test_shedding_conserves_tasks_on_a_random_run():
    # Shed a random tenth of the active tasks every 5 slots: every arrival ends in exactly one class, and a
    # shed task never finishes.
    doc = tiny_doc([light_ms("pre", 1.0, 10.0), core_ms("enc", 8.0, 16.0)], [["pre", "enc"]], rate=0.8, horizon=60)
    sc = scenario(doc)
    x = np.zeros((2, 2), int)
    x[sc.node_index("ES1"), sc.ms_index("enc")] = 1
    counts = np.zeros((2, 2), int)
    counts[sc.node_index("ED1"), sc.ms_index("pre")] = 2
    rng = np.random.default_rng(3)

    class RandomShed(Fixed):
        def decide(self, state):
            d = super().decide(state)
            if state.t % 5 == 0 and len(state.active_tasks):
                act = state.active_tasks
                d.shed = rng.choice(act, size=max(1, len(act) // 10), replace=False)
                self.asked = getattr(self, "asked", set()) | set(d.shed.tolist())
            return d

    ctrl = RandomShed(counts, sc.node_index("ED1"))
    res = simulate(sc, poisson_arrivals(sc, seed=1), x, ctrl, seed=1)
    assert res.shed > 0
    assert res.arrivals == res.on_time + res.late + res.unfinished + res.shed
    shed_ids = np.flatnonzero(~np.isfinite(res.task_latency))
    assert res.shed <= len(ctrl.asked) and set(shed_ids.tolist()) >= set(ctrl.asked) - set(np.flatnonzero(np.isfinite(res.task_latency)).tolist())
    assert np.isfinite(res.task_latency).sum() == res.on_time + res.late


class Holding(Fixed):
    """``Fixed`` with the ``hold_core`` dispatch rule (docs/model.md E30)."""

    hold_core = True


def test_hold_core_lets_younger_stages_use_an_instance_the_paper_rule_leaves_idle():
    # One core instance on ES1 (0.1 ms per stage), users at ED1 (0.5 MB/ms away). Task 1 (slot 0) sends
    # 20 MB: its data reach ES1 ~40 ms later; task 2 (slot 1) sends 1 MB: ~2 ms. The paper's rule commits
    # the instance to task 1 at slot 0, so task 2 starts when task 1 finishes; holding task 1 until its
    # data are in lets task 2 run in the gap. Task 1 finishes at the same time under both rules.
    from edgefm.workload import Arrivals

    doc = tiny_doc([core_ms("enc", 1.0, 10.0)], [], single=["enc"], gateway="ED1", deadline=100.0)
    sc = scenario(doc)
    x = np.zeros((2, 1), int)
    x[sc.node_index("ES1"), 0] = 1
    arr = Arrivals(slot=np.array([0, 1]), user=np.zeros(2, np.int32), ttype=np.zeros(2, np.int32),
                   input_mb=np.array([20.0, 1.0]), work_scale=np.ones(2), n_slots=2, slot_ms=1.0, n_users=1,
                   n_types=1, process="manual")
    none = np.zeros((2, 1), int)
    paper = simulate(sc, arr, x, Fixed(none, -1), seed=0)
    held = simulate(sc, arr, x, Holding(none, -1), seed=0)
    fin_p = paper.task_latency + np.array([0.0, 1.0])  # finish times (arrivals at 0 and 1 ms)
    fin_h = held.task_latency + np.array([0.0, 1.0])
    assert fin_p[0] > 40 and fin_h[0] == pytest.approx(fin_p[0], abs=1e-9)
    assert fin_p[1] == pytest.approx(fin_p[0] + 0.1, abs=1e-9)  # behind task 1 on the one instance
    assert fin_h[1] < 5.0  # in the gap, as soon as its data are in


def _one_core_at_es1():
    """One core MS of 0.1 ms per stage, users at ES1, one instance there; no light instances."""
    sc = scenario(tiny_doc([core_ms("enc", 1.0, 10.0)], [], single=["enc"], gateway="ES1"))
    x = np.zeros((2, 1), int)
    x[sc.node_index("ES1"), 0] = 1
    return sc, x, np.zeros((2, 1), int)


def test_core_instances_added_and_removed_during_a_run_serve_and_pay_by_hand():
    # One core instance on ES1 (0.1 ms per stage, users at ES1). Slot 0 asks for two: the new one serves from
    # slot 1, so 20 stages arriving at slot 2 finish by 3.0 instead of 4.0 ms. Slot 5 asks for none: both are
    # idle, both go. Upkeep c_mt = 4 per instance and slot, charged at each slot's start: the first instance for
    # slots 0-5, the added one for slots 1-5 (11 instance-slots); without resizing, 1 instance for the 8 slots of
    # the run. Deployment c_dp = 20 once per instance.
    sc, x, zero = _one_core_at_es1()
    two, none = x * 2, x * 0
    arr = arrivals_at(sc, [2] * 20, n_slots=8)
    fixed = simulate(sc, arr, x, Fixed(zero, -1), seed=0)
    res = simulate(sc, arr, x, Scripted(zero, -1, core={0: two, 5: none}), seed=0)
    assert res.arrivals == res.on_time == 20
    assert fixed.task_latency.max() - res.task_latency.max() == pytest.approx(1.0, abs=1e-9)
    assert fixed.cost_parts["core_maintain"] == 4 * 8 and res.cost_parts["core_maintain"] == 4 * 11
    assert fixed.cost_parts["core_deploy"] == 20 and res.cost_parts["core_deploy"] == 40
    assert res.counters["core_added"] == 1 and res.counters["core_removed"] == 2


def test_a_busy_core_instance_is_not_removed_and_additions_must_fit():
    sc, x, zero = _one_core_at_es1()
    # 30 stages at slot 0 keep the one instance busy until 3.0 ms: a removal asked at slot 1 waits for slot 4
    res = simulate(sc, arrivals_at(sc, [0] * 30, n_slots=6), x, Scripted(zero, -1, core={1: x * 0, 4: x * 0}), seed=0)
    assert res.on_time == 30 and res.counters["core_removed"] == 1
    with pytest.raises(DecisionError, match="over capacity"):  # ES1 holds 100 cpu / 1 per instance
        simulate(sc, arrivals_at(sc, [0], n_slots=2), x, Scripted(zero, -1, core={0: x * 101}), seed=0)


def test_ready_at_equals_numpy_gather():
    """The engine's one-pass State.ready equals np.maximum(st_rdy[stages], now), -inf rows included."""
    from edgefm.sim._kernels import ready_at

    rng = np.random.default_rng(5)
    st = rng.normal(10.0, 5.0, (40, 6))
    st[3] = -np.inf
    idx = np.array([3, 0, 39, 7, 7], dtype=np.int64)
    assert np.array_equal(ready_at(st, idx, 9.5), np.maximum(st[idx], 9.5))
    assert ready_at(st, np.empty(0, np.int64), 1.0).shape == (0, 6)
