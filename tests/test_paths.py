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


def _cell_defaults(nb):
    """The parameters cell executed (the independent check of the parser)."""
    doc = json.loads(nb.read_text())
    ns = {}
    cell = next(c for c in doc["cells"] if "parameters" in c["metadata"].get("tags", []))
    exec("".join(cell["source"]), ns)  # noqa: S102 - a committed notebook's own literals
    return {k: v for k, v in ns.items() if not k.startswith("__")}


@pytest.mark.parametrize("nb", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_notebook_defaults_are_read_from_the_parameters_cell(nb):
    defaults = paths.notebook_defaults(nb.stem)
    assert defaults == _cell_defaults(nb)
    assert defaults["QUICK"] is False and "SEED" in defaults
    assert paths.notebook_defaults(nb.name[:2]) == defaults == paths.notebook_defaults(nb.name)


def test_non_default_parameters_get_their_own_folder_and_a_stamp(no_env, tmp_path):
    import matplotlib.pyplot as plt

    from edgefm.plots import QUICK_STAMP, params_stamp, savefig, use_style

    no_env.chdir(tmp_path)
    no_env.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    base = paths.results_root()
    assert base == tmp_path / "xdg" / "edgefm" / "results"
    nb = "05_fig3_strategies"
    defaults = {k: v for k, v in paths.notebook_defaults(nb).items() if k not in paths.RESULT_NEUTRAL}
    try:
        # the defaults (an int given for a float default is the same value; WORKERS does not count)
        use_style(quick=False, notebook=nb, params={**defaults, "PAPER_ON_TIME": defaults["PAPER_ON_TIME"],
                                                    "N_BOOT": float(defaults["N_BOOT"]), "WORKERS": 7})
        assert paths.run_params() == {} and paths.results_dir() == base
        fig, _ = plt.subplots()
        assert savefig(fig, "99_test")[0].parent == base / "figures" and fig.texts == []

        use_style(quick=False, notebook=nb, params={**defaults, "SEED": 3, "N_BOOT": 500})
        assert paths.run_params() == {"SEED": 3, "N_BOOT": 500}
        assert paths.results_dir() == base / "params" / nb / "N_BOOT=500,SEED=3"
        fig, _ = plt.subplots()
        saved = savefig(fig, "99_test")
        assert saved[0].parent == base / "params" / nb / "N_BOOT=500,SEED=3" / "figures" and saved[0].is_file()
        assert [t.get_text() for t in fig.texts] == ["non-default parameters: N_BOOT=500, SEED=3"]
        savefig(fig, "99_test")  # stamped once
        assert len(fig.texts) == 1

        use_style(quick=True, notebook="05", params={**defaults, "SEED": 3})  # quick and non-default
        assert paths.results_dir() == base / "quick" / "params" / nb / "SEED=3"
        fig, _ = plt.subplots()
        savefig(fig, "99_test")
        assert [t.get_text() for t in fig.texts] == [QUICK_STAMP, params_stamp({"SEED": 3})]

        no_env.setenv("EDGEFM_RESULTS", str(tmp_path / "given"))  # an explicit folder is used as given ...
        use_style(quick=False, notebook=nb, params={**defaults, "SEED": 3})
        assert paths.results_dir() == tmp_path / "given"
        fig, _ = plt.subplots()
        savefig(fig, "99_test")
        assert [t.get_text() for t in fig.texts] == [params_stamp({"SEED": 3})]  # ... and still stamped
        no_env.delenv("EDGEFM_RESULTS")

        with pytest.raises(ValueError, match=r"05_fig3_strategies.ipynb declares no parameter DRAWS \(its parameters: QUICK, SEED"):
            use_style(notebook=nb, params={**defaults, "DRAWS": 5})
        with pytest.raises(ValueError, match="lack parameter.s. N_BOOT, PAPER_ON_TIME"):
            use_style(notebook=nb, params={"SEED": 3})
        with pytest.raises(ValueError, match="no notebook '55'"):
            use_style(notebook="55", params={"SEED": 3})
        assert paths.run_params() == {} and paths.results_dir() == base  # a failed call leaves a default run
        use_style(quick=False)  # no parameters given: a default run
        assert paths.results_dir() == base
    finally:
        paths.set_params(None)
        plt.close("all")


def test_params_label_is_a_safe_folder_name():
    assert paths.params_label({"SEED": 3, "LOAD": 1.5}) == "LOAD=1.5,SEED=3"
    assert paths.params_label({"NETWORKS": ["topozoo/Abilene", "sndlib/geant"], "METHOD": "a b"}) == \
        "METHOD=a_b,NETWORKS=topozoo_Abilene+sndlib_geant"
    long = paths.params_label({"PMED": [f"pmed{i}" for i in range(100)]})
    assert len(long) == 120 and long != paths.params_label({"PMED": [f"pmed{i}" for i in range(101)]})


def test_committed_defaults_win_over_an_edited_notebook_file(monkeypatch):
    """JupyterLab autosaves an edited parameters cell into the file: the committed defaults still count."""
    nb = paths.notebook_path("08")
    edited = json.loads(nb.read_text())
    cell = next(c for c in edited["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = "".join(cell["source"]).replace("SEED: int = 0", "SEED: int = 9")
    monkeypatch.setattr(type(nb), "read_text", lambda self, *a, **k: json.dumps(edited))
    assert paths.notebook_defaults("08", committed=False)["SEED"] == 9
    committed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--error-unmatch", str(nb)], capture_output=True)
    if committed.returncode != 0:
        pytest.skip("not a git checkout")
    assert paths.notebook_defaults("08")["SEED"] == 0


@pytest.mark.notebook
def test_a_papermill_run_with_other_parameters_leaves_the_full_run_alone(tmp_path):
    """papermill on a copy of the project (so results/ is a temporary folder): ``-p PAYLOAD_MB 2``
    writes under results/params/00_system_model/PAYLOAD_MB=2/, the full run's files stay as they were."""
    import shutil

    from edgefm.reproduce import expected_figures

    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "edgefm", proj / "edgefm", ignore=shutil.ignore_patterns("__pycache__"))
    (proj / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "00_system_model.ipynb", proj / "notebooks")
    (proj / "data").symlink_to(ROOT / "data")
    shutil.copy(ROOT / "pyproject.toml", proj)
    full = proj / "results"
    figs = expected_figures(proj / "notebooks" / "00_system_model.ipynb")
    assert figs
    (full / "figures").mkdir(parents=True)
    for f in figs:
        (full / "figures" / f"{f}.png").write_bytes(b"the full run's figure")
    env = {k: v for k, v in os.environ.items() if k not in ("EDGEFM_RESULTS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(proj)  # the kernel imports the copy, whose results/ is the temporary one
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")  # (were it the installed package: not the user's folder)
    executed = (tmp_path / "executed").with_suffix(".ipynb")  # papermill's output copy
    out = subprocess.run([sys.executable, "-m", "papermill", "00_system_model.ipynb", str(executed),
                          "-p", "PAYLOAD_MB", "2", "--kernel", "python3", "--no-progress-bar"],
                         cwd=proj / "notebooks", env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    run = full / "params" / "00_system_model" / "PAYLOAD_MB=2"
    for f in figs:
        assert (full / "figures" / f"{f}.png").read_bytes() == b"the full run's figure"
        assert (run / "figures" / f"{f}.png").is_file()
    assert sorted(p.name for p in (full / "figures").iterdir()) == sorted(f"{f}.png" for f in figs)
    shown = json.dumps([o for c in json.loads(executed.read_text())["cells"] for o in c.get("outputs", [])])
    assert "non-default parameters: PAYLOAD_MB=2" in shown
    assert not (tmp_path / "xdg").exists() and not (proj / "notebooks" / "results").exists()


@pytest.mark.parametrize("nb", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_every_notebook_passes_its_parameters_to_use_style(nb):
    """The setup cell's ``use_style(quick=QUICK, notebook=..., params=dict(...))``, evaluated with the
    notebook's defaults, names the notebook itself and passes every parameter that can change results."""
    import ast

    doc = json.loads(nb.read_text())
    calls = [node for c in doc["cells"] if c["cell_type"] == "code"
             for node in ast.walk(ast.parse("".join(c["source"])))
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "use_style"]
    assert len(calls) == 1, f"{nb.name}: one use_style call"
    kw = {k.arg: k.value for k in calls[0].keywords}
    assert set(kw) == {"quick", "notebook", "params"}, f"{nb.name}: use_style(quick=QUICK, notebook=..., params=...)"
    assert ast.literal_eval(kw["notebook"]) == nb.stem
    ns = paths.notebook_defaults(nb.stem)
    params = eval(compile(ast.Expression(kw["params"]), nb.name, "eval"), {"dict": dict}, dict(ns))  # noqa: S307
    try:
        assert paths.set_params(nb.stem, params) == {}  # the defaults: a default run
        assert set(params) | paths.RESULT_NEUTRAL >= set(ns)
    finally:
        paths.set_params(None)
