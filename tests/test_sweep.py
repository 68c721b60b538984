"""Sweeps: worker-count invariance, resume, cache keys and file validation."""
from __future__ import annotations

import pandas as pd
import pytest

from edgefm.errors import ScenarioError
from edgefm.experiments import sweep as sw
from edgefm.reproduce import project_root

PAPER = project_root() / "data" / "scenarios" / "paper.yaml"


def _write(tmp_path, text, name="tiny.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture
def tiny(tmp_path):
    return sw.load_sweep(_write(tmp_path, f"""
name: tiny
scenario: {PAPER}
seeds: [0, 1]
methods: [static, lbrr]
loads: [1]
overrides: [{{horizon_slots: 50}}]
"""))


def _metrics(df):
    return df[[c for c in df.columns if c not in sw.TIMING_COLUMNS]].reset_index(drop=True)


def test_cells_grid_order_and_quick(tmp_path):
    spec = sw.load_sweep(project_root() / "data" / "sweeps" / "fig4.yaml")
    full, quick = sw.cells(spec), sw.cells(spec, quick=True)
    q = spec.quick
    assert len(full) == len(spec.seeds) * len(spec.methods) * len(spec.loads) * len(spec.overrides)
    assert len(quick) == len(q["seeds"]) * len(q["methods"]) * len(q["loads"]) * len(spec.overrides)
    assert {c["override"]["horizon_slots"] for c in quick} == {q["horizon_slots"]}
    s0, s1 = q["seeds"][:2]
    m0, m1 = q["methods"][:2]
    assert [(c["method"], c["seed"]) for c in quick[:3]] == [(m0, s0), (m0, s1), (m1, s0)]  # load, method, seed
    assert sw.cells(spec) == full  # deterministic
    assert len({sw.cell_key(c) for c in full}) == len(full)
    f3 = sw.load_sweep(project_root() / "data" / "sweeps" / "fig3.yaml")
    q3 = sw.cells(f3, quick=True)
    assert {c["method"] for c in q3} == set(f3.quick["methods"])


def test_serial_and_dask_identical_and_resume(tiny, tmp_path, monkeypatch):
    calls = []
    real = sw.run_cell
    monkeypatch.setattr(sw, "run_cell", lambda c: calls.append(sw.cell_key(c)) or real(c))
    ser = sw.run_sweep(tiny, workers=0, out_dir=tmp_path / "serial", progress=False)
    assert len(ser) == 4 and len(calls) == 4
    assert list(ser[["method", "seed"]].itertuples(index=False, name=None)) == [
        ("static", 0), ("static", 1), ("lbrr", 0), ("lbrr", 1)]
    assert (ser["horizon_slots"] == 50).all() and ser["key"].is_unique
    assert pd.read_parquet(tmp_path / "serial" / "results.parquet").shape == ser.shape

    # resume: nothing to do, then exactly the deleted cell is recomputed
    calls.clear()
    sw.run_sweep(tiny, workers=0, out_dir=tmp_path / "serial", progress=False)
    assert calls == []
    gone = ser["key"][2]
    (tmp_path / "serial" / "cells" / f"{gone}.json").unlink()
    again = sw.run_sweep(tiny, workers=0, out_dir=tmp_path / "serial", progress=False)
    assert calls == [gone]
    pd.testing.assert_frame_equal(_metrics(again), _metrics(ser))
    assert not list((tmp_path / "serial" / "cells").glob("*.tmp"))

    monkeypatch.undo()
    par = sw.run_sweep(tiny, workers=2, out_dir=tmp_path / "dask", progress=False)
    pd.testing.assert_frame_equal(_metrics(par), _metrics(ser))


def test_key_changes_with_configuration(tiny):
    c = sw.cells(tiny)[0]
    k = sw.cell_key(c)
    assert sw.cell_key(dict(c)) == k
    for change in ({"seed": 7}, {"load": 1.5}, {"method": "lbrr"}, {"scenario_sha256": "0" * 64},
                   {"override": {"horizon_slots": 51}}, {"override": {"horizon_slots": 50, "arrivals": "mmpp"}}):
        assert sw.cell_key({**c, **change}) != k, change


def test_key_changes_with_version(tiny, monkeypatch):
    import edgefm

    c = sw.cells(tiny)[0]
    k = sw.cell_key(c)
    monkeypatch.setattr(edgefm._version, "__version__", "999.0")
    assert sw.cell_key(c) != k


@pytest.mark.parametrize("body, field", [
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [nope]\nloads: [1]\n", "methods[0]"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [0]\n", "loads[0]"),
    ("name: x\nscenario: {p}\nseeds: {{count: 0}}\nmethods: [static]\nloads: [1]\n", "seeds"),
    ("name: x\nscenario: {p}\nmethods: [static]\nloads: [1]\n", "seeds"),
    ("name: x\nscenario: nowhere.yaml\nseeds: [0]\nmethods: [static]\nloads: [1]\n", "scenario"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [1]\noverrides: [{{arrivals: foo}}]\n",
     "overrides[0].arrivals"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [1]\noverrides: [{{speed: 2}}]\n",
     "overrides[0].speed"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [1]\nquick: {{horizon_slots: -1}}\n",
     "quick.horizon_slots"),
    # caught at load, before any cell runs (issue 15, item 4)
    ("name: x\nscenario: {p}\nseeds: [0, -3]\nmethods: [static]\nloads: [1]\n", "seeds[1]"),
    ("name: x\nscenario: {p}\nseeds: {{start: -2, count: 3}}\nmethods: [static]\nloads: [1]\n", "seeds"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [1]\nquick: {{seeds: [-1]}}\n",
     "quick.seeds[0]"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [1, .inf]\n", "loads[1]"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [-1]\n", "loads[0]"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [.nan]\n", "loads[0]"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [proposed, lbrr]\nloads: [1]\n"
     "overrides: [{{controller: {{keep_alive: 3}}}}]\n", "overrides[0].controller.keep_alive"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [1]\n"
     "overrides: [{{controller: {{nosuch: 3}}}}]\n", "overrides[0].controller.nosuch"),
    # the limits of a scenario file: load multipliers up to 1e6, horizons up to 1,000,000 slots
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [1, 1e20]\n", "loads[1]"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [1]\nquick: {{loads: [1000001]}}\n",
     "quick.loads[0]"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [1]\noverrides: [{{horizon_slots: 100000000}}]\n",
     "overrides[0].horizon_slots"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [static]\nloads: [1]\nquick: {{horizon_slots: 1000001}}\n",
     "quick.horizon_slots"),
    # controller values a method rejects (a dry run at load), not only unknown keys
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [proposed, lbrr]\nloads: [1]\n"
     "overrides: [{{controller: {{y_max: -5}}}}]\n", "overrides[0].controller.y_max"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [lbrr]\nloads: [1]\n"
     "overrides: [{{}}, {{controller: {{y_max: 0}}}}]\n", "overrides[1].controller.y_max"),
    ("name: x\nscenario: {p}\nseeds: [0]\nmethods: [proposed]\nloads: [1]\n"
     "overrides: [{{controller: {{kind: odd}}}}]\n", "overrides[0].controller"),
])
def test_validation_names_file_and_field(tmp_path, body, field):
    p = _write(tmp_path, body.format(p=PAPER), "bad_sweep.yaml")
    with pytest.raises(ScenarioError) as ei:
        sw.load_sweep(p)
    assert ei.value.field == field and ei.value.source == "bad_sweep.yaml"
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(f"bad_sweep.yaml: {field}: ")


