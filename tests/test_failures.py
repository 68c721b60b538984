"""Failure windows mean what they say (issue 15, item 2), in Python, on the CLI and in sweep files."""
import math
import warnings

import pytest

import edgefm
from edgefm.errors import ScenarioError, ScenarioWarning
from edgefm.experiments import sweep as sw
from edgefm.experiments.runner import run_method
from edgefm.sim.failures import Failure, check_failures, parse_failure, split_failure

PAPER = edgefm.data_path("scenarios", "paper.yaml")


@pytest.fixture(scope="module")
def sc():
    return edgefm.load_scenario(PAPER, seed=1, load=1.0).replace(horizon_slots=60)


@pytest.mark.parametrize("at, until, word", [(30.0, 10.0, "after at_ms"), (30.0, 30.0, "after at_ms"),
                                             (-1.0, None, ">= 0"), (math.nan, None, "finite"),
                                             (math.inf, None, "finite"), (5.0, math.inf, "finite"),
                                             (5.0, -2.0, ">= 0")])
def test_bad_windows_are_rejected_in_python(at, until, word):
    with pytest.raises(ScenarioError, match=word):
        Failure(node=0, at_ms=at, until_ms=until)


def test_text_form_follows_the_same_rules(sc):
    assert split_failure("ES1@10:30") == ("ES1", 10.0, 30.0)
    assert parse_failure("ES2@5", sc) == Failure(node=sc.node_index("ES2"), at_ms=5.0)
    for bad in ("ES1@30:10", "ES1@-1", "ES1", "@4", "ES1@x"):
        with pytest.raises(ScenarioError):
            split_failure(bad)
    with pytest.raises(ScenarioError, match="unknown node"):
        parse_failure("ES9@3", sc)
    with pytest.raises(ScenarioError, match="does not exist"):
        check_failures([Failure(node=sc.n_nodes, at_ms=1.0)], sc)


def test_failure_after_the_horizon_warns_and_one_inside_does_not(sc):
    end = sc.horizon_slots * sc.slot_ms
    with pytest.warns(ScenarioWarning, match="after the arrival horizon"):
        check_failures([Failure(node=0, at_ms=end)], sc)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_failures([Failure(node=0, at_ms=end - sc.slot_ms)], sc)
    with pytest.warns(ScenarioWarning):  # the simulator applies the same check
        run_method(sc, "static", seed=0, n_slots=20, failures=[Failure(node=0, at_ms=25 * sc.slot_ms)])


def test_a_window_recovers_and_a_permanent_outage_does_not(sc):
    es = [i for i, n in enumerate(sc.nodes) if n.kind == "ES"]
    dt = sc.slot_ms
    window = [Failure(node=v, at_ms=10 * dt, until_ms=20 * dt) for v in es]
    forever = [Failure(node=v, at_ms=10 * dt) for v in es]
    w = run_method(sc, "static", seed=0, failures=window)
    f = run_method(sc, "static", seed=0, failures=forever)
    assert w.arrivals == f.arrivals
    assert w.unfinished < f.unfinished  # the nodes came back and served the later tasks


def _sweep(tmp_path, override):
    p = tmp_path / "s.yaml"
    p.write_text(f"name: s\nscenario: {PAPER}\nseeds: [0]\nmethods: [static]\nloads: [1]\n"
                 f"overrides: [{override}]\n")
    return p


@pytest.mark.parametrize("override, msg", [
    ('{failures: ["ES1@30:10"]}', "s.yaml: overrides[0].failures[0]: until_ms = 10 must be after at_ms = 30"),
    ('{failures: ["ES1@-4"]}', "s.yaml: overrides[0].failures[0]: at_ms must be a finite time >= 0 ms"),
    ('{failures: ["ES9@4"]}', "s.yaml: overrides[0].failures[0]: unknown node 'ES9'"),
    ('{failures: "ES1@4"}', "s.yaml: overrides[0].failures: expected a list"),
])
def test_sweep_file_failures_checked_at_load(tmp_path, override, msg):
    with pytest.raises(ScenarioError) as e:
        sw.load_sweep(_sweep(tmp_path, override))
    assert str(e.value).startswith(msg)


def test_sweep_cell_applies_its_failures(tmp_path):
    spec = sw.load_sweep(_sweep(tmp_path, '{horizon_slots: 40, failures: ["ES1@0", "ES2@0", "ES3@0"]}'))
    row = sw.run_cell(sw.cells(spec)[0])
    plain = sw.run_cell(sw.cells(sw.load_sweep(_sweep(tmp_path, "{horizon_slots: 40}")))[0])
    assert row["arrivals"] == plain["arrivals"] and row["unfinished"] > plain["unfinished"]


def test_failure_after_the_horizon_warns_once_across_checks(sc):
    """parse_failure and then the engine check the same failure: shown once under the default filter."""
    from edgefm.sim.failures import parse_failure

    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("default")
        f = parse_failure(f"{sc.nodes[0].name}@{25 * sc.slot_ms:g}", sc.replace(horizon_slots=20))
        run_method(sc, "static", seed=0, n_slots=20, failures=[f])
    late = [w for w in rec if issubclass(w.category, ScenarioWarning)]
    assert len(late) == 1 and "after the arrival horizon" in str(late[0].message)
