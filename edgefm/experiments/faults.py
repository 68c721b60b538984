"""Fault-tolerance experiment: on-time ratio when one node fails mid-run (docs/model.md §8.5, E17 in §5.5, §5.7).

For each core placement (e.g. E14 with κ = 0, E14 with the searched κ, the N−1 assignment form), each
failed node (or none: the baseline) and each seed, one run of a method (default ``proposed``) on the
same Poisson arrivals fails that node at ``fail_slot`` (:class:`~edgefm.sim.failures.Failure`). Failure
semantics (:mod:`edgefm.sim.engine`): at the next slot boundary the node's core and light instances
vanish; the core jobs in service or queued there, and the light jobs admitted there, return to waiting
(``n_lost_jobs`` counts them) and re-route to surviving instances; a task whose core MS has no
surviving instance can never finish and is counted as unfinished when it passes its deadline.

Outputs are tidy tables: :func:`fault_runs` gives one row per placement × failed node × seed and one
row per placement × failed node × seed × window of ``window`` arrival slots (recovery curves).
:func:`method_fault_runs` is the same experiment with every method on its own placement (the
comparison of methods under one failure, the ``edgefm`` method's plan included).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

__all__ = ["failure_nodes", "placement_summary", "fault_runs", "method_fault_runs", "run_one"]

_TOL = 1e-9


def failure_nodes(scenario, seed: int = 0, n_ed: int = 1, kinds=("ES",)) -> list[str]:
    """Names of the nodes to fail: every node of ``kinds`` plus ``n_ed`` random EDs (seeded stream ``faults``)."""
    from ..rng import stream

    names = [n.name for n in scenario.nodes if n.kind in kinds]
    eds = [n.name for n in scenario.nodes if n.kind == "ED"]
    if n_ed and eds:
        pick = stream(seed, "faults").choice(len(eds), size=min(n_ed, len(eds)), replace=False)
        names += [eds[i] for i in sorted(pick)]
    return names


def placement_summary(scenario, placements: dict) -> "pd.DataFrame":
    """One row per placement: instances, sites, core cost, and how exposed it is to one node failure.

    ``single_homed`` counts core MSs hosted on one node only (a failure there removes the MS);
    ``max_share_<node>`` is the largest fraction of any core MS's instances on that node.
    """
    import pandas as pd

    rows = []
    core = list(scenario.core_ms)
    for name, p in placements.items():
        x = np.asarray(getattr(p, "x", p))[:, core]
        homes = np.count_nonzero(x, axis=0)
        row = {"placement": name, "instances": int(x.sum()), "sites": int(np.count_nonzero(x)),
               "cost_core": float(getattr(p, "cost_core", np.nan)), "kappa": getattr(p, "kappa", None),
               "min_nodes_per_ms": int(homes.min()), "single_homed": int((homes <= 1).sum())}
        share = x / np.maximum(x.sum(axis=0, keepdims=True), 1)
        for v, nd in enumerate(scenario.nodes):
            if x[v].any():
                row[f"max_share_{nd.name}"] = float(share[v].max())
        rows.append(row)
    return pd.DataFrame(rows)


def run_one(scenario, x, node: int | None, seed: int, fail_slot: int, n_slots: int, window: int,
            method: str = "proposed", overrides: dict | None = None,
            core_startup_ms: float = 0.0) -> tuple[dict, list[dict]]:
    """One run (failure of ``node`` at ``fail_slot``, or none) → (run row, window rows).

    ``overrides`` are controller parameters and ``core_startup_ms`` the start-up of core instances
    added during the run (both as in :func:`~edgefm.experiments.runner.run_method`).

    The run row carries the on-time ratio overall / before / after the failure slot, ``n_lost_jobs``,
    the conservation terms, and ``stages_after_failure``: stages that finish on the failed node after
    the failure took effect (must be 0).
    """
    from ..sim.failures import Failure
    from ..workload import poisson_arrivals
    from .runner import run_method

    dt = scenario.slot_ms
    arr = poisson_arrivals(scenario, seed, n_slots=n_slots)
    fails = [] if node is None else [Failure(node=int(node), at_ms=fail_slot * dt)]
    res = run_method(scenario, method, seed, arrivals=arr, placement=_plan(x), failures=fails, keep_stages=True,
                     overrides=overrides, core_startup_ms=core_startup_ms)
    st = res.stages
    slot = np.asarray(st["task_slot"])
    ok = res.task_latency <= np.asarray(st["task_deadline"]) + _TOL
    after = slot >= fail_slot
    t_fail = np.ceil(fail_slot * dt / dt) * dt  # effective at the next slot boundary
    bad = 0
    if node is not None:
        fin = np.asarray(st["finish"])
        bad = int(np.count_nonzero((np.asarray(st["node"]) == node) & np.isfinite(fin) & (fin > t_fail + _TOL)))
    shed = res.task_shed if res.task_shed is not None else np.zeros(len(res.task_latency), bool)
    row = dict(seed=seed, method=method, arrivals=res.arrivals, on_time=res.on_time, late=res.late,
               unfinished=res.unfinished, shed=res.shed, on_time_ratio=res.on_time_ratio,
               on_time_before=float(ok[~after].mean()) if (~after).any() else np.nan,
               on_time_after=float(ok[after].mean()) if after.any() else np.nan,
               unfinished_after=int(np.count_nonzero(after & ~np.isfinite(res.task_latency) & ~shed)),
               n_lost_jobs=int(res.counters.get("lost_jobs", 0)), stages_after_failure=bad,
               core_added=int(res.counters.get("core_added", 0)),
               slots_match_arrivals=bool(np.array_equal(np.sort(slot), np.sort(arr.slot))),
               cost_total=res.cost_total, latency_p95=res.latency_ms["p95"], wall_s=res.wall_s)
    wins = []
    for w0 in range(0, n_slots, window):
        sel = (slot >= w0) & (slot < w0 + window)
        wins.append(dict(seed=seed, window_start=w0, since_failure=w0 - fail_slot, tasks=int(sel.sum()),
                         on_time_ratio=float(ok[sel].mean()) if sel.any() else np.nan))
    return row, wins


def _plan(p):
    """What a run is placed with: an ``edgefm`` plan as is (it keeps its light pools and admission
    rates), any other placement as its (V, M) core counts."""
    return p if hasattr(p, "light_x") else np.asarray(getattr(p, "x", p))


def _job(args):
    scenario, pname, x, label, node, seed, fail_slot, n_slots, window, method = args
    name, over, run_opts = _variant(method)
    row, wins = run_one(scenario, x, node, seed, fail_slot, n_slots, window, name, over, **run_opts)
    tag = dict(placement=pname, failed=label)
    return {**tag, **row}, [{**tag, **w} for w in wins]


def _variant(method):
    """``name`` or ``(name, overrides)`` or ``(name, overrides, run options)`` → the three parts."""
    if isinstance(method, str):
        return method, None, {}
    name, over, *opts = method
    return name, dict(over or {}), dict(opts[0]) if opts else {}


def fault_runs(scenario, placements: dict, nodes, seeds=(0,), fail_slot: int = 400, n_slots: int = 1000,
               window: int = 50, method: str = "proposed", baseline: bool = True, workers: int | None = 0):
    """Run every placement × failed node (plus the no-failure baseline) × seed.

    Parameters
    ----------
    scenario : Scenario
    placements : dict of str → Placement, Provision or (V, M) array
        (a :class:`~edgefm.placement.provision.Provision` keeps its light pools and admission
        rates when run by the ``edgefm`` method)
    nodes : sequence of str
        Node names to fail, one per run.
    seeds : sequence of int
        Arrival / service seeds (paired: every placement sees the same arrivals per seed).
    method : str or dict of str → str
        The tier-2 method of every placement, or per placement name (default ``proposed``); a method
        may also be ``(name, overrides)`` or ``(name, overrides, {"core_startup_ms": ...})``.
    fail_slot : int
        The failure takes effect at this slot boundary.
    n_slots : int
        Arrival horizon T; the run then drains.
    window : int
        Width (slots) of the recovery windows, by arrival slot.
    baseline : bool
        Add a ``failed="none"`` run per placement and seed.
    workers : int, optional
        Processes (0 = serial in-process; ``None`` = ``os.cpu_count()``). Results do not depend on it.

    Returns
    -------
    runs : DataFrame
        One row per placement × failed × seed (see :func:`run_one`).
    windows : DataFrame
        One row per placement × failed × seed × window: ``window_start``, ``since_failure``, ``tasks``,
        ``on_time_ratio``.
    """
    import pandas as pd

    labels = (["none"] if baseline else []) + list(nodes)
    jobs = []
    for pname, p in placements.items():
        x = _plan(p)
        for label in labels:
            node = None if label == "none" else scenario.node_index(label)
            for seed in seeds:
                meth = method.get(pname, "proposed") if isinstance(method, dict) else method
                jobs.append((scenario, pname, x, label, node, int(seed), int(fail_slot), int(n_slots), int(window),
                             meth))
    workers = os.cpu_count() if workers is None else int(workers)
    if workers and workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as ex:
            out = list(ex.map(_job, jobs))
    else:
        out = [_job(j) for j in jobs]
    runs = pd.DataFrame([r for r, _ in out])
    wins = pd.DataFrame([w for _, ws in out for w in ws])
    cat = pd.CategoricalDtype(labels, ordered=True)
    pcat = pd.CategoricalDtype(list(placements), ordered=True)
    for df in (runs, wins):
        df["failed"] = df["failed"].astype(cat)
        df["placement"] = df["placement"].astype(pcat)
    return runs, wins


def method_fault_runs(scenario, methods, nodes, seeds=(0,), fail_slot: int = 400, n_slots: int = 1000,
                      window: int = 50, workers: int | None = 0, time_limit: float | None = 60.0,
                      variants: dict | None = None):
    """Every method on its own core placement, one failed node per run (plus no failure).

    The methods' comparison under one failure: each method places its core as it would without a
    failure (E14 for the paper's methods, E24 for ``edgefm``, their own for lbrr and ga), and every
    method sees the same arrivals and the same failure per seed (paired).

    Parameters
    ----------
    scenario : Scenario
    methods : sequence of str
        Names of :data:`edgefm.control.REGISTRY`.
    nodes, seeds, fail_slot, n_slots, window, workers
        As in :func:`fault_runs`.
    time_limit : float, optional
        Seconds per placement solve (see :func:`edgefm.experiments.runner.core_placement`).
    variants : dict of str → tuple, optional
        Further rows: label → ``(method, overrides)`` or ``(method, overrides, {"core_startup_ms": ms})``,
        run on that method's own placement (e.g. a controller option switched off).

    Returns
    -------
    runs, windows : DataFrame
        As in :func:`fault_runs`, the ``placement`` column naming the method (or variant).
    """
    from ..control import REGISTRY
    from .runner import core_placement

    spec = {m: m for m in methods}
    spec.update(variants or {})
    placements = {}
    for label, meth in spec.items():
        name = _variant(meth)[0]
        if name not in REGISTRY:
            raise ValueError(f"variant {label!r}: unknown method {name!r}")
        placements[label] = core_placement(scenario, REGISTRY[name].placement, None, time_limit)[0]
    return fault_runs(scenario, placements, nodes, seeds=seeds, fail_slot=fail_slot, n_slots=n_slots,
                      window=window, method=spec, workers=workers)
