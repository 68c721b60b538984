"""Scenario sanity (issue 15, item 5): YAML 1.2 numbers, limits on what can be simulated, unused
microservices, and a placement sized below the requested load said in words."""
import copy
import warnings

import pytest
import yaml

import edgefm
from edgefm.errors import ScenarioError, ScenarioWarning
from edgefm.scenario import load_spec, sample_scenario, spec_from_dict
from edgefm.scenario.spec import MAX_HORIZON

PAPER = edgefm.data_path("scenarios", "paper.yaml")
TEXT = PAPER.read_text()


def _file(tmp_path, old, new):
    assert old in TEXT
    p = tmp_path / "s.yaml"
    p.write_text(TEXT.replace(old, new))
    return p


@pytest.mark.parametrize("value, expected", [("5e-4", 5e-4), ("1E-3", 1e-3), ("[1e-4, 2.5e-4]", (1e-4, 2.5e-4))])
def test_yaml_exponent_numbers_are_numbers(tmp_path, value, expected):
    spec = load_spec(_file(tmp_path, "rate_per_ms: [0.15, 1.5]", f"rate_per_ms: {value}"))
    r = spec.users[0].rates[0]
    assert (r.lo, r.hi) == ((expected, expected) if isinstance(expected, float) else expected)


def test_quoted_exponent_stays_a_string(tmp_path):
    with pytest.raises(ScenarioError, match="must be a number, got '5e-4'"):
        load_spec(_file(tmp_path, "rate_per_ms: [0.15, 1.5]", "rate_per_ms: '5e-4'"))


@pytest.mark.parametrize("old, new, field, word", [
    ("rate_per_ms: [0.15, 1.5]", "rate_per_ms: 1.0e300", "users.rate_per_ms", "at most 1e+12"),
    ("work_mb: [2, 16]       # a_m", "work_mb: 1.0e300", "ms_classes.core.work_mb", "at most 1e+12"),
    ("rate: [0.1, 1.0]", "rate: 1.0e-300", "links.rate", "at least 1e-09"),
    ("rate: [8, 32]", "rate: [1.0e-12, 32]", "ms_classes.core.rate[0]", "at least 1e-09"),
    ("scale: [1, 20]", "scale: [1.0e-12, 20]", "ms_classes.light.scale", "shape x scale"),
])
def test_values_that_cannot_be_simulated_are_rejected(tmp_path, old, new, field, word):
    with pytest.raises(ScenarioError) as e:
        load_spec(_file(tmp_path, old, new))
    assert e.value.field == field and word in str(e.value) and "\n" not in str(e.value)


def test_horizon_limit(tmp_path):
    doc = yaml.safe_load(TEXT)
    doc["horizon_slots"] = MAX_HORIZON + 1
    with pytest.raises(ScenarioError, match="horizon_slots: must be at most"):
        spec_from_dict(doc, "s.yaml")
    doc["horizon_slots"] = MAX_HORIZON
    assert spec_from_dict(doc, "s.yaml").horizon_slots == MAX_HORIZON


def test_too_many_tasks_fail_before_the_placement(monkeypatch):
    import edgefm.experiments.runner as runner

    monkeypatch.setattr(runner, "core_placement", lambda *a, **k: pytest.fail("placement started"))
    sc = edgefm.load_scenario(PAPER, seed=0, load=1e6)
    with pytest.raises(ScenarioError, match="tasks .* at most 1e\\+07 can be simulated"):
        runner.run_method(sc, "static", seed=0)


