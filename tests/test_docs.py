"""The documentation site and the gallery (issue 16).

One build of the whole site (``sphinx -W``: warnings are errors) from a results folder made in a
temporary directory by the project itself: notebook 00 executed in quick mode and a four-cell sweep
summarised the way notebooks 05 and 06 do it. Checks: a page for every notebook (the executed one with
the quick-run banner and every figure it saved, the others marked not run), a page for every module
of the package, the flat namespace, the results page's headline table with its intervals, the model
reference and the data dictionary. The gallery machinery runs on the same quick outputs in a
temporary folder (it refuses a quick run unless told to accept one).
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))
import sitegen  # noqa: E402

pytest.importorskip("sphinx", reason="the docs extra is not installed (make test installs it)")
pytestmark = pytest.mark.slow

SWEEP_YAML = """\
name: docs_headline
scenario: {scenario}
seeds: [3, 4]
methods: [proposed, static]
loads: [1]
overrides:
  - {{horizon_slots: 20}}
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A results folder as a quick run leaves it: notebook 00 executed, a sweep and its summary."""
    import edgefm
    from edgefm.experiments import summary
    from edgefm.experiments.sweep import load_sweep, run_sweep
    from edgefm.reproduce import run_notebooks

    res = tmp_path_factory.mktemp("results")
    old = os.environ.get("EDGEFM_RESULTS")
    os.environ["EDGEFM_RESULTS"] = str(res)
    try:
        runs = run_notebooks(quick=True, only=["00"], results=res, progress=False)
        assert [r.status for r in runs] == ["ok"], runs[0].error
        yml = res / "sweep.yaml"
        yml.write_text(SWEEP_YAML.format(scenario=edgefm.data_path("scenarios", "paper.yaml")))
        spec = load_sweep(yml)
        df = run_sweep(spec, workers=0, progress=False)
        summary.write_summary("05_summary", {"sweep": spec.name, "quick": True, "draws": 2,
                                             "methods": summary.headline_numbers(df)}, results=res)
    finally:
        if old is None:
            os.environ.pop("EDGEFM_RESULTS", None)
        else:
            os.environ["EDGEFM_RESULTS"] = old
    return res


@pytest.fixture(scope="module")
def site(results, tmp_path_factory):
    """The site built by Sphinx from a copy of docs/ (the clone's docs/_generated is left alone)."""
    tmp = tmp_path_factory.mktemp("site")
    proj = tmp / "project"
    shutil.copytree(ROOT / "docs", proj / "docs", ignore=shutil.ignore_patterns("_build", "_generated"))
    shutil.copy2(ROOT / "README.md", proj / "README.md")
    (proj / "notebooks").symlink_to(ROOT / "notebooks")
    env = dict(os.environ, EDGEFM_DOCS_RESULTS=str(results))
    p = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                        "-d", str(tmp / "doctrees"), str(proj / "docs"), str(tmp / "html")],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr[-4000:]
    return tmp / "html"


def page(site: Path, rel: str) -> str:
    f = site / rel
    assert f.is_file(), f"missing page {rel}"
    return f.read_text(encoding="utf-8")


def test_every_notebook_has_a_page_from_its_executed_copy(site, results):
    from edgefm.reproduce import expected_figures

    nbs = sitegen.notebooks()
    assert len(nbs) >= 10
    for nb in nbs:
        html = page(site, f"_generated/notebooks/{nb.stem}.html")
        if nb.stem.startswith("00_"):
            assert "Quick run" in html and "Not run" not in html
            figs = expected_figures(nb)
            assert len(figs) == 3
            for stem in figs:  # every figure the notebook saved is on its page
                assert re.search(rf'<img [^>]*src="[^"]*{re.escape(stem)}\.png"', html), stem
                assert (site / "_images" / f"{stem}.png").is_file()
            assert "E14" in html and 'class="output' in html  # the stored outputs are rendered
        else:
            assert "Not run" in html and "Quick run" not in html


def test_every_module_has_an_api_page(site):
    import edgefm

    mods = sitegen.api_modules()
    assert {"edgefm.placement.e14solve", "edgefm.placement.model", "edgefm.sim.engine", "edgefm.control.proposed"} <= set(mods)
    assert "edgefm.__main__" not in mods
    for m in mods:
        top = ".".join(m.split(".")[:2])
        html = page(site, f"_generated/api/{top}.html")
        assert f'id="module-{m}"' in html, m
    index = page(site, "_generated/api/index.html")
    for name in edgefm.__all__:
        assert f"edgefm.{name}" in index, name
    placement = page(site, "_generated/api/edgefm.placement.html")
    assert 'id="edgefm.placement.e14solve.place"' in placement  # functions are documented, not just modules


