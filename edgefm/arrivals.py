"""The arrivals table every workload generator returns (docs/model.md §8.2).

:class:`Arrivals` holds one row per task (slot, user, task type, payload, work scale);
:func:`horizon` and :func:`payload_mb` are the two scenario facts every generator needs.
The generators themselves live above this module: Poisson and MMPP in :mod:`edgefm.workload`,
trace replay in :mod:`edgefm.traces`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scenario.schema import Scenario

__all__ = ["Arrivals", "index_of_dispersion", "horizon", "payload_mb", "check_volume", "MAX_TASKS"]

#: Most tasks one run may expect (Σλ·T·Δ): every task holds a row here and per-stage state in the
#: engine, so 10^7 tasks is already several GB.
MAX_TASKS = 10_000_000


def _ro(a, dtype) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=dtype)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Arrivals:
    """The tasks of one run, as a struct of arrays (one entry per task).

    Attributes
    ----------
    slot : ndarray of int64
        Arrival slot t in ``[0, n_slots)``; the task arrives at time t·Δ.
    user, ttype : ndarray of int32
        User index u and task-type index n.
    input_mb : ndarray of float64
        The task's input payload in MB: A_n for Poisson/MMPP; mapped from the
        request's context tokens for trace replay (:mod:`edgefm.traces`).
    work_scale : ndarray of float64
        Multiplier on the per-job work a_m of the task's **core** microservices
        (the foundation-model stages; light stages keep a_m). 1.0 for
        Poisson/MMPP; mapped from generated tokens for trace replay.
    n_slots : int
        Horizon T (arrival slots), ``slot < n_slots``.
    slot_ms : float
        Slot length Δ in ms.
    n_users, n_types : int
        U and N of the scenario (shape of :meth:`rate_per_ms`).
    process : str
        Provenance, e.g. ``"poisson"``, ``"mmpp"``, ``"trace:code"``.

    Rows are sorted by (slot, user, ttype); arrays are read-only.
    """

    slot: np.ndarray
    user: np.ndarray
    ttype: np.ndarray
    input_mb: np.ndarray
    work_scale: np.ndarray
    n_slots: int
    slot_ms: float = 1.0
    n_users: int = 0
    n_types: int = 0
    process: str = "poisson"

    def __post_init__(self):
        for name, dt in (("slot", np.int64), ("user", np.int32), ("ttype", np.int32),
                         ("input_mb", np.float64), ("work_scale", np.float64)):
            object.__setattr__(self, name, _ro(getattr(self, name), dt))
        n = len(self.slot)
        if any(len(getattr(self, k)) != n for k in ("user", "ttype", "input_mb", "work_scale")):
            raise ValueError("Arrivals arrays must all have the same length")

    def __len__(self) -> int:
        return len(self.slot)

    @property
    def time_ms(self) -> np.ndarray:
        """Arrival times t·Δ in ms."""
        return self.slot * self.slot_ms

    def per_slot_counts(self) -> np.ndarray:
        """Number of arrivals in each slot, shape (T,)."""
        return np.bincount(self.slot, minlength=self.n_slots)[: self.n_slots]

    def counts(self) -> np.ndarray:
        """Number of arrivals per (user, type) over the horizon, shape (U, N)."""
        U = max(self.n_users, int(self.user.max()) + 1 if len(self) else 0)
        N = max(self.n_types, int(self.ttype.max()) + 1 if len(self) else 0)
        flat = np.bincount(self.user.astype(np.int64) * N + self.ttype, minlength=U * N)
        return flat.reshape(U, N)

    def rate_per_ms(self) -> np.ndarray:
        """Empirical arrival rate per (user, type) in tasks/ms, shape (U, N);
        ``.sum()`` is the total rate, comparable with Σ λ_{u,n}."""
        return self.counts() / (self.n_slots * self.slot_ms)

    def index_of_dispersion(self) -> float:
        """Variance / mean of :meth:`per_slot_counts` (1 for Poisson)."""
        return index_of_dispersion(self.per_slot_counts())

    def to_frame(self):
        """A pandas DataFrame with columns slot, time_ms, user, ttype, input_mb, work_scale."""
        import pandas as pd

        return pd.DataFrame({"slot": self.slot, "time_ms": self.time_ms, "user": self.user,
                             "ttype": self.ttype, "input_mb": self.input_mb, "work_scale": self.work_scale})

    def __repr__(self) -> str:
        return (f"Arrivals({len(self)} tasks, process={self.process!r}, n_slots={self.n_slots}, "
                f"slot_ms={self.slot_ms}, users={self.n_users}, types={self.n_types})")


def index_of_dispersion(counts) -> float:
    """Variance over mean of a count series (sample variance, ddof=1); nan if the mean is 0."""
    c = np.asarray(counts, dtype=float)
    m = c.mean() if c.size else 0.0
    return float(c.var(ddof=1) / m) if m > 0 and c.size > 1 else float("nan")


def horizon(scenario: Scenario, n_slots) -> int:
    """The arrival horizon T: ``n_slots``, or the scenario's ``horizon_slots`` when ``None``.

    Raises
    ------
    ValueError
        ``n_slots`` is not a non-negative integer.
    """
    T = scenario.horizon_slots if n_slots is None else n_slots
    if isinstance(T, (bool, np.bool_)) or not isinstance(T, (int, np.integer)) or T < 0:
        raise ValueError(f"n_slots must be a non-negative integer, got {n_slots!r}")
    return int(T)


def payload_mb(scenario: Scenario) -> np.ndarray:
    """The input payload A_n of every task type in MB, shape (N,)."""
    return np.array([t.input_mb for t in scenario.task_types], dtype=float)


def check_volume(scenario: Scenario, n_slots=None) -> float:
    """The expected number of tasks Σλ·T·Δ of a run; raises when it cannot be simulated.

    Raises
    ------
    ScenarioError
        More than :data:`MAX_TASKS` expected tasks (names the load, rate and horizon to lower), or a
        horizon above :data:`~edgefm.scenario.schema.MAX_HORIZON` slots, the limit of a scenario file's
        ``horizon_slots`` (the engine keeps per-slot arrays; arrivals alone may be longer, e.g. a
        trace replayed at its native rate).
    """
    from .errors import ScenarioError
    from .scenario.schema import check_horizon

    T = check_horizon(horizon(scenario, n_slots), "n_slots")
    total = float(np.sum(scenario.arrival_rates)) * T * scenario.slot_ms
    if not total <= MAX_TASKS:
        raise ScenarioError(f"a run would expect {total:.3g} tasks (total rate {float(np.sum(scenario.arrival_rates)):.3g}"
                            f"/ms x {T} slots of {scenario.slot_ms:g} ms at load {scenario.load:g}); at most "
                            f"{MAX_TASKS:.0e} can be simulated: lower the load, the rates or the horizon",
                            field="load")
    return total