def test_unused_microservice_warns_and_gets_no_instances():
    doc = yaml.safe_load(TEXT)
    doc["task_types"]["types"] = [t for t in doc["task_types"]["types"] if t["name"] != "driving"]
    with pytest.warns(ScenarioWarning) as rec:
        spec = spec_from_dict(copy.deepcopy(doc), "s.yaml")
    unused = {"audio_pre", "audio_enc", "compression", "post_driving"}
    assert {str(w.message).split("(")[1].split(")")[0] for w in rec} == unused
    sc = sample_scenario(spec, seed=0)
    m = sc.ms_index("audio_enc")
    assert m not in sc.used_ms and edgefm.mean_profile(sc).n_min[m] == 0
    for solver in ("highs", "greedy"):
        p = edgefm.place(sc, solver=solver, kappa=0 if solver == "highs" else None)
        assert p.x[:, m].sum() == 0, solver
    with warnings.catch_warnings():  # the full paper scenario uses every MS: no warning
        warnings.simplefilter("error")
        load_spec(PAPER)


def test_placement_sized_below_the_load_is_said_in_words(monkeypatch, capsys):
    import edgefm.experiments.runner as runner
    from edgefm.cli import main

    real = runner.core_placement
    monkeypatch.setattr(runner, "core_placement", lambda sc, *a, **k: (real(sc.with_load(0.5), *a, **k)[0], 0.5))
    assert main(["simulate", "--scenario", str(PAPER), "--method", "static", "--slots", "10", "--load", "2"]) == 0
    assert "placement sized for load 0.50 (E14 infeasible at 2.00)" in capsys.readouterr().out
    monkeypatch.setattr(runner, "core_placement", real)
    assert main(["simulate", "--scenario", str(PAPER), "--method", "static", "--slots", "10", "--load", "0.3"]) == 0
    assert "placement sized" not in capsys.readouterr().out


def test_load_limit_on_every_route(tmp_path):
    """A load multiplier is at most MAX_LOAD wherever it enters: the file, sample/load_scenario, with_load."""
    from edgefm.scenario.spec import MAX_LOAD

    doc = yaml.safe_load(TEXT)
    doc["load"] = MAX_LOAD * 10
    with pytest.raises(ScenarioError, match="s.yaml: load: must be at most 1e\\+06"):
        spec_from_dict(doc, "s.yaml")
    doc["load"] = MAX_LOAD
    assert spec_from_dict(doc, "s.yaml").load == MAX_LOAD
    sc = edgefm.load_scenario(PAPER, seed=0)
    for bad in (1e20, 1e300, float("inf"), float("nan"), -1.0):
        with pytest.raises(ScenarioError, match="^load: must be"):
            sc.with_load(bad)
        with pytest.raises(ScenarioError, match="^load: must be"):
            edgefm.load_scenario(PAPER, seed=0, load=bad)
    assert sc.with_load(MAX_LOAD).load == MAX_LOAD


def test_overflowing_occupancy_is_an_infeasible_line_not_an_overflow():
    """Even past the load limit (``replace``), the placement says what cannot be hosted."""
    from edgefm.errors import InfeasibleError
    from edgefm.placement import place

    sc = edgefm.load_scenario(PAPER, seed=0).replace(load=1e20)
    with pytest.raises(InfeasibleError, match="instances in service on average"):
        place(sc)


def test_horizon_limit_in_python():
    from edgefm.arrivals import check_volume
    from edgefm.experiments.runner import run_method

    sc = edgefm.load_scenario(PAPER, seed=0, load=0.0)
    with pytest.raises(ScenarioError, match="n_slots: must be at most 1,000,000 slots"):
        check_volume(sc, MAX_HORIZON + 1)
    with pytest.raises(ScenarioError, match="n_slots: must be at most"):
        run_method(sc, "static", n_slots=100_000_000)


def test_slow_links_run_without_overflow(tmp_path):
    """Link rates near the floor (1e-5 MB/ms: transfers of ~1e5 ms) used to overflow exp in the softmin
    of the mean profile (E15); the run is now clean (no RuntimeWarning, no floating-point error)."""
    import numpy as np

    from edgefm.experiments.runner import run_method

    p = _file(tmp_path, "rate: [0.1, 1.0]", "rate: 1.0e-5")
    sc = edgefm.load_scenario(p, seed=0)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        res = run_method(sc, "proposed", seed=0, n_slots=20, placement=None)
    assert res.arrivals > 0 and res.on_time == 0  # nothing can meet a deadline over such links
