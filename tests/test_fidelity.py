"""Issue 17: core upkeep is charged through the drain, and `proposed` is the paper's literal rule."""
import warnings

import numpy as np
import pytest

import edgefm
from edgefm.control import METHODS, REGISTRY
from edgefm.control.base import Decision
from edgefm.control.proposed import delay_tables
from edgefm.errors import MethodWarning
from edgefm.experiments.runner import run_method
from edgefm.sim.engine import Failure, simulate

from simkit import arrivals_at, core_ms, scenario, tiny_doc


class Idle:
    name = "idle"

    def reset(self, ctx):
        pass

    def decide(self, state):
        return Decision()


def _one_core(deadline):
    doc = tiny_doc([core_ms("enc", 8.0, 1.0)], [], single=["enc"], gateway="ES1", deadline=deadline)
    sc = scenario(doc)
    x = np.zeros((2, 1), int)
    x[sc.node_index("ES1"), 0] = 2
    return sc, x


def test_a_long_drain_pays_core_upkeep():
    # Two core instances (c_mt = 4 each) serve 8 ms jobs; 6 tasks at slot 0 and T = 1: the last job ends at
    # 24 ms and is seen at that slot boundary, so the run lasts slots 0..24 (25 slots, a 24-slot drain) and
    # pays 2 * 4 * 25 upkeep, not 2 * 4 * T.
    sc, x = _one_core(deadline=100.0)
    res = simulate(sc, arrivals_at(sc, [0] * 6, n_slots=1), x, Idle(), seed=0)
    assert res.slots == 25 and res.counters["drain_slots"] == 24
    assert res.cost_parts["core_maintain"] == pytest.approx(2 * 4 * 25)
    assert res.cost_parts["core_deploy"] == pytest.approx(2 * 20)


def test_a_failed_node_pays_no_upkeep_while_down():
    sc, x = _one_core(deadline=100.0)
    res = simulate(sc, arrivals_at(sc, [0] * 6, n_slots=1), x, Idle(), seed=0,
                   failures=[Failure(node=sc.node_index("ES1"), at_ms=2.0, until_ms=5.0)])
    down = 3  # slots 2, 3, 4
    assert res.cost_parts["core_maintain"] == pytest.approx(2 * 4 * (res.slots - down))


def test_literal_and_fallback_tables_differ_exactly_where_theta_star_is_missing():
    sc = edgefm.load_scenario(edgefm.data_path("scenarios", "paper.yaml"), seed=12)
    g_lit, fb = delay_tables(sc, "ec", False)
    g_fb, fb2 = delay_tables(sc, "ec", True)
    assert np.array_equal(fb, fb2) and fb.any()
    light = ~sc.is_core
    same = light[:, None] & ~fb
    assert np.array_equal(g_lit[same], g_fb[same])
    assert np.isinf(g_lit[fb]).all() and np.isfinite(g_fb[fb]).all()


def test_proposed_is_literal_and_says_when_a_light_ms_can_never_be_admitted():
    assert REGISTRY["proposed"].defaults["fallback"] is False
    assert REGISTRY["proposed+fallback"].defaults["fallback"] is True
    assert "proposed+fallback" not in METHODS
    sc = edgefm.load_scenario(edgefm.data_path("scenarios", "paper.yaml"), seed=12).replace(horizon_slots=40)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        lit = run_method(sc, "proposed", seed=12)
    msgs = [str(x.message) for x in w if issubclass(x.category, MethodWarning)]
    assert len(msgs) == 1 and "'compression'" in msgs[0]
    assert lit.counters["literal_unservable_tasks"] > 0
    fb = run_method(sc, "proposed+fallback", seed=12)
    assert fb.method == "proposed+fallback" and fb.counters["literal_unservable_tasks"] == 0
    assert fb.on_time > lit.on_time  # the driving tasks through 'compression' finish only with the fallback
