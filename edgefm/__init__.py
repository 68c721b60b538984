"""edgefm: microservice-based foundation-model inference at the network edge.

Tier 1 places core microservices with an integer program (SCIP); tier 2
orchestrates light microservices each slot with effective capacity and
Lyapunov drift-plus-penalty; a slotted simulator measures on-time completion
and cost. The model and its equations (E1–E21) are in ``docs/model.md`` (derived on the paper's
scenario in ``notebooks/00_system_model.ipynb``).

The public API is flat: ``edgefm.sample_scenario``, ``edgefm.Network``, ...
Heavy modules (solvers, plotting, dask) load on first use.
"""
from __future__ import annotations

import importlib

from ._version import __version__
from .errors import (DecisionError, EdgeFMError, InfeasibleError, ScenarioError, SimulationError, SolverError,
                     TimeLimitWarning)
from .paths import data_path
from .rng import as_generator, stream, streams
from .scenario import Scenario, ScenarioSpec, load_scenario, load_spec, sample_scenario

# name -> module holding it; imported lazily on first attribute access
_LAZY = {
    # network (E1-E2)
    "Network": "edgefm.network",
    "network": "edgefm.network",
    "transfer_delay": "edgefm.network",
    # effective capacity (E20-E21)
    "effective_capacity": "edgefm.capacity",
    "effective_bandwidth": "edgefm.capacity",
    "qos_exponent": "edgefm.capacity",
    "delay_bound": "edgefm.delay",
    "delay_table": "edgefm.delay",
    "DelayTable": "edgefm.delay",
    # workload
    "Arrivals": "edgefm.arrivals",
    "make_arrivals": "edgefm.workload",
    "poisson_arrivals": "edgefm.workload",
    "mmpp_arrivals": "edgefm.workload",
    "load_trace": "edgefm.traces",
    "trace_arrivals": "edgefm.traces",
    # tier 1
    "place": "edgefm.placement",
    "Placement": "edgefm.placement",
    "mean_profile": "edgefm.placement",
    # tier 2 and the simulator
    "make_controller": "edgefm.control",
    "METHODS": "edgefm.control",
    "REGISTRY": "edgefm.control",
    "register_method": "edgefm.control.register",
    "unregister_method": "edgefm.control.register",
    "Controller": "edgefm.control.base",
    "Decision": "edgefm.control.base",
    "State": "edgefm.control.base",
    "RunContext": "edgefm.control.base",
    "core_placement": "edgefm.experiments.runner",
    "simulate": "edgefm.sim.engine",
    "Failure": "edgefm.sim.failures",
    "RunResult": "edgefm.sim.result",
    "run_method": "edgefm.experiments.runner",
    "run_sweep": "edgefm.experiments.sweep",
    "topology_spec": "edgefm.scenario.topology",
}


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'edgefm' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = [
    "EdgeFMError", "ScenarioError", "InfeasibleError", "SolverError", "SimulationError", "DecisionError",
    "TimeLimitWarning", "stream", "streams", "as_generator", "Scenario", "ScenarioSpec", "load_spec",
    "load_scenario", "sample_scenario", "data_path", *_LAZY,
]
