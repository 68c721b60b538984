"""Tidy tables from a :class:`~edgefm.sim.result.RunResult` (for figures).

Simulation cells produce a RunResult; these functions turn it into pandas
DataFrames with one row per slot, per task or per stage, which the figure
functions of :mod:`edgefm.plots.sim` read.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

import numpy as np

__all__ = ["slot_table", "task_table", "stage_table"]


def slot_table(res, arrivals) -> "pd.DataFrame":
    """One row per simulated slot: arrivals, waiting stages, light instances."""
    import pandas as pd

    n = len(res.light_instances)
    arr = np.bincount(np.asarray(arrivals.slot), minlength=n)[:n]
    return pd.DataFrame({"slot": np.arange(n), "arrivals": arr, "waiting_stages": res.waiting,
                         "light_instances": res.light_instances})


def task_table(res, scenario) -> "pd.DataFrame":
    """One row per task: type name, latency (inf if unfinished or shed), deadline, outcome
    (``on time``, ``late``, ``unfinished`` or ``shed``)."""
    import pandas as pd

    names = np.array([t.name for t in scenario.task_types])
    lat = res.task_latency
    dl = scenario.deadlines[res.task_type]
    outcome = np.where(~np.isfinite(lat), "unfinished", np.where(lat <= dl + 1e-9, "on time", "late"))
    if res.task_shed is not None:
        outcome = np.where(res.task_shed, "shed", outcome)
    return pd.DataFrame({"task": np.arange(len(lat)), "type": names[res.task_type], "latency_ms": lat,
                         "deadline_ms": dl, "outcome": outcome})


def stage_table(res, scenario, tasks=None) -> "pd.DataFrame":
    """One row per stage of the given tasks (default: all): MS, kind, node, start, finish.

    Needs a run made with ``keep_stages=True``.
    """
    import pandas as pd

    st = res.stages
    if st is None:
        raise ValueError("this run kept no stage data: run it with keep_stages=True")
    sel = np.ones(len(st["task"]), bool) if tasks is None else np.isin(st["task"], np.asarray(tasks))
    ms = st["ms"][sel]
    node = st["node"][sel]
    return pd.DataFrame({
        "task": st["task"][sel],
        "ms": [scenario.microservices[m].name for m in ms],
        "kind": ["core" if scenario.microservices[m].is_core else "light" for m in ms],
        "node": [scenario.nodes[v].name if v >= 0 else "-" for v in node],
        "start_ms": st["start"][sel],
        "finish_ms": st["finish"][sel],
        "arrival_ms": st["task_arrival"][st["task"][sel]],
    })
