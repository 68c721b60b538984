"""Strict JSON (issue 15, item 3): undefined statistics are null, never NaN, and solver output
never reaches stdout; every ``--json`` output below is read with a strict parser."""
import os
import subprocess
import sys

import pytest

import edgefm
import strictjson
from edgefm.cli import main
from edgefm.cli.output import print_json, strict

PAPER = str(edgefm.data_path("scenarios", "paper.yaml"))
SIM = ["simulate", "--scenario", PAPER, "--method", "static", "--seed", "0"]


@pytest.mark.parametrize("extra", [
    ["--load", "0"],                                            # no arrivals at all
    ["--slots", "0"],                                           # an empty horizon
    ["--slots", "1", "--load", "0.05"],                         # task types with no arrivals
    ["--slots", "20", "--fail", "ES1@0", "--fail", "ES2@0", "--fail", "ES3@0"],  # every ES failed
])
def test_empty_sets_give_null_not_nan(extra, capsys):
    assert main(SIM + extra + ["--json"]) == 0
    d = strictjson.loads(capsys.readouterr().out)
    if d["on_time"] + d["late"] == 0:  # nothing finished: the latency statistics are undefined
        assert d["latency_ms"]["mean"] is None and d["latency_ms"]["p99"] is None


def test_human_output_of_an_empty_run_has_no_nan(capsys):
    assert main(SIM + ["--load", "0"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower() and "latency ms: mean -" in out


def test_strict_replaces_every_non_finite_number():
    import numpy as np

    obj = {"a": float("nan"), "b": [np.float64("inf"), -np.inf, 1.5], "c": np.int64(3), "d": np.array([np.nan, 2.0])}
    assert strict(obj) == {"a": None, "b": [None, None, 1.5], "c": 3, "d": [None, 2.0]}


def test_print_json_refuses_what_it_cannot_make_strict(capsys):
    print_json({"x": float("nan")})
    assert strictjson.loads(capsys.readouterr().out) == {"x": None}
    with pytest.raises(ValueError):
        strictjson.loads('{"x": NaN}')


@pytest.mark.parametrize("argv", [
    ["place", "--scenario", PAPER, "--seed", "1", "--solver", "relax", "--json"],
    ["place", "--scenario", PAPER, "--seed", "1", "--solver", "highs", "--kappa", "0", "--json"],
])
def test_solver_banners_stay_off_stdout(argv):
    """Run in a fresh process: the HiGHS banner is printed from C, once per process."""
    out = subprocess.run([sys.executable, "-m", "edgefm", *argv], capture_output=True, text=True, check=True).stdout
    assert out.count("\n") == 1 and out.startswith("{") and "Running HiGHS" not in out
    d = strictjson.loads(out)
    assert d["status"] in ("heuristic", "optimal")


@pytest.mark.parametrize("argv, log", [
    (["place", "--scenario", PAPER, "--seed", "1", "--solver", "relax", "--json", "--verbose"], "CVXPY"),
    (["place", "--scenario", PAPER, "--seed", "1", "--solver", "highs", "--kappa", "0", "--json", "--verbose"],
     "Running HiGHS"),
    (["simulate", "--scenario", PAPER, "--seed", "1", "--method", "lbrr", "--slots", "5", "--json", "--verbose"],
     None),
])
def test_verbose_logs_go_to_stderr_and_stdout_stays_one_object(argv, log):
    r = subprocess.run([sys.executable, "-m", "edgefm", *argv], capture_output=True, text=True, check=True,
                       env={**os.environ, "EDGEFM_PLACEMENT_CACHE": "off"})
    assert r.stdout.count("\n") == 1 and r.stdout.startswith("{")
    strictjson.loads(r.stdout)
    if log is not None:
        assert log in r.stderr and log not in r.stdout, r.stderr
