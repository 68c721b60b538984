"""docs/data.md lists exactly the columns a sweep writes and the keys ``edgefm simulate --json`` prints."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import edgefm
import strictjson

ROOT = Path(__file__).resolve().parent.parent
DICT = ROOT / "docs" / "data.md"
SCENARIO = str(edgefm.data_path("scenarios", "paper.yaml"))


def documented(heading: str) -> list[str]:
    """First-column names of the table under the ``## heading`` of docs/data.md."""
    text = DICT.read_text(encoding="utf-8")
    sec = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", sec, re.M)


def covers(names: list[str], produced: set[str]) -> tuple[list[str], list[str]]:
    """(produced names no entry matches, entries no produced name matches); ``<type>`` is a wildcard."""
    pats = {n: re.compile("^" + re.escape(n).replace(re.escape("<type>"), r"[A-Za-z0-9_]+") + "$") for n in names}
    undocumented = sorted(p for p in produced if not any(r.match(p) for r in pats.values()))
    stale = sorted(n for n, r in pats.items() if not any(r.match(p) for p in produced))
    return undocumented, stale


def flat_keys(d: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in d.items():
        if isinstance(v, dict):
            out |= flat_keys(v, f"{prefix}{k}.")
        else:
            out.add(prefix + k)
    return out


@pytest.fixture
def results_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEFM_RESULTS", str(tmp_path))  # the placement cache goes to a temporary folder
    return tmp_path


def test_wildcard_matching():
    assert covers(["a", "on_time_ratio_<type>"], {"a", "on_time_ratio_open_qa"}) == ([], [])
    assert covers(["a"], {"a", "b"}) == (["b"], [])
    assert covers(["a", "gone"], {"a"}) == ([], ["gone"])


@pytest.mark.slow
def test_sweep_columns_are_documented(results_tmp):
    from edgefm.experiments.sweep import run_cell

    from edgefm.control import METHODS

    cols = set()
    for method in METHODS:  # some methods report counters others lack
        row = run_cell(dict(scenario=SCENARIO, scenario_sha256="-", seed=0, method=method, load=1.0,
                            override={"horizon_slots": 10}))
        cols |= set(row)
    # the edgefm option that changes the core counts during a run (E31) writes its counters
    row = run_cell(dict(scenario=SCENARIO, scenario_sha256="-", seed=0, method="edgefm", load=1.0,
                        override={"horizon_slots": 80, "arrivals": "code", "controller": {"resize": 10}}))
    assert row["n_core_added"] + row["n_core_removed"] > 0
    cols |= set(row)
    names = documented("Columns of a sweep's `results.parquet`")
    assert len(names) == len(set(names)) > 30
    undocumented, stale = covers(names, cols)
    assert undocumented == [], f"results.parquet columns missing from docs/data.md: {undocumented}"
    assert stale == [], f"docs/data.md lists columns no run writes: {stale}"


@pytest.mark.slow
def test_simulate_json_keys_are_documented(results_tmp):
    env = dict(os.environ, EDGEFM_RESULTS=str(results_tmp))
    out = subprocess.run([sys.executable, "-m", "edgefm", "simulate", "--scenario", SCENARIO, "--seed", "0",
                          "--slots", "10", "--json"], capture_output=True, text=True, env=env, check=True).stdout
    keys = flat_keys(strictjson.loads(out))  # strict: NaN/Infinity fail
    from edgefm.experiments.runner import run_method
    from edgefm.scenario import load_scenario

    from edgefm.control import METHODS

    for method in METHODS:
        keys |= flat_keys(run_method(load_scenario(SCENARIO, seed=0), method, seed=0, n_slots=10).to_dict())
    keys |= flat_keys(run_method(load_scenario(SCENARIO, seed=0), "edgefm", seed=0, n_slots=80, arrivals="code",
                                 overrides={"resize": 10}).to_dict())  # E31's counters
    names = documented("Keys of `edgefm simulate --json`")
    undocumented, stale = covers(names, keys)
    assert undocumented == [], f"simulate --json keys missing from docs/data.md: {undocumented}"
    assert stale == [], f"docs/data.md lists keys simulate --json does not print: {stale}"
