"""Notebook outputs show rounded numbers and counts as integers (issue 16, item 4)."""
import numpy as np
import pandas as pd

from edgefm.display import rounded


def test_tables_round_floats_and_show_counts_as_integers():
    df = pd.DataFrame({"tasks": [1953.0, 8291.0], "on_time_ratio": [1.0, 1.0], "cost_core": [265320.0, np.nan],
                       "latency_mean": [17.994119, 28.964595], "name": ["a", "b"], "ok": [True, False]})
    out = rounded(df)
    assert str(out["tasks"].dtype) == "Int64" and list(out["tasks"]) == [1953, 8291]
    assert str(out["cost_core"].dtype) == "Int64" and out["cost_core"].isna().iloc[1]
    assert out["on_time_ratio"].dtype == float  # a ratio of 1.0 stays a ratio
    assert list(out["latency_mean"]) == [17.994, 28.965]
    assert list(out["name"]) == ["a", "b"] and out["ok"].dtype == bool
    assert "8291.0" not in out.to_string() and "17.994119" not in out.to_string()
    assert df["tasks"].dtype == float  # the input is not changed
    costs = pd.DataFrame({1.0: [23798.2, 41396.4], 2.0: [36828.0, 50967.7]})
    assert all(str(t) == "Int64" for t in rounded(costs, 0).dtypes)  # mean costs to whole units: integers


def test_dicts_and_mixed_columns_round_recursively():
    d = {"arrivals": 2780.0, "on_time_ratio": 1.0, "latency_ms": {"mean": 19.72586996398354},
         "cost_parts": {"core_deploy": 1360.0}, "wall_s": 1.2833171090005635, "name": "x"}
    assert rounded(d) == {"arrivals": 2780, "on_time_ratio": 1.0, "latency_ms": {"mean": 19.726},
                          "cost_parts": {"core_deploy": 1360}, "wall_s": 1.283, "name": "x"}
    t = pd.DataFrame({"literal": ["dp", -652746.919004, 273360.0, 0.514706]})
    assert list(rounded(t)["literal"]) == ["dp", -652746.919, 273360, 0.515]
    assert rounded(pd.Series([3.0, 4.0])).tolist() == [3, 4]
