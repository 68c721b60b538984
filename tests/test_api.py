"""The flat public API resolves, and importing edgefm stays light."""
import subprocess
import sys

import edgefm
import strictjson


def test_every_lazy_name_resolves():
    for name in edgefm._LAZY:
        assert getattr(edgefm, name) is not None, name
    assert set(edgefm._LAZY) <= set(dir(edgefm))


def test_import_is_light():
    code = ("import sys, edgefm; heavy = [m for m in ('pyscipopt', 'cvxpy', 'matplotlib', 'seaborn', 'papermill', "
            "'dask', 'distributed', 'pandas', 'highspy') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"import edgefm loaded {out}"


def test_cli_validate(tmp_path, capsys):
    from edgefm.cli import main

    assert main(["validate", str(edgefm.data_path("scenarios", "paper.yaml"))]) == 0
    assert capsys.readouterr().out.strip() == "ok"
    bad = tmp_path / "bad.yaml"
    bad.write_text(edgefm.data_path("scenarios", "paper.yaml").read_text().replace("deadline_ms: [50, 100]",
                                                                                    "deadline_ms: [0, 100]"))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "edgefm: error: bad.yaml: task_types.deadline_ms[0]: must be > 0, got 0"


def test_cli_simulate_json(capsys):

    from edgefm.cli import main

    rc = main(["simulate", "--scenario", str(edgefm.data_path("scenarios", "paper.yaml")), "--seed", "1",
               "--method", "static", "--slots", "30", "--load", "0.3", "--fail", "ES1@10:20", "--json"])
    assert rc == 0
    d = strictjson.loads(capsys.readouterr().out)
    for k in ("arrivals", "on_time", "on_time_ratio", "late", "unfinished", "cost_total", "cost_parts",
              "latency_ms", "wall_s"):
        assert k in d, k
    assert set(d["latency_ms"]) >= {"mean", "p95", "p99"}
    assert d["arrivals"] == d["on_time"] + d["late"] + d["unfinished"]


def test_cli_orlib_json(capsys):

    from edgefm.cli import main

    assert main(["orlib", "pmed", str(edgefm.data_path("orlib", "pmed", "pmed1.txt")), "--json"]) == 0
    d = strictjson.loads(capsys.readouterr().out)
    assert d["status"] == "optimal" and d["objective"] == 5819 and "seconds" in d
