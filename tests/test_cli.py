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
