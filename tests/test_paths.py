"""Results land where the user expects and are never silently replaced (issue 15, item 7)."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import edgefm
from edgefm import paths
from edgefm.experiments import stats
from edgefm.reproduce import NotebookRun, _write_manifest

ROOT = paths.project_root()


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("EDGEFM_RESULTS", raising=False)
    paths.set_quick(False)
    yield monkeypatch
    paths.set_quick(False)


def test_env_variable_wins(no_env, tmp_path):
    no_env.setenv("EDGEFM_RESULTS", str(tmp_path / "r"))
    no_env.chdir(ROOT)
    assert paths.results_dir() == tmp_path / "r"
    paths.set_quick(True)  # an explicit folder is used as given, quick or not
    assert paths.results_dir() == tmp_path / "r"


@pytest.mark.parametrize("sub", [".", "notebooks", "edgefm/placement"])
def test_inside_the_project_results_go_to_its_results_folder(no_env, sub):
    no_env.chdir(ROOT / sub)
    assert paths.results_dir() == ROOT / "results"
    paths.set_quick(True)
    assert paths.results_dir() == ROOT / "results" / "quick"


def test_outside_the_project_results_go_to_the_user_data_folder(no_env, tmp_path):
    no_env.chdir(tmp_path)
    no_env.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.results_dir() == tmp_path / "xdg" / "edgefm" / "results"


def test_a_script_run_elsewhere_writes_nothing_into_its_folder(tmp_path):
    """The CLI from an unrelated folder: the placement cache goes to the user data folder, not ./results."""
    env = {k: v for k, v in os.environ.items() if k != "EDGEFM_RESULTS"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    work = tmp_path / "somewhere"
    work.mkdir()
    out = subprocess.run([sys.executable, "-m", "edgefm", "simulate", "--scenario",
                          str(edgefm.data_path("scenarios", "paper.yaml")), "--slots", "5", "--method", "static"],
                         cwd=work, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert list(work.iterdir()) == []
    assert list((tmp_path / "xdg" / "edgefm" / "results" / "cache" / "placements").glob("*.pkl"))


def test_quick_figures_are_stamped_and_kept_apart(no_env, tmp_path):
    import matplotlib.pyplot as plt

    from edgefm.plots import QUICK_STAMP, savefig, use_style

    no_env.chdir(tmp_path)
    no_env.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    use_style(quick=True)
    fig, ax = plt.subplots()
    saved = savefig(fig, "99_test")
    assert saved[0].parent == tmp_path / "xdg" / "edgefm" / "results" / "quick" / "figures"
    assert [t.get_text() for t in fig.texts] == [QUICK_STAMP]
    savefig(fig, "99_test")  # stamped once
    assert len(fig.texts) == 1
    use_style(quick=False)
    fig2, _ = plt.subplots()
    assert savefig(fig2, "99_test")[0].parent == tmp_path / "xdg" / "edgefm" / "results" / "figures"
    assert fig2.texts == []
    plt.close("all")


def test_reproduce_defaults_keep_quick_and_parameterised_runs_apart(no_env, monkeypatch, tmp_path):
    import edgefm.reproduce as rep

    seen = []
    monkeypatch.setattr(rep, "_run", lambda nbs, results, *a: seen.append(results) or [])
    monkeypatch.setattr(rep, "find_notebooks", lambda only, root: [])
    no_env.chdir(tmp_path)
    no_env.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    base = paths.results_root()
    rep.run_notebooks(quick=False)
    rep.run_notebooks(quick=True)
    rep.run_notebooks(quick=False, parameters={"SEED": 3, "LOAD": 2})
    assert seen == [base, base / "quick", base / "runs" / "LOAD=2,SEED=3"]
    assert base == tmp_path / "xdg" / "edgefm" / "results"


def test_manifest_keeps_one_entry_per_notebook(tmp_path):
    path = tmp_path / "manifest.json"
    _write_manifest(path, [NotebookRun("00_system_model.ipynb", "ok", 1.0), NotebookRun("01_effective_capacity.ipynb", "ok", 2.0)],
                    {"QUICK": False}, ROOT)
    _write_manifest(path, [NotebookRun("01_effective_capacity.ipynb", "failed", 3.0, error="x")], {"QUICK": False, "SEED": 1}, ROOT)
    m = json.loads(path.read_text())
    by = {e["notebook"]: e for e in m["notebooks"]}
    assert set(by) == {"00_system_model.ipynb", "01_effective_capacity.ipynb"}
    assert by["00_system_model.ipynb"]["seconds"] == 1.0 and by["00_system_model.ipynb"]["parameters"] == {"QUICK": False}
    assert by["01_effective_capacity.ipynb"]["status"] == "failed" and by["01_effective_capacity.ipynb"]["parameters"]["SEED"] == 1


def test_intervals_are_clipped_to_the_feasible_range():
    df = pd.DataFrame({"method": ["a", "a"], "load": [1, 1], "cost_total": [10.0, 5000.0],
                       "on_time_ratio": [1.0, 0.5]})
    raw = stats.t_interval(df["cost_total"])
    assert raw[1] < 0  # n = 2: the t-interval reaches a negative cost
    cost = stats.mean_ci(df, "cost_total").iloc[0]
    assert cost["low"] == 0.0 and cost["high"] == pytest.approx(raw[2])
    ratio = stats.mean_ci(df, "on_time_ratio").iloc[0]
    assert ratio["high"] == 1.0 and ratio["low"] == 0.0
    assert np.isclose(stats.mean_ci(df, "cost_total", bounds=(-np.inf, np.inf)).iloc[0]["low"], raw[1])


def test_pins_include_platformdirs():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("platformdirs==") for d in deps)
    assert "platformdirs=" in (ROOT / "environment.yml").read_text()
