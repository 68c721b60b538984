"""One exception hierarchy for edgefm.

Every error a user can trigger with bad input or an impossible instance is an
:class:`EdgeFMError`, so ``except EdgeFMError`` catches all of them and the
command line turns them into one readable line.
"""
from __future__ import annotations

import os

__all__ = [
    "EdgeFMError",
    "ScenarioError",
    "InfeasibleError",
    "SolverError",
    "SimulationError",
    "DecisionError",
    "UsageError",
    "TimeLimitWarning",
    "ScenarioWarning",
]


class EdgeFMError(Exception):
    """Base class of every edgefm error."""


class ScenarioError(EdgeFMError, ValueError):
    """A scenario file or object is invalid.

    The message names the file, the field path and the reason, e.g.
    ``paper.yaml: microservices[3].a: must be > 0, got -1``.
    """

    def __init__(self, reason: str, *, field: str | None = None, source: str | None = None):
        self.reason = reason
        self.field = field
        self.source = source
        where = ": ".join(p for p in (source, field) if p)
        super().__init__(f"{where}: {reason}" if where else reason)


class InfeasibleError(EdgeFMError):
    """An optimisation instance has no feasible solution.

    The message says which constraint cannot be met and by how much, when a
    necessary condition identifies it; otherwise it names the constraint family.
    """


class SolverError(EdgeFMError, RuntimeError):
    """A solver failed for a reason other than infeasibility (missing back-end,
    numerical trouble, unbounded model)."""


class SimulationError(EdgeFMError, RuntimeError):
    """The simulator reached an inconsistent state."""


class DecisionError(SimulationError):
    """A controller returned a decision the simulator cannot apply, e.g. one
    that exceeds a node's resource capacity (E8)."""


class UsageError(EdgeFMError, ValueError):
    """A command-line value (or a value passed like one) is invalid: the message names the flag
    and the reason, e.g. ``argument --load: must be a finite number >= 0, got 'nan'``."""


class TimeLimitWarning(UserWarning):
    """A solver stopped at its time limit; the result holds the incumbent and
    its proven gap, not a certified optimum."""


class ScenarioWarning(UserWarning):
    """A valid input that probably does not do what was meant (a failure after the horizon, a
    microservice no task type uses); the run goes on."""


class MethodWarning(UserWarning):
    """A method ran as specified but cannot do what a user may expect on this input (e.g. the
    paper's literal E21 rule can never admit a light microservice of the draw)."""


# A process started by a notebook (a sweep's Dask worker or process pool) prints its warnings the way
# the notebook does (edgefm.display.plain_warnings); every edgefm process imports this module first.
if os.environ.get("EDGEFM_PLAIN_WARNINGS", "") not in ("", "0"):  # edgefm.display.PLAIN_WARNINGS_ENV
    from .display import plain_warnings as _plain_warnings

    _plain_warnings()
