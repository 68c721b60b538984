"""Headline numbers of notebooks 05 and 06 (quick mode) against committed references.

The quick sweeps of ``fig3.yaml`` and ``fig4.yaml`` are deterministic given their
seeds, so their mean on-time ratio and cost per (method, load) must match the
references in ``tests/data/summaries/`` (written by a quick run of the notebooks)
within ±0.02 on-time ratio and ±2 % cost: a mismatch means behaviour changed. If
the change is intended, rerun the two notebooks with QUICK=True and copy
``results/summaries/0[56]_summary.json`` here.
"""
from pathlib import Path

import pytest

import edgefm
from edgefm.experiments.bound import bound_table
from edgefm.experiments.summary import (bound_summary, compare_summaries, headline_numbers, read_summary,
                                        write_summary)
from edgefm.experiments.sweep import load_sweep, run_sweep

REF = Path(__file__).parent / "data" / "summaries"


@pytest.mark.parametrize("sweep,name", [("fig3", "05_summary"), ("fig4", "06_summary")])
def test_quick_headline_numbers_match_reference(sweep, name, tmp_path):
    spec = load_sweep(edgefm.data_path("sweeps", f"{sweep}.yaml"))
    df = run_sweep(spec, quick=True, workers=0, out_dir=tmp_path / sweep, progress=False)
    ref = read_summary(REF / f"{name}.json")
    assert ref["quick"] is True and ref["sweep"] == sweep
    bad = compare_summaries(headline_numbers(df), ref["methods"])
    assert not bad, "\n".join(bad)
    # the capacity bound is an LP optimum: it must agree to solver precision
    bounds = bound_summary(bound_table(spec.scenario, sorted(df["seed"].unique()), sorted(df["load"].unique())))
    assert bounds.keys() == ref["bound"].keys()
    for ld, b in bounds.items():
        assert b["mean_share"] == pytest.approx(ref["bound"][ld]["mean_share"], abs=1e-6)
        assert b["overloaded_share"] == ref["bound"][ld]["overloaded_share"]


def test_compare_summaries_flags_changes(tmp_path):
    ref = {"proposed": {"1": {"n": 2, "on_time_ratio": 0.9, "cost_total": 1000.0}}}
    assert compare_summaries(ref, ref) == []
    near = {"proposed": {"1": {"n": 2, "on_time_ratio": 0.915, "cost_total": 1015.0}}}
    assert compare_summaries(near, ref) == []
    far = {"proposed": {"1": {"n": 2, "on_time_ratio": 0.93, "cost_total": 1030.0}}}
    assert len(compare_summaries(far, ref)) == 2
    assert compare_summaries({"proposed": {"1.5": ref["proposed"]["1"]}}, ref)
    p = write_summary("x", {"methods": ref, "nan": float("nan")}, results=tmp_path)
    assert p == tmp_path / "summaries" / "x.json"
    back = read_summary("x", results=tmp_path)
    assert back["methods"] == ref and back["nan"] is None
