"""Your own controller through the front door (issue 15, item 6): a module outside the package
registers a method and runs it through run_method, the CLI (--plugin) and a sweep file (plugins:)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edgefm
import strictjson
from edgefm.cli import main
from edgefm.control import REGISTRY
from edgefm.experiments import sweep as sw

PLUGINS = Path(__file__).parent / "data" / "plugins"
PAPER = edgefm.data_path("scenarios", "paper.yaml")


@pytest.fixture
def plugin_path(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))
    yield
    sys.modules.pop("two_each", None)
    REGISTRY.pop("two_each", None)


def test_python_route(plugin_path):
    import two_each

    sc = edgefm.load_scenario(PAPER, seed=2, load=0.5).replace(horizon_slots=40)
    res = edgefm.run_method(sc, "two_each", seed=2)
    assert res.method == "two_each" and res.arrivals > 0 and res.on_time > 0
    assert res.arrivals == res.on_time + res.late + res.unfinished
    # it ran on the greedy placement, the one its registration names (SCIP's would be "optimal")
    assert res.counters["placement_status"] == edgefm.core_placement(sc, "greedy")[0].status == "heuristic"
    assert isinstance(REGISTRY["two_each"].make(), two_each.TwoEach)
    # overrides reach the user's constructor
    more = edgefm.run_method(sc, "two_each", seed=2, overrides={"per_ms": 4})
    assert more.cost_parts["light_maintain"] > res.cost_parts["light_maintain"]


def test_cli_route(plugin_path, capsys):
    argv = ["simulate", "--scenario", str(PAPER), "--seed", "2", "--slots", "40", "--load", "0.5", "--json"]
    assert main(argv + ["--method", "two_each"]) == 2  # not known without its module
    assert "unknown method 'two_each'" in capsys.readouterr().err
    assert main(argv + ["--method", "two_each", "--plugin", "two_each"]) == 0
    d = strictjson.loads(capsys.readouterr().out)
    assert d["method"] == "two_each" and d["on_time"] > 0


def test_cli_route_in_a_fresh_process():
    env = dict(os.environ, PYTHONPATH=str(PLUGINS))
    out = subprocess.run([sys.executable, "-m", "edgefm", "simulate", "--scenario", str(PAPER), "--slots", "20",
                          "--method", "two_each", "--plugin", "two_each", "--json"],
                         capture_output=True, text=True, env=env, cwd=PLUGINS)
    assert out.returncode == 0, out.stderr
    assert strictjson.loads(out.stdout)["method"] == "two_each"


def test_sweep_route(plugin_path, tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text(f"name: mine\nscenario: {PAPER}\nplugins: [two_each]\nseeds: [0, 1]\nmethods: [two_each, lbrr]\n"
                 "loads: [0.5]\noverrides: [{horizon_slots: 30, controller: {per_ms: 3}}]\n")
    with pytest.raises(edgefm.ScenarioError, match="not a parameter of method lbrr"):
        sw.load_sweep(p)
    p.write_text(p.read_text().replace(", controller: {per_ms: 3}", ""))
    df = sw.run_sweep(p, workers=0, out_dir=tmp_path / "o", progress=False)
    assert set(df["method"]) == {"two_each", "lbrr"} and (df["on_time"] > 0).all()
    bad = tmp_path / "bad.yaml"
    bad.write_text(p.read_text().replace("plugins: [two_each]", "plugins: [no_such_plugin]"))
    with pytest.raises(edgefm.ScenarioError, match=r"bad.yaml: plugins\[0\]: no module named 'no_such_plugin'"):
        sw.load_sweep(bad)


def test_callable_placement_and_string_target(plugin_path):
    sc = edgefm.load_scenario(PAPER, seed=0, load=0.5).replace(horizon_slots=20)
    seen = []

    def mine(scenario):
        seen.append(scenario)
        return edgefm.place(scenario, solver="greedy").x

    edgefm.register_method("two_each_mine", "two_each:TwoEach", placement=mine, per_ms=1)
    try:
        res = edgefm.run_method(sc, "two_each_mine", seed=0)
        assert seen == [sc] and res.counters["placement_status"] == "given" and res.arrivals > 0
        cell = dict(scenario=str(PAPER), scenario_sha256="x", seed=0, method="two_each_mine", load=1.0, override={})
        k1 = sw.cell_key(cell)
        edgefm.register_method("two_each_mine", "two_each:TwoEach", placement=mine, version="2", replace=True)
        assert sw.cell_key(cell) != k1  # a new version of the method re-runs its sweep cells
    finally:
        edgefm.unregister_method("two_each_mine")
    assert "two_each_mine" not in REGISTRY


@pytest.mark.parametrize("kw, word", [
    (dict(name="static", controller=object), "already registered"),
    (dict(name="1bad", controller=object), "method name"),
    (dict(name="ok", controller=object), "no reset"),
    (dict(name="ok", controller="not a target"), "module:Class"),
    (dict(name="ok", controller="m:C", placement="cplex"), "placement must be"),
])
def test_bad_registrations_are_refused(kw, word):
    with pytest.raises(ValueError, match=word):
        edgefm.register_method(kw.pop("name"), kw.pop("controller"), **kw)
    assert set(REGISTRY) >= set(edgefm.METHODS) and "ok" not in REGISTRY
    with pytest.raises(ValueError, match="built-in"):
        edgefm.unregister_method("static")
    assert np.all([m in REGISTRY for m in edgefm.METHODS])
