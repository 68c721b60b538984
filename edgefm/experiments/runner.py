"""One simulation run of a named method: placement, controller, arrivals, engine.

This is the unit every experiment repeats. It wires the rooms together in one
direction: the scenario feeds the placement (tier 1) and the arrival process;
the registry builds the tier-2 controller; the engine runs them and returns a
:class:`~edgefm.sim.result.RunResult`.
"""
from __future__ import annotations

import time
from functools import lru_cache

import numpy as np

from ..sim.engine import simulate
from ..sim.failures import parse_failure
from ..sim.result import RunResult

__all__ = ["core_placement", "run_method", "parse_failure"]

#: Method placements solved by the provisioning program E24 (a plan the controller runs on), and
#: whether each asks for N−1 core capacity (``survivable``).
PLAN_SOLVERS = {"edgefm": False, "edgefm-n1": True}


def _disk_key(scenario, solver, variant, time_limit) -> str:
    import hashlib

    from .._version import __version__

    tag = ""
    if solver in PLAN_SOLVERS:
        from ..placement.provision import PROGRAM_VERSION
        from .calibrate import CALIBRATION_VERSION

        tag = f"|provision-{PROGRAM_VERSION}|calibration-{CALIBRATION_VERSION}"
    text = f"{scenario!r}|{solver}|{variant}|{time_limit}|{__version__}|placement-cache-1{tag}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _cache_dir():
    import os
    from pathlib import Path

    env = os.environ.get("EDGEFM_PLACEMENT_CACHE")
    if env == "off":
        return None
    from ..paths import results_root

    return Path(env) if env else results_root() / "cache" / "placements"


@lru_cache(maxsize=128)
def _placement_cached(scenario, solver: str, variant: str | None, time_limit: float | None):
    """Memory cache in front of a disk cache (``results/cache/placements``), so the
    workers of a sweep solve each draw's placement once, not once per process."""
    import os
    import pickle

    d = None if callable(solver) else _cache_dir()  # a user's callable has no stable key across processes
    path = d / f"{_disk_key(scenario, solver, variant, time_limit)}.pkl" if d is not None else None
    if path is not None and path.exists():
        try:
            return pickle.loads(path.read_bytes())
        except Exception:  # a truncated or stale file: solve again
            pass
    out = _solve_placement(scenario, solver, variant, time_limit)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(out))
        os.replace(tmp, path)
    return out


def _solve_placement(scenario, solver, variant: str | None, time_limit: float | None):
    from ..errors import InfeasibleError
    from ..placement import place

    if callable(solver):  # a registered method's own placement: (V, M) counts or a Placement
        return solver(scenario), scenario.load
    if solver in PLAN_SOLVERS:  # E24 never fails for overload: it admits what the nodes can serve
        from .calibrate import calibrated_plan

        return calibrated_plan(scenario, survivable=PLAN_SOLVERS[solver]), scenario.load

    try:
        return place(scenario, solver=solver, variant=variant, time_limit=time_limit), scenario.load
    except InfeasibleError:
        if scenario.load <= 0:
            raise
    # the nodes cannot host the mean occupancy of this load: size for the largest load they can.
    # Feasibility does not depend on kappa (kappa = 0 is always admissible), so the bisection
    # probes with feasibility-only solves and only the final placement is optimised.
    from ..placement.e14solve import e14_feasible

    lo, hi = 0.0, scenario.load
    for _ in range(5):
        mid = 0.5 * (lo + hi)
        if solver == "greedy" or not e14_feasible(scenario.with_load(mid), variant=variant,
                                                 time_limit=time_limit):
            try:  # greedy has no program to test: probe it directly
                place(scenario.with_load(mid), solver=solver, variant=variant, time_limit=time_limit)
                lo = mid
            except InfeasibleError:
                hi = mid
        else:
            lo = mid
    return place(scenario.with_load(lo), solver=solver, variant=variant, time_limit=time_limit), lo


def core_placement(scenario, solver="scip", variant: str | None = None, time_limit: float | None = 60.0):
    """The core placement a method uses (cached per scenario, solver and variant).

    ``solver`` is a method's ``placement``: ``"scip"`` (E14), ``"greedy"`` (least loaded), another
    :func:`~edgefm.placement.place` solver, or a callable ``placement(scenario)`` registered with
    :func:`edgefm.register_method` (returns a Placement or a (V, M) array; not cached on disk).

    Placements are solved for the load they serve. When the nodes cannot host
    the mean core occupancy of that load (E14 infeasible: the draw is
    overloaded whatever the method), the placement is sized for the largest
    load multiplier that fits (bisection to ~3 %); the returned pair's second
    element says which load that was.

    Returns
    -------
    (Placement, float)
        The placement and the load it was sized for.
    """
    return _placement_cached(scenario, solver, variant, time_limit)


