"""Burstiness studies (notebook 08): arrival processes at the same mean load."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

import numpy as np

__all__ = ["PROCESSES", "RESIZED", "burstiness_table", "arrival_series", "paired_delta", "resize_study", "resize_effect"]

#: Arrival processes compared, in display order.
PROCESSES = ("poisson", "mmpp", "code", "conv")


def burstiness_table(scenario, seed: int = 0, processes=PROCESSES, n_slots: int | None = None) -> "pd.DataFrame":
    """Per process: tasks, mean rate, index of dispersion of per-slot counts, peak slot, payload and work.

    The index of dispersion Var/mean of the per-slot task count is 1 for
    Poisson arrivals and grows with burstiness.
    """
    import pandas as pd

    from ..workload import make_arrivals

    rows = []
    for p in processes:
        a = make_arrivals(scenario, seed, p, n_slots=n_slots)
        c = a.per_slot_counts()
        rows.append({"process": p, "tasks": len(a), "rate_per_ms": float(c.mean() / scenario.slot_ms),
                     "dispersion": float(c.var() / c.mean()) if c.mean() > 0 else float("nan"),
                     "peak_per_slot": int(c.max()), "mean_input_mb": float(np.mean(a.input_mb)),
                     "mean_work_scale": float(np.mean(a.work_scale))})
    return pd.DataFrame(rows)


def arrival_series(scenario, seed: int = 0, processes=PROCESSES, n_slots: int | None = None) -> "pd.DataFrame":
    """Tidy per-slot task counts of each process (columns process, slot, tasks)."""
    import pandas as pd

    from ..workload import make_arrivals

    frames = []
    for p in processes:
        c = make_arrivals(scenario, seed, p, n_slots=n_slots).per_slot_counts()
        frames.append(pd.DataFrame({"process": p, "slot": np.arange(len(c)), "tasks": c}))
    return pd.concat(frames, ignore_index=True)


def paired_delta(df, metric: str, by: str = "process", baseline: str = "poisson",
                 pair=("seed", "method", "load")) -> "pd.DataFrame":
    """Per method and process: mean of ``metric`` minus its value in the ``baseline``
    process on the same (seed, method, load), with a normal 95 % interval.

    Pairing on the seed removes the scenario-to-scenario spread (docs/model.md §8.4).
    """
    import pandas as pd

    base = df[df[by] == baseline].set_index(list(pair))[metric]
    rows = []
    for (method, proc), g in df.groupby(["method", by], sort=False):
        d = g.set_index(list(pair))[metric] - base.reindex(g.set_index(list(pair)).index)
        d = d.dropna()
        n = len(d)
        half = 1.96 * d.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
        rows.append({"method": method, by: proc, "n": n, f"delta_{metric}": float(d.mean()) if n else float("nan"),
                     "ci95": float(half)})
    return pd.DataFrame(rows)


#: Label of the ``edgefm`` rows run with online core re-sizing (E31) in notebook 08.
RESIZED = "edgefm + E31"


def resize_study(seeds=(0, 1, 2), every: int = 20, processes=PROCESSES, quick: bool = False,
                 workers: int | None = None, progress: bool = True) -> "pd.DataFrame":
    """``edgefm`` with online core re-sizing every ``every`` slots (docs/model.md E31) on each arrival
    process, the cells of the traces sweep otherwise (paper scenario, load 1, T = 1000); rows labelled
    :data:`RESIZED`. ``quick``: seed 0, 100 slots (the traces sweep's quick block)."""
    from ..paths import data_path
    from .sweep import SweepSpec, run_sweep

    ovs = tuple({"arrivals": p, "controller": {"resize": int(every)}} for p in processes)
    spec = SweepSpec(name="traces_resize", scenario=str(data_path("scenarios/paper.yaml")),
                     seeds=tuple(int(s) for s in seeds), methods=("edgefm",), loads=(1.0,), overrides=ovs,
                     quick={"seeds": [int(seeds[0])], "horizon_slots": 100})
    df = run_sweep(spec, quick=quick, workers=workers, progress=progress)
    return df.assign(method=RESIZED)


def resize_effect(df, resized) -> "pd.DataFrame":
    """Per process: ``edgefm`` and :data:`RESIZED` side by side (means over the seeds): on-time ratio,
    total cost, shed tasks and the core instances E31 added and removed."""
    import pandas as pd

    both = pd.concat([df[df["method"] == "edgefm"], resized], ignore_index=True)
    cols = [c for c in ("on_time_ratio", "cost_total", "shed", "n_core_added", "n_core_removed") if c in both]
    return both.groupby(["process", "method"], sort=False)[cols].mean()
