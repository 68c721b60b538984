"""Concrete, immutable scenario objects (docs/model.md §1, §2, §8.1).

A :class:`Scenario` is one fully specified instance: every value drawn, every
name resolved to an index. It is what the network, placement, control and
simulation modules consume. Scenarios are built by
:func:`edgefm.scenario.sample_scenario` from a validated
:class:`~edgefm.scenario.spec.ScenarioSpec` (a YAML file whose numbers may be
ranges), never by hand-editing arrays.

Units: time in ms, data in MB, rates in MB/ms, arrival rates in tasks/ms.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

__all__ = [
    "RESOURCES",
    "Node",
    "Link",
    "Microservice",
    "TaskType",
    "User",
    "Uplink",
    "PlacementParams",
    "ControlParams",
    "Scenario",
    "MAX_LOAD",
    "MAX_HORIZON",
    "check_load",
    "check_horizon",
]

#: The four resource types of the model (K = 4), in this order everywhere.
RESOURCES: tuple[str, ...] = ("cpu", "ram", "gpu", "vram")


def _frozen(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Node:
    """A node: an edge server (``kind="ES"``) or edge device (``"ED"``).

    ``capacity`` holds R_{v,k} for the K resources of :data:`RESOURCES`.
    """

    name: str
    kind: str
    capacity: tuple[float, ...]


@dataclass(frozen=True)
class Link:
    """An undirected wired link with rate w_e (MB/ms) and propagation p_e (ms)."""

    u: int
    v: int
    rate: float
    propagation: float = 0.0


@dataclass(frozen=True)
class Microservice:
    """A microservice m (docs/model.md §2).

    Core MSs process at the deterministic rate ``rate`` (f_m, MB/ms); light MSs
    draw their rate each slot from Gamma(``shape`` k_m, ``scale`` β_m), with
    mean k_m β_m. ``work`` is a_m (MB of input per job), ``output`` is b_m (MB).
    Costs: deployment c_dp, maintenance per slot c_mt, parallelism c_pl (E6–E7).
    """

    name: str
    kind: str  # "core" | "light"
    resources: tuple[float, ...]
    work: float
    output: float
    rate: float | None = None
    shape: float | None = None
    scale: float | None = None
    cost_deploy: float = 0.0
    cost_maintain: float = 0.0
    cost_parallel: float = 0.0

    @property
    def is_core(self) -> bool:
        return self.kind == "core"

    @property
    def mean_rate(self) -> float:
        """Mean processing rate f̄_m: f_m for core, k_m β_m for light."""
        return self.rate if self.is_core else self.shape * self.scale

    @property
    def mean_service_ms(self) -> float:
        """Mean processing time of one job, a_m / f̄_m."""
        return self.work / self.mean_rate


@dataclass(frozen=True)
class TaskType:
    """A task type n: an inverse-tree DAG over microservices (docs/model.md §2).

    ``stages`` lists MS indices in a topological order (parents before
    children); ``child[i]`` is the stage index fed by stage i (−1 for the sink).
    Every root receives the full input ``input_mb`` (A_n); ``deadline_ms`` is D_n.
    """

    name: str
    stages: tuple[int, ...]
    child: tuple[int, ...]
    input_mb: float
    deadline_ms: float

    @property
    def n_stages(self) -> int:
        return len(self.stages)

    @cached_property
    def parents(self) -> tuple[tuple[int, ...], ...]:
        """Stage indices feeding each stage (empty for roots)."""
        out: list[list[int]] = [[] for _ in self.stages]
        for i, c in enumerate(self.child):
            if c >= 0:
                out[c].append(i)
        return tuple(tuple(p) for p in out)

    @property
    def roots(self) -> tuple[int, ...]:
        return tuple(i for i, p in enumerate(self.parents) if not p)

    @property
    def sink(self) -> int:
        return self.child.index(-1)

    def descendants(self, i: int) -> tuple[int, ...]:
        """Stages strictly after stage i on its path to the sink."""
        out = []
        c = self.child[i]
        while c >= 0:
            out.append(c)
            c = self.child[c]
        return tuple(out)


@dataclass(frozen=True)
class User:
    """A user attached to gateway node ``gateway`` issuing each task type n as
    a Poisson stream with base rate ``rates[n]`` tasks/ms (before the load
    multiplier)."""

    name: str
    gateway: int
    rates: tuple[float, ...]


@dataclass(frozen=True)
class Uplink:
    """Optional wireless uplink (E1): τ_ul = A_n / (bandwidth · log2(1 + γ)),
    γ = snr · g with Nakagami-m power gain g ~ Gamma(m, Ω/m). Off by default."""

    enabled: bool = False
    bandwidth: float = 1.0  # MB/ms per bit/s/Hz of spectral efficiency
    snr: float = 10.0  # mean linear SNR
    nakagami_m: float = 2.0
    omega: float = 1.0


@dataclass(frozen=True)
class PlacementParams:
    """Tier-1 parameters (docs/model.md §5.2–5.6): ξ, δ, ρ, u_min, κ, resource reserve.

    ``kappa`` is an int (fixed diversity floor) or ``None`` (search with ρ).
    ``variant`` is ``"literal"`` (E14 as printed) or ``"bounded"``.
    """

    xi: float = 3.0
    delta: float = 0.01
    rho: float = 0.95
    u_min: float = -1.0
    kappa: int | None = None
    reserve: float = 0.0
    variant: str = "literal"
    spare: int = 1


@dataclass(frozen=True)
class ControlParams:
    """Tier-2 parameters (docs/model.md §6): ε, η (the Lyapunov V), y_max, H_min,
    admission window W, keep-alive slots for idle light instances (0 = the
    paper's teardown), and the method-specific knobs of the baselines."""

    epsilon: float = 0.2
    eta: float = 1.0
    y_max: int = 20
    h_min: float = 1.0
    window_ms: float = 1.0
    keep_alive: int = 0
    ga_population: int = 10
    ga_generations: int = 30
    ga_mutation: float = 0.1
    hpa_target: float = 0.6
    hpa_window: int = 50


#: Largest load multiplier (file ``load``, ``--load``, sweep ``loads``, ``Scenario.with_load``). It
#: scales rates that are themselves at most :data:`~edgefm.scenario.spec.MAX_VALUE` (1e12), so λ
#: stays below 1e18 tasks/ms, inside the exact range of the int64 counts built from it (instance
#: counts, Poisson draws); a million times a file's demand is a different scenario, not a load
#: study, and already far beyond what a run can simulate (:data:`edgefm.arrivals.MAX_TASKS`).
MAX_LOAD = 1e6


#: Longest horizon in slots (file ``horizon_slots``, ``--slots``, sweep ``horizon_slots``, a run's
#: ``n_slots``): the engine keeps per-slot arrays (a few hundred bytes a slot), so 10^6 slots stay
#: within a few hundred MB.
MAX_HORIZON = 1_000_000


def check_horizon(slots: int, field: str = "horizon_slots", source: str | None = None) -> int:
    """``slots`` if it is at most :data:`MAX_HORIZON` (the caller checks that it is a count).

    Raises
    ------
    ~edgefm.errors.ScenarioError
        Naming ``source`` and ``field`` and the reason.
    """
    if slots > MAX_HORIZON:
        from ..errors import ScenarioError as _ScenarioError

        raise _ScenarioError(f"must be at most {MAX_HORIZON:,} slots, got {slots:,} (the engine keeps per-slot "
                             f"arrays)", field=field, source=source)
    return slots


def check_load(load, field: str = "load", source: str | None = None) -> float:
    """``load`` as a float if it is a finite number in [0, :data:`MAX_LOAD`].

    Raises
    ------
    ~edgefm.errors.ScenarioError
        Naming ``source`` and ``field`` and the reason.
    """
    from ..errors import ScenarioError as _ScenarioError

    if isinstance(load, bool) or not isinstance(load, numbers.Real):
        raise _ScenarioError(f"must be a number, got {load!r}", field=field, source=source)
    try:
        x = float(load)
    except OverflowError:
        x = math.inf
    if not (math.isfinite(x) and x >= 0):
        raise _ScenarioError(f"must be a finite number >= 0, got {load!r}", field=field, source=source)
    if x > MAX_LOAD:
        raise _ScenarioError(f"must be at most {MAX_LOAD:g}, got {x:g} (a load multiplier scales the file's "
                             f"rates; larger ones overflow the placement's counts)", field=field, source=source)
    return x


@dataclass(frozen=True)
class Scenario:
    """One concrete scenario: topology, microservices, task types, users, demand.

    Build with :func:`edgefm.scenario.sample_scenario`; derive variants with
    :meth:`replace` or :meth:`with_load`. Index order is the order of the tuples.
    """

    name: str
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    microservices: tuple[Microservice, ...]
    task_types: tuple[TaskType, ...]
    users: tuple[User, ...]
    slot_ms: float = 1.0
    horizon_slots: int = 1000
    load: float = 1.0
    uplink: Uplink = field(default_factory=Uplink)
    placement: PlacementParams = field(default_factory=PlacementParams)
    control: ControlParams = field(default_factory=ControlParams)
    seed: int | None = None
    source: str | None = None

    # ---- sizes and lookups -------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_ms(self) -> int:
        return len(self.microservices)

    @property
    def n_types(self) -> int:
        return len(self.task_types)

    @property
    def n_users(self) -> int:
        return len(self.users)

    def node_index(self, name: str) -> int:
        return self._node_idx[name]

    def ms_index(self, name: str) -> int:
        return self._ms_idx[name]

    @cached_property
    def _node_idx(self) -> dict[str, int]:
        return {n.name: i for i, n in enumerate(self.nodes)}

    @cached_property
    def _ms_idx(self) -> dict[str, int]:
        return {m.name: i for i, m in enumerate(self.microservices)}

    # ---- arrays (read-only) --------------------------------------------------
    @cached_property
    def capacity(self) -> np.ndarray:
        """R, shape (V, K)."""
        return _frozen([n.capacity for n in self.nodes])

    @cached_property
    def demand(self) -> np.ndarray:
        """r, shape (M, K): resources one instance of each MS occupies."""
        return _frozen([m.resources for m in self.microservices])

    @cached_property
    def is_core(self) -> np.ndarray:
        a = np.array([m.is_core for m in self.microservices])
        a.setflags(write=False)
        return a

    @cached_property
    def core_ms(self) -> tuple[int, ...]:
        return tuple(int(i) for i in np.flatnonzero(self.is_core))

    @cached_property
    def light_ms(self) -> tuple[int, ...]:
        return tuple(int(i) for i in np.flatnonzero(~self.is_core))

    @cached_property
    def used_ms(self) -> tuple[int, ...]:
        """Microservices that appear in at least one task type (the others are never placed)."""
        used = {int(m) for t in self.task_types for m in t.stages}
        return tuple(m for m in range(self.n_ms) if m in used)

    @cached_property
    def base_rates(self) -> np.ndarray:
        """λ before the load multiplier, shape (U, N), tasks/ms."""
        return _frozen([u.rates for u in self.users])

    @cached_property
    def arrival_rates(self) -> np.ndarray:
        """λ_{u,n} = load × base rate, shape (U, N), tasks/ms."""
        return _frozen(self.load * self.base_rates)

    @cached_property
    def deadlines(self) -> np.ndarray:
        return _frozen([t.deadline_ms for t in self.task_types])

    def uses(self, n: int, m: int) -> bool:
        """Whether task type n contains microservice m."""
        return m in self.task_types[n].stages

    # ---- variants --------------------------------------------------------------
    def replace(self, **changes) -> "Scenario":
        """A copy with fields replaced (``dataclasses.replace``)."""
        return replace(self, **changes)

    def with_load(self, load: float) -> "Scenario":
        """The same draw at another load multiplier (scales λ only).

        Raises
        ------
        ScenarioError
            ``load`` is not a finite number in [0, :data:`MAX_LOAD`] (a
            ``ValueError`` too).
        """
        return replace(self, load=check_load(load))

    def summary(self) -> dict:
        """Headline sizes, for printing."""
        return {
            "name": self.name,
            "seed": self.seed,
            "load": self.load,
            "nodes": self.n_nodes,
            "ES": sum(n.kind == "ES" for n in self.nodes),
            "ED": sum(n.kind == "ED" for n in self.nodes),
            "links": len(self.links),
            "core_ms": len(self.core_ms),
            "light_ms": len(self.light_ms),
            "task_types": self.n_types,
            "users": self.n_users,
            "total_rate_per_ms": float(self.arrival_rates.sum()),
        }