def run_method(scenario, method: str, seed: int = 0, *, arrivals="poisson", n_slots: int | None = None,
               failures=(), placement=None, variant: str | None = None, overrides: dict | None = None,
               time_limit: float | None = 60.0, keep_stages: bool = False,
               core_startup_ms: float = 0.0) -> RunResult:
    """Simulate ``method`` on ``scenario`` with the arrivals of ``seed``.

    Parameters
    ----------
    scenario : Scenario
    method : str
        A name of :data:`edgefm.control.REGISTRY` (``proposed``, ``propavg``,
        ``lbrr``, ``ga``, ``hpa``, ``static``).
    seed : int
        Seed of the arrival, service, channel and policy streams: every method
        sees the same arrivals for the same seed.
    arrivals : str or Arrivals
        ``"poisson"``, ``"mmpp"``, ``"code"``, ``"conv"``, a CSV path, or a
        ready :class:`~edgefm.workload.Arrivals`.
    n_slots : int, optional
        Arrival horizon T (default: the scenario's).
    failures : sequence of Failure
    placement : Placement or array, optional
        Override the method's own core placement (e.g. to compare κ values).
    variant : str, optional
        E14 variant for the method's placement (``literal`` / ``bounded``).
    overrides : dict, optional
        Controller parameters (see :func:`edgefm.control.make_controller`).
    keep_stages : bool
        Keep per-stage start/finish/node arrays in ``RunResult.stages`` (for
        Gantt views; see :mod:`edgefm.sim.tables`).
    core_startup_ms : float
        Start-up time of a core instance a controller adds during the run (E31, E32; the model
        itself has none, docs/model.md §6.6): it serves from the next slot after this many ms.

    Returns
    -------
    RunResult
    """
    from ..control import REGISTRY, make_controller
    from ..arrivals import check_volume
    from ..workload import Arrivals, make_arrivals

    if method not in REGISTRY:
        from ..errors import ScenarioError
        raise ScenarioError(f"unknown method {method!r} (choose from {', '.join(REGISTRY)})", field="method")
    if not isinstance(arrivals, Arrivals):
        check_volume(scenario, n_slots)  # before the placement: a run too large to simulate fails now
    t0 = time.perf_counter()
    # the arrivals before the placement: a malformed trace file fails now, not after a solve
    arr = arrivals if isinstance(arrivals, Arrivals) else make_arrivals(scenario, seed, arrivals, n_slots=n_slots)
    sized_for = scenario.load
    plan_keys = {k: v for k, v in (overrides or {}).items() if k in ("eps", "survivable")}
    solver = REGISTRY[method].placement
    if placement is None and solver in PLAN_SOLVERS and plan_keys:
        from .calibrate import calibrated_plan  # a non-default plan: solved here, not cached on disk

        placement = calibrated_plan(scenario, **{"survivable": PLAN_SOLVERS[solver], **plan_keys})
    if placement is None:
        placement, sized_for = core_placement(scenario, REGISTRY[method].placement, variant, time_limit)
    x = np.asarray(getattr(placement, "x", placement), dtype=int)
    overrides = dict(overrides or {})
    if REGISTRY[method].placement in PLAN_SOLVERS and hasattr(placement, "light_x") and "plan" not in overrides:
        overrides["plan"] = placement  # the controller runs on the plan it was placed with
    ctrl = make_controller(method, scenario, **overrides)
    if not (np.isfinite(core_startup_ms) and core_startup_ms >= 0):
        raise ValueError(f"core_startup_ms must be a finite number >= 0, got {core_startup_ms!r}")
    options = {"keep_stages": keep_stages}
    if core_startup_ms:
        options["core_startup_ms"] = float(core_startup_ms)
    res = simulate(scenario, arr, x, ctrl, seed=seed, failures=failures, options=options)
    extra = {"placement_status": getattr(placement, "status", "given"),
             "placement_seconds": float(getattr(placement, "seconds", 0.0)),
             "placement_load": float(sized_for),
             "total_wall_s": time.perf_counter() - t0}
    if hasattr(ctrl, "shed_admission"):
        extra.update(shed_admission=int(ctrl.shed_admission), shed_hopeless=int(ctrl.shed_hopeless_count),
                     plan_admit_share=float(ctrl.plan.admit_share), localised=int(getattr(ctrl, "localised", 0)),
                     replans=len(getattr(ctrl, "recoveries", ())))
    if getattr(ctrl, "unservable_ms", None) is not None:
        extra["literal_unservable_tasks"] = int(ctrl.unservable_tasks)
    fb = getattr(ctrl, "fallback_uses", None)
    if fb is not None:
        extra["fallback_uses"] = int(fb)
    return res.with_extra(method=method, **extra)