def test_results_page_shows_the_headline_table_with_intervals(site, results):
    import pandas as pd

    from edgefm.experiments.stats import t_interval

    html = page(site, "_generated/results.html")
    assert "Quick run" in html and "Headline table" in html
    df = pd.read_parquet(results / "sweeps" / "docs_headline" / "results.parquet")
    for method, g in df.groupby("method"):
        m, lo, hi = t_interval(g["on_time_ratio"])
        assert f"[{max(lo, 0):,.3f}, {min(hi, 1):,.3f}]" in html, method  # clipped to [0, 1]
        c, clo, chi = t_interval(g["cost_total"])
        assert f"{c:,.0f}" in html and f"[{max(clo, 0):,.0f}, {chi:,.0f}]" in html


def test_model_reference_and_data_dictionary_pages(site):
    model = page(site, "model.html")
    assert all(f"E{i}" in model for i in (1, 8, 14, 17, 21)) and "Beyond the paper" in model
    assert 'src="_static/mathjax/tex-chtml.js' in model  # MathJax ships with the site: equations render offline
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    data = page(site, "data.html")
    assert "on_time_ratio" in data and "cost_parts.core_deploy" in data
    assert "edgefm" in page(site, "index.html")


def test_headline_rows_use_summary_intervals_and_skip_mismatched_tables(results):
    summ = sitegen.read_summaries(results / "summaries")
    rows = sitegen.headline_rows(summ, results / "sweeps")
    assert {r["method"] for r in rows} == {"proposed", "static"} and all(r["n"] == 2 for r in rows)
    assert all(r["on_time_low"] <= r["on_time"] <= r["on_time_high"] for r in rows)
    other = json.loads(json.dumps(summ))
    other["05_summary"]["methods"]["proposed"]["1"]["n"] = 3  # the table on disk is from another run
    mism = {r["method"]: r for r in sitegen.headline_rows(other, results / "sweeps")}
    assert math.isnan(mism["proposed"]["on_time_low"]) and not math.isnan(mism["static"]["on_time_low"])
    other["05_summary"]["methods"]["proposed"]["1"]["on_time_ci"] = [0.1, 0.2]
    other["05_summary"]["methods"]["static"]["1"]["on_time_ci"] = [-0.3, 1.4]
    other["05_summary"]["methods"]["static"]["1"]["cost_ci"] = [-50.0, 9e9]
    mism = {r["method"]: r for r in sitegen.headline_rows(other, None)}
    assert (mism["proposed"]["on_time_low"], mism["proposed"]["on_time_high"]) == (0.1, 0.2)
    assert (mism["static"]["on_time_low"], mism["static"]["on_time_high"]) == (0.0, 1.0)
    assert (mism["static"]["cost_low"], mism["static"]["cost_high"]) == (0.0, 9e9)


def test_gallery_refuses_quick_runs_and_records_provenance(results, tmp_path):
    import numpy as np
    from PIL import Image

    results = shutil.copytree(results, tmp_path / "results")  # the fixture's folder stays as it was

    with pytest.raises(sitegen.SiteError, match="quick run"):
        sitegen.make_gallery(results, tmp_path / "gallery")
    with pytest.raises(sitegen.SiteError, match="missing headline figure"):
        sitegen.make_gallery(results, tmp_path / "gallery", allow_quick=True)
    # the headline figures, as the notebooks would save them: one large, busy PNG to force a downscale
    figs = results / "figures"
    noise = (np.random.default_rng(0).random((1600, 2400, 3)) * 255).astype("uint8")
    for stem in sitegen.HEADLINE_FIGURES:
        src = figs / f"{stem}.png"
        if not src.exists():
            shutil.copy2(figs / "00_fig2_network.png", src)
    Image.fromarray(noise).save(figs / "09_scale.png")
    assert (figs / "09_scale.png").stat().st_size > sitegen.MAX_PNG_BYTES
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- gallery:start -->\nold\n<!-- gallery:end -->\n\nrest\n")
    src = sitegen.make_gallery(results, tmp_path / "gallery", allow_quick=True, readme=readme)
    gal = tmp_path / "gallery"
    for stem in sitegen.HEADLINE_FIGURES:
        p = gal / f"{stem}.png"
        assert 0 < p.stat().st_size <= sitegen.MAX_PNG_BYTES
        with Image.open(p) as im:
            assert im.width > 100
    with Image.open(gal / "09_scale.png") as im:
        assert im.width < 2400  # downscaled
    rec = json.loads((gal / "SOURCE.json").read_text())
    assert rec == src and rec["run"] == "quick" and rec["commit"] == json.loads(
        (results / "manifest.json").read_text())["commit"]
    saved = json.loads((gal / "summaries" / "05_summary.json").read_text())
    ci = saved["methods"]["proposed"]["1"]["on_time_ci"]
    assert len(ci) == 2 and ci[0] <= saved["methods"]["proposed"]["1"]["on_time_ratio"] <= ci[1]
    text = readme.read_text()
    assert "old" not in text and text.endswith("rest\n") and "05_fig3_violins.png" in text
    assert "| proposed |" in text


