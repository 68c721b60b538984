"""Figures a reviewer accepts (issue 16, item 4): one colour per method in every figure, from
``edgefm.plots.method_palette``; labels in words, never a raw column name."""
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

import edgefm.plots as plots  # noqa: E402
from edgefm.plots import experiments as xplots  # noqa: E402
from edgefm.plots import faults, method, scale, traces  # noqa: E402

PLOTS = Path(plots.__file__).parent
METHODS = ["proposed", "propavg", "lbrr", "ga", "hpa", "static", "edgefm"]


def colour(handle):
    if isinstance(handle, matplotlib.container.ErrorbarContainer):
        handle = handle[0]
    if isinstance(handle, matplotlib.collections.Collection):
        fc = handle.get_facecolor()
        return to_hex((fc if len(fc) else handle.get_edgecolor())[0])
    if isinstance(handle, matplotlib.lines.Line2D):
        c = handle.get_markerfacecolor() if handle.get_linestyle() in ("None", "", " ") else handle.get_color()
        return to_hex(c)
    return to_hex(handle.get_facecolor())


def legend_colours(fig):
    out = {}
    for ax in fig.axes:
        leg = ax.get_legend()
        hs, ls = ax.get_legend_handles_labels()
        if leg is not None:
            hs, ls = leg.legend_handles, [t.get_text() for t in leg.get_texts()]
        out.update({lab: colour(h) for h, lab in zip(hs, ls) if lab in METHODS})
    plt.close(fig)
    return out


@pytest.fixture(scope="module")
def runs():
    rng = np.random.default_rng(0)
    rows = [{"method": m, "seed": s, "load": ld, "process": p, "on_time_ratio": rng.uniform(0.4, 1),
             "cost_total": rng.uniform(1e4, 5e4), "bound_share": rng.uniform(0.5, 1)}
            for m in METHODS for s in range(3) for ld in (1.0, 2.0) for p in ("poisson", "mmpp")]
    return pd.DataFrame(rows)


def test_the_palette_is_fixed_per_method_whatever_the_subset():
    full = plots.method_palette()
    for subset in (["hpa", "static"], ["static", "hpa"], ["edgefm", "static", "hpa", "proposed"]):
        assert plots.method_palette(subset) == {m: full[m] for m in subset}
    assert len({to_hex(c) for c in full.values()}) == len(full)


def test_every_method_figure_draws_each_method_in_its_palette_colour(runs):
    want = {m: to_hex(c) for m, c in plots.method_palette(METHODS).items()}
    bdf = runs[["seed", "load"]].drop_duplicates().assign(headroom=1.1, share=0.9)
    ci = runs.groupby(["method", "load"], as_index=False)["on_time_ratio"].mean().rename(
        columns={"on_time_ratio": "mean"}).assign(low=lambda d: d["mean"] - 0.05, high=lambda d: d["mean"] + 0.05)
    sc = runs[runs["process"] == "poisson"].assign(
        nodes=lambda d: 10 + 5 * d["seed"], network=lambda d: "net" + d["seed"].astype(str), cost_per_task=1.0,
        placement_solver=lambda d: np.where(d["method"] == "edgefm", "edgefm", "scip"), placement_seconds=0.5,
        decision_ms_median=0.2, decision_ms_p99=2.0)
    figures = {
        "fig3 on-time vs bound": xplots.plot_ontime_vs_bound(runs, bdf, methods=METHODS),
        "fig4 load curves": xplots.plot_load_curves(ci, ci),
        "08 processes": traces.plot_process_comparison(runs),
        "09 scale": scale.plot_scale(sc),
        "10 versus bound": method.plot_versus_bound(runs),
    }
    for name, fig in figures.items():
        got = legend_colours(fig)
        assert set(got) == set(METHODS), (name, sorted(got))
        assert got == want, name


def test_violins_and_paired_differences_use_the_method_colours(runs):
    want = {m: to_hex(c) for m, c in plots.method_palette(METHODS).items()}
    fig = xplots.plot_strategy_violins(runs, methods=["static", "hpa", "edgefm"])
    bodies = [c for c in fig.axes[0].collections if isinstance(c, matplotlib.collections.PolyCollection)]
    assert [to_hex(b.get_facecolor()[0][:3]) for b in bodies[:3]] == [want["static"], want["hpa"], want["edgefm"]]
    plt.close(fig)
    diffs = pd.DataFrame({"method": ["hpa", "static"], "mean_diff": [0.1, -0.1], "t_low": [0.0, -0.2],
                          "t_high": [0.2, 0.0], "boot_low": [0.0, -0.2], "boot_high": [0.2, 0.0]})
    fig = xplots.plot_paired_differences(diffs, "on-time ratio")
    drawn = [to_hex(ln.get_color()) for ln in fig.axes[0].lines if ln.get_marker() == "o"]
    assert drawn == [want["hpa"], want["static"]]
    plt.close(fig)


def test_fault_placements_keep_the_edgefm_colour():
    pal = plots.placement_palette(["E14 κ*", "edgefm", "edgefm N-1", "other"])
    assert pal["edgefm N-1"] == to_hex(plots.method_palette(["edgefm"])["edgefm"])
    assert len(set(pal.values())) == 4


def test_method_figures_take_their_colours_from_the_shared_palette():
    """Source check: a seaborn call colouring by method passes ``palette=``; no method figure picks
    colours from the colour cycle or a fresh ``tab10``."""
    for f in sorted(PLOTS.glob("*.py")):
        src = f.read_text()
        for call in re.findall(r"sns\.\w+\((?:[^()]|\([^()]*\))*\)", src):
            if 'hue="method"' in call:
                assert "palette=" in call, (f.name, call[:80])
        if f.name != "__init__.py":
            assert 'palette="tab10"' not in src and 'color_palette("tab10"' not in src, f.name


def test_axis_labels_and_legend_titles_are_words(runs):
    sc = runs[runs["process"] == "poisson"].assign(
        nodes=12, network="n", cost_per_task=1.0, placement_solver="scip", placement_seconds=0.5,
        decision_ms_median=0.2, decision_ms_p99=2.0)
    wins = pd.DataFrame({"failed": pd.Categorical(["none", "ES1"] * 2), "placement": pd.Categorical(["a"] * 2 + ["b"] * 2),
                         "since_failure": [0, 0, 10, 10], "on_time_ratio": [1.0, 0.5, 1.0, 0.7]})
    figs = [traces.plot_process_comparison(runs), scale.plot_scale(sc), method.plot_versus_bound(runs),
            faults.plot_recovery(wins, 40)]
    raw = set(runs.columns) | set(sc.columns) | set(wins.columns)
    for fig in figs:
        texts = [ax.get_xlabel() for ax in fig.axes] + [ax.get_ylabel() for ax in fig.axes]
        texts += [ax.get_legend().get_title().get_text() for ax in fig.axes if ax.get_legend()]
        bad = [t for t in texts if t in raw and "_" in t]
        assert not bad, bad
        plt.close(fig)
