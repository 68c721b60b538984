"""The summary comparators (the notebooks' quick-mode summaries are checked against the
committed references in tests/test_notebooks.py)."""
from edgefm.experiments.summary import compare_summaries, read_summary, write_summary


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


def test_compare_tree_tolerances_and_timing_keys():
    from edgefm.experiments.summary import compare_tree

    ref = {"a": {"on_time_ratio": 0.9, "cost_total": 1000.0, "n": 3, "placement_seconds": 1.0}, "tag": "x"}
    assert compare_tree(ref, ref) == []
    ok = {"a": {"on_time_ratio": 0.915, "cost_total": 1015.0, "n": 3, "placement_seconds": 9.0}, "tag": "x"}
    assert compare_tree(ok, ref) == []
    bad = {"a": {"on_time_ratio": 0.95, "cost_total": 1100.0, "n": 4}, "tag": "y", "extra": 1}
    out = compare_tree(bad, ref)
    assert len(out) == 5 and any("a/n" in o for o in out) and any("extra" in o for o in out)


def test_compare_tree_walks_lists_item_by_item():
    """A table stored as a list of records: timing keys inside items are skipped, values keep their tolerance."""
    from edgefm.experiments.summary import compare_tree

    ref = {"table": [{"method": "a", "on_time": 0.9, "decision_ms_p99": 0.3}, {"method": "b", "on_time": 0.5}]}
    new = {"table": [{"method": "a", "on_time": 0.91, "decision_ms_p99": 0.5}, {"method": "b", "on_time": 0.5}]}
    assert compare_tree(new, ref) == []
    new["table"][1]["on_time"] = 0.6
    assert compare_tree(new, ref) == ["table[1]/on_time: 0.6 vs reference 0.5 (±0.02)"]
    assert compare_tree({"table": ref["table"][:1]}, ref) == ["table: 1 items vs reference 2"]