def test_gallery_command_line_errors_are_one_line(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "docs" / "sitegen.py"), "gallery", "--results", str(tmp_path),
                        "--out", str(tmp_path / "g")], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("error: ") and "no summaries" in p.stderr


def test_readme_python_example_prints_what_the_readme_shows(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    sec = text.split("## Use it from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", sec, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", sec, re.S).group(1)
    assert 10 <= len(code.strip().splitlines()) <= 20
    env = dict(os.environ, EDGEFM_RESULTS=str(tmp_path))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout == shown


def test_results_page_falls_back_to_the_gallery_then_says_there_are_no_results(results, tmp_path, monkeypatch):
    empty, figs = tmp_path / "empty", tmp_path / "figs"
    empty.mkdir()
    figs.mkdir()
    monkeypatch.setattr(sitegen, "GALLERY", tmp_path / "no-gallery")
    assert "No results yet" in sitegen.results_page(empty, figs)
    res = shutil.copytree(results, tmp_path / "results")
    for stem in sitegen.HEADLINE_FIGURES:
        shutil.copy2(res / "figures" / "00_fig2_network.png", res / "figures" / f"{stem}.png")
    gal = tmp_path / "gallery"
    sitegen.make_gallery(res, gal, allow_quick=True)
    monkeypatch.setattr(sitegen, "GALLERY", gal)
    page_md = sitegen.results_page(empty, figs)  # no run in the results folder: the gallery's numbers
    assert "committed gallery" in page_md and "Quick run" in page_md  # the gallery says what run it holds
    rows = sitegen.headline_rows(sitegen.read_summaries(res / "summaries"), res / "sweeps")
    for r in rows:
        assert f"| {r['method']} | {r['load']}× | {r['n']} | {r['on_time']:,.3f} | [{r['on_time_low']:,.3f}, " in page_md
    assert sorted(p.name for p in figs.iterdir()) == sorted(f"{s}.png" for s in sitegen.HEADLINE_FIGURES)


def test_results_page_reads_a_quick_run_under_results_quick(results, tmp_path, monkeypatch):
    """After `make quick` alone (no full run, no gallery) the page shows the quick run's numbers, marked."""
    monkeypatch.setattr(sitegen, "GALLERY", tmp_path / "no-gallery")
    root, figs = tmp_path / "results", tmp_path / "figs"
    figs.mkdir()
    shutil.copytree(results, root / "quick")
    page_md = sitegen.results_page(root, figs)
    assert "Quick run" in page_md and "No results yet" not in page_md
    rows = sitegen.headline_rows(sitegen.read_summaries(root / "quick" / "summaries"), root / "quick" / "sweeps")
    assert rows and all(f"| {r['method']} | {r['load']}× | {r['n']} |" in page_md for r in rows)


def test_gallery_provenance_names_each_commit_with_its_notebooks():
    """A gallery mixing notebooks re-run at a later commit says which commit made which notebook."""
    man = {"commit": "c2", "notebooks": [{"notebook": "05_fig3_strategies.ipynb", "commit": "c1"},
                                         {"notebook": "06_fig4_load.ipynb", "commit": "c2"},
                                         {"notebook": "00_system_model.ipynb", "commit": "c0"},
                                         {"notebook": "10_edgefm_method.ipynb", "commit": "c1"}]}
    per = sitegen._notebook_commits(man, ["05", "06", "10"])
    assert per == {"05_fig3_strategies.ipynb": "c1", "06_fig4_load.ipynb": "c2", "10_edgefm_method.ipynb": "c1"}
    text = sitegen._provenance({"commit": "c2", "notebooks": per})
    assert text == "at commits `c1` (notebooks 05, 10) and `c2` (notebooks 06)"
    same = sitegen._provenance({"commit": "c2",
                                "notebooks": {"05_fig3_strategies.ipynb": "c2", "06_fig4_load.ipynb": "c2"}})
    assert same == "at commit `c2`"