def test_bad_file_fails_before_any_cell_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(sw, "run_cell", lambda c: pytest.fail("a cell ran"))
    p = _write(tmp_path, f"name: x\nscenario: {PAPER}\nseeds: [0]\nmethods: [static, lbrr]\nloads: [1]\n"
                         "overrides: [{controller: {utilisation: 0.5}}]\n")
    with pytest.raises(ScenarioError, match="not a parameter of method lbrr"):
        sw.run_sweep(p, workers=0, out_dir=tmp_path / "o", progress=False)


def test_controller_keys_every_method_accepts_pass(tmp_path):
    p = _write(tmp_path, f"name: x\nscenario: {PAPER}\nseeds: [0]\nmethods: [proposed, propavg, lbrr]\n"
                         "loads: [1]\noverrides: [{controller: {y_max: 4}}]\n")
    assert sw.load_sweep(p).overrides[0]["controller"] == {"y_max": 4}


def test_cli_sweep(tmp_path, capsys):
    from edgefm.cli import main

    p = _write(tmp_path, f"name: c\nscenario: {PAPER}\nseeds: [0]\nmethods: [lbrr]\nloads: [1, 2]\n"
                         "overrides: [{horizon_slots: 20}]\n")
    assert main(["sweep", str(p), "--workers", "0", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "lbrr" in out and "results.parquet" in out and (tmp_path / "o" / "results.parquet").is_file()
    assert main(["sweep", str(tmp_path / "missing.yaml")]) == 2


def test_bad_controller_value_fails_at_load_before_any_cell(tmp_path, monkeypatch, capsys):
    from edgefm.cli import main

    monkeypatch.setattr(sw, "run_cell", lambda c: pytest.fail("a cell ran"))
    p = _write(tmp_path, f"name: x\nscenario: {PAPER}\nseeds: [0]\nmethods: [proposed]\nloads: [1]\n"
                         "overrides: [{controller: {y_max: -5}}]\n")
    assert main(["sweep", str(p), "--workers", "0", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("edgefm: error: tiny.yaml: overrides[0].controller.y_max: "
                                                    "method proposed cannot run with y_max=-5"), err


def test_failure_after_the_horizon_warns_at_load_with_file_and_field(tmp_path):
    import warnings

    from edgefm.errors import ScenarioWarning

    p = _write(tmp_path, f"name: x\nscenario: {PAPER}\nseeds: [0]\nmethods: [static]\nloads: [1]\n"
                         "overrides: [{failures: [ES1@50]}, {horizon_slots: 40, failures: [ES1@100, ES2@10]}]\n"
                         "quick: {horizon_slots: 20}\n", "late.yaml")
    with pytest.warns(ScenarioWarning) as rec:
        spec = sw.load_sweep(p)
    assert sorted(str(w.message) for w in rec) == [
        "late.yaml: overrides[0].failures[0]: failure of node ES1 at 50 ms starts after the quick block's arrival "
        "horizon (20 ms): no effect with --quick",
        "late.yaml: overrides[1].failures[0]: failure of node ES1 at 100 ms starts after the arrival horizon "
        "(40 ms) and has no effect on the arrivals"]
    cell = next(c for c in sw.cells(spec) if c["override"].get("horizon_slots") == 40)
    with warnings.catch_warnings():  # the cell does not repeat what the loader said
        warnings.simplefilter("error")
        sw.run_cell(cell)


def test_quick_sweep_never_writes_over_the_full_run(tmp_path, monkeypatch, capsys):
    from edgefm.cli import main
    from edgefm.paths import results_root

    p = _write(tmp_path, f"name: qk\nscenario: {PAPER}\nseeds: [0, 1]\nmethods: [static]\nloads: [1]\n"
                         "overrides: [{horizon_slots: 20}]\nquick: {seeds: [0], horizon_slots: 10}\n", "qk.yaml")
    root = results_root()
    spec = sw.load_sweep(p)
    assert sw.sweep_dir(spec) == root / "sweeps" / "qk"
    assert sw.sweep_dir(spec, quick=True) == root / "quick" / "sweeps" / "qk"
    assert sw.cells_dir(spec, quick=True) == root / "quick" / "sweeps" / "cells"
    assert main(["sweep", str(p), "--workers", "0"]) == 0
    full = pd.read_parquet(root / "sweeps" / "qk" / "results.parquet")
    assert main(["sweep", str(p), "--workers", "0", "--quick"]) == 0
    out = capsys.readouterr().out
    assert f"results in {root / 'quick' / 'sweeps' / 'qk' / 'results.parquet'}" in out
    quick = pd.read_parquet(root / "quick" / "sweeps" / "qk" / "results.parquet")
    assert len(full) == 2 and len(quick) == 1 and set(quick["horizon_slots"]) == {10}
    assert pd.read_parquet(root / "sweeps" / "qk" / "results.parquet").equals(full)  # untouched
    # a run already marked quick (a notebook with QUICK=True) has its results folder under quick/ already
    import edgefm.paths as paths

    monkeypatch.setitem(paths._RUN, "quick", True)
    monkeypatch.delenv("EDGEFM_RESULTS", raising=False)
    monkeypatch.chdir(paths.project_root())
    assert sw.sweep_dir(spec, quick=True) == paths.results_dir() / "sweeps" / "qk" == \
        paths.project_root() / "results" / "quick" / "sweeps" / "qk"
