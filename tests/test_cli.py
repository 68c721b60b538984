"""The command line's contract (issue 15, item 1): every bad value is one line on stderr, exit 2,
a ``{"status": "error"}`` object under ``--json``, and nothing runs before the values are checked."""
import subprocess
import sys

import pytest

import edgefm
from edgefm.cli import main
import strictjson

PAPER = str(edgefm.data_path("scenarios", "paper.yaml"))
SIM = ["simulate", "--scenario", PAPER]
PLACE = ["place", "--scenario", PAPER, "--seed", "0"]


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a placement or a run starts."""
    import edgefm.experiments.runner as runner
    import edgefm.placement.e14solve as e14solve

    def boom(*a, **k):
        raise AssertionError("work started before the flags were validated")

    monkeypatch.setattr(runner, "run_method", boom)
    monkeypatch.setattr(e14solve, "place", boom)


@pytest.mark.parametrize("argv, flag", [
    (SIM + ["--load", "-1"], "--load"), (SIM + ["--load", "nan"], "--load"), (SIM + ["--load", "inf"], "--load"),
    (SIM + ["--seed", "-5"], "--seed"), (SIM + ["--slots", "-3"], "--slots"), (SIM + ["--slots", "2.5"], "--slots"),
    (SIM + ["--arrivals", "foo"], "--arrivals"), (SIM + ["--trace", "nosuch.csv"], "--trace"),
    (SIM + ["--method", "nosuch"], "--method"), (SIM + ["--plugin", "nosuch_module_xyz"], "--plugin"),
    (SIM + ["--fail", "ES1@30:10"], "--fail"), (SIM + ["--fail", "ES1@-5"], "--fail"),
    (SIM + ["--fail", "ES1"], "--fail"), (SIM + ["--fail", "NOPE@10"], "--fail"),
    (SIM + ["--variant", "odd"], "--variant"),
    # upper limits: a load multiplier of at most 1e6 (the scenario file's limit), at most 1,000,000 slots
    (SIM + ["--load", "1e300", "--slots", "0"], "--load"), (SIM + ["--load", "1000001"], "--load"),
    (PLACE + ["--load", "1e20"], "--load"), (PLACE + ["--load", "1e300"], "--load"),
    (SIM + ["--slots", "100000000", "--load", "0"], "--slots"), (SIM + ["--slots", "1000001"], "--slots"),
    (PLACE[:-1] + ["-1"], "--seed"), (PLACE + ["--time-limit", "-5"], "--time-limit"),
    (PLACE + ["--time-limit", "0"], "--time-limit"), (PLACE + ["--gap", "nan"], "--gap"),
    (PLACE + ["--gap", "-1"], "--gap"), (PLACE + ["--kappa", "-2"], "--kappa"),
    (PLACE + ["--solver", "cplex"], "--solver"),
    (["reproduce", "--only", "99"], "--only"),
    (["reproduce", "--heartbeat", "0"], "--heartbeat"), (["reproduce", "--heartbeat", "nan"], "--heartbeat"),
    (["sweep", "data/sweeps/fig3.yaml", "--workers", "-1"], "--workers"),
    (["orlib", "pmed", "x.txt", "--time-limit", "nan"], "--time-limit"),
])
def test_bad_flag_is_one_line_exit_2_and_json_error(argv, flag, capsys, no_work):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("edgefm: error: ") and flag in err, err
    if argv[0] not in ("simulate", "place", "orlib"):  # the commands that have --json
        return
    assert main(argv + ["--json"]) == 2
    out, err = capsys.readouterr()
    d = strictjson.loads(out)
    assert d["status"] == "error" and flag in d["message"] and err.count("\n") == 1


def test_unknown_flag_and_missing_argument_are_one_line(capsys):
    assert main(["simulate", "--scenario", PAPER, "--nosuch"]) == 2
    assert main(["place", "--scenario", PAPER]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["edgefm: error: unrecognized arguments: --nosuch",
                   "edgefm: error: the following arguments are required: --seed"]


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"edgefm {edgefm.__version__}"


def test_closed_stdout_ends_without_traceback():
    """``edgefm simulate ... --json | head -c 100``: the reader leaves before the output is written."""
    p = subprocess.Popen([sys.executable, "-m", "edgefm", *SIM, "--slots", "10", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait() == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_valid_values_still_run(capsys):
    assert main(SIM + ["--seed", "0", "--slots", "0", "--load", "0", "--method", "static", "--json"]) == 0
    d = strictjson.loads(capsys.readouterr().out)
    assert d["arrivals"] == 0 and d["status"] == "ok"


def test_largest_load_is_one_line_not_an_overflow(capsys):
    """At the limit the draw is simply infeasible: one line naming the resource, no OverflowError."""
    from edgefm.scenario.spec import MAX_LOAD

    assert main(PLACE + ["--load", f"{MAX_LOAD:g}", "--json"]) == 2
    out, err = capsys.readouterr()
    d = strictjson.loads(out)
    assert d["status"] == "error" and d["error"] == "InfeasibleError" and err.count("\n") == 1, err


@pytest.fixture
def bad_trace(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("a,b\n1,2\n")
    return str(p)


def test_malformed_trace_fails_before_the_placement(bad_trace, capsys, monkeypatch):
    import edgefm.experiments.runner as runner

    def boom(*a, **k):
        raise AssertionError("the placement started before the trace was read")

    monkeypatch.setattr(runner, "core_placement", boom)
    assert main(SIM + ["--trace", bad_trace, "--json"]) == 2
    out, err = capsys.readouterr()
    d = strictjson.loads(out)
    assert d["error"] == "ScenarioError" and "bad.csv" in d["message"] and "TIMESTAMP" in d["message"]
    assert err.count("\n") == 1 and err.startswith("edgefm: error: bad.csv")
    with pytest.raises(edgefm.errors.ScenarioError, match="bad.csv"):  # the Python route too
        runner.run_method(edgefm.load_scenario(PAPER, seed=0), "static", arrivals=bad_trace)


def test_failure_after_the_horizon_warns_once(capsys):
    assert main(SIM + ["--slots", "10", "--load", "0", "--method", "static", "--fail", "ES1@1000", "--json"]) == 0
    out, err = capsys.readouterr()
    assert strictjson.loads(out)["status"] == "ok"
    assert err.splitlines() == ["edgefm: warning: failure of node ES1 at 1000 ms starts after the arrival horizon "
                                "(10 ms) and has no effect on the arrivals"]


def _place(*flags):
    return subprocess.run([sys.executable, "-m", "edgefm", *PLACE, "--kappa", "0", "--json", *flags],
                          capture_output=True, text=True)


@pytest.mark.parametrize("solver, log", [("scip", "presolving"), ("highs", "Running HiGHS")])
def test_verbose_puts_the_solver_log_on_stderr_and_json_alone_on_stdout(solver, log):
    r = _place("--solver", solver, "--method", "direct", "--verbose")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1 and strictjson.loads(r.stdout)["status"] == "optimal"
    assert log in r.stderr and len(r.stderr.splitlines()) > 10, r.stderr
    assert "edgefm: place: solver " + solver in r.stderr
    quiet = _place("--solver", solver, "--method", "direct")
    assert quiet.stderr == "" and strictjson.loads(quiet.stdout)["objective"] == strictjson.loads(r.stdout)["objective"]


def test_verbose_node_dp_logs_its_search():
    """The default route (exact node DP) runs no external solver: --verbose shows the method and κ."""
    r = subprocess.run([sys.executable, "-m", "edgefm", *PLACE, "--json", "--verbose"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.count("\n") == 1 and strictjson.loads(r.stdout)["status"] == "optimal"
    assert "method dp" in r.stderr and "edgefm: place: kappa 0: optimal" in r.stderr, r.stderr
