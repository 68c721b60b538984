"""The controller interface between the simulator and the tier-2 methods.

Each slot the engine hands a controller a :class:`State` (read-only views of
the engine's arrays) and applies the :class:`Decision` it returns: how many
instances of each light MS run on each node, their parallelism cap y, and the
node each waiting light stage is routed to. The engine enforces resource
feasibility (E8) and raises :class:`~edgefm.errors.DecisionError` naming the
node and the resource when a decision violates it.

A new method is one class with ``reset`` and ``decide`` and one registry entry
(:data:`edgefm.control.REGISTRY`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["State", "Decision", "Controller", "RunContext", "CoreView"]


@dataclass
class RunContext:
    """What a controller learns once, at :meth:`Controller.reset`.

    ``core_x`` is the core placement (V × M instance counts), ``n_tasks`` the
    number of tasks of the run (task ids are 0 … n_tasks−1, in arrival order),
    ``task_user`` the user of each task, ``rng`` the controller's own random
    stream (``"policy"``).
    """

    scenario: object
    network: object
    core_x: np.ndarray
    n_tasks: int
    task_type: np.ndarray
    task_arrival_ms: np.ndarray
    task_deadline_ms: np.ndarray
    rng: np.random.Generator
    options: dict = field(default_factory=dict)
    task_user: np.ndarray | None = None


@dataclass
class State:
    """The engine's state at the start of slot ``t`` (time ``now`` ms).

    Waiting light stages (all parents finished, not yet routed), in engine
    order (oldest task first):

    - ``stage``, ``stage_ms``, ``stage_task`` : int arrays of length S.
    - ``ready`` : (S, V) data-ready time (ms) of each waiting stage at each
      node: when its inputs would arrive there (E3–E4); never earlier than ``now``.

    Light instances (one row per instance, length I):

    - ``inst_node``, ``inst_ms`` : int arrays; ``inst_jobs`` admitted unfinished
      jobs; ``inst_backlog`` remaining work (MB) of those jobs.

    Aggregates: ``light_counts`` (V, M) instances, ``busy_counts`` (V, M)
    instances with admitted jobs (cannot be removed), ``parallelism`` (V, M)
    current y, ``free_capacity`` (V, K) resources left after core and current
    light instances (0 on a node that is down), ``node_up`` (V,) bool,
    ``active_tasks`` ids of tasks arrived and not finished.
    """

    t: int
    now: float
    stage: np.ndarray
    stage_ms: np.ndarray
    stage_task: np.ndarray
    ready: np.ndarray
    inst_node: np.ndarray
    inst_ms: np.ndarray
    inst_jobs: np.ndarray
    inst_backlog: np.ndarray
    light_counts: np.ndarray
    busy_counts: np.ndarray
    parallelism: np.ndarray
    free_capacity: np.ndarray
    node_up: np.ndarray
    _active: object = field(default=None, repr=False)
    _core: object = field(default=None, repr=False)

    @property
    def core(self) -> "CoreView":
        """The core tier at the start of the slot (computed on first use); see :class:`CoreView`."""
        if callable(self._core):
            self._core = self._core()
        return self._core

    @property
    def active_tasks(self) -> np.ndarray:
        """Ids of tasks that have arrived and not finished (computed on first use)."""
        if callable(self._active):
            self._active = self._active()
        return self._active

    @property
    def n_waiting(self) -> int:
        return len(self.stage)


@dataclass(frozen=True)
class CoreView:
    """Read-only view of the core tier for controllers that look past the light stages.

    - ``inst_ms``, ``inst_node`` : (I,) int, MS and node of each core instance;
      ``inst_free_at`` : (I,) float, time (ms) its dispatched jobs end (≤ now when
      idle); ``inst_up`` : (I,) bool; ``inst_alive`` : (I,) bool, False once the instance was
      removed (``Decision.core_counts``; its node may be down while it is alive).
    - ``wait_stage``, ``wait_ms``, ``wait_task`` : (W,) int, core stages released
      and not yet dispatched, by MS, oldest task first within an MS.
    """

    inst_ms: np.ndarray
    inst_node: np.ndarray
    inst_free_at: np.ndarray
    inst_up: np.ndarray
    wait_stage: np.ndarray
    wait_ms: np.ndarray
    wait_task: np.ndarray
    inst_alive: np.ndarray | None = None


@dataclass
class Decision:
    """A controller's decision for one slot.

    - ``light_counts`` : (V, M) desired light instance counts (core columns
      ignored); ``None`` keeps the current counts. Counts below the busy count
      are raised to it (busy instances are never removed).
    - ``parallelism`` : (V, M) array or scalar y ≥ 1 (admission cap per
      instance); ``None`` keeps the current caps.
    - ``route`` : (S,) node index for each waiting stage of the state, −1 to
      keep it waiting. A routed stage joins the least-occupied instance of its
      MS on that node that has admission room; if none has room it stays
      waiting (counted as an overflow).
    - ``core_counts`` : (V, M) desired core instance counts (light columns ignored); ``None`` (the
      paper: a static core tier) keeps them. Idle instances are removed, newest first; added ones
      serve from the next slot (after the engine option ``core_startup_ms``) and pay E6's c_dp once
      (:mod:`edgefm.sim.core_pool`).
    - ``shed`` : task ids to drop now (admission control). A shed task is
      final: its waiting stages (light and core) and its queued light jobs
      that have not started are removed, its later stages are never released,
      and it is counted in ``RunResult.shed``, never as on time. Work already
      in service finishes (and is wasted). Finished tasks are ignored.
    """

    light_counts: np.ndarray | None = None
    parallelism: np.ndarray | int | None = None
    route: np.ndarray | None = None
    shed: np.ndarray | None = None
    core_counts: np.ndarray | None = None


@runtime_checkable
class Controller(Protocol):
    """What the engine needs from a tier-2 method.

    Optional attribute ``hold_core`` (bool, read after :meth:`reset`): when true, a waiting core
    stage is dispatched only once it can start within the current slot, so that no core instance
    idles while the stage's data travel to it (docs/model.md E30); the default (absent or false)
    is the paper's rule, docs/model.md §6.6.
    """

    name: str

    def reset(self, ctx: RunContext) -> None:
        """Prepare for a run (called once before slot 0)."""

    def decide(self, state: State) -> Decision:
        """Decide light instances, parallelism and routing for this slot."""
