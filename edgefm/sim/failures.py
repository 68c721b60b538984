"""Node failures: what a failure window is, and the rules every route (Python, CLI, sweep files) obeys.

A :class:`Failure` takes node ``node`` down at ``at_ms`` and, when ``until_ms`` is given, brings it
back then; both take effect at the next slot boundary. A window must mean what it says:

* times are finite and >= 0, and ``until_ms`` (when given) is after ``at_ms``: ``ES1@30:10`` is
  rejected rather than read as a permanent outage;
* the node must exist in the scenario (:func:`check_failures`);
* a failure that starts at or after the arrival horizon T·Δ has no effect on the arrivals it
  would meet: :func:`check_failures` warns (:class:`~edgefm.errors.ScenarioWarning`).

The text form ``NODE@AT_MS[:UNTIL_MS]`` (node by name or index) is read by :func:`split_failure`
and :func:`parse_failure`.
"""
from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

from ..errors import ScenarioError, ScenarioWarning

__all__ = ["Failure", "split_failure", "parse_failure", "check_failures"]


def _time(v, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ScenarioError(f"{name} must be a number of ms, got {v!r}", field="failure")
    v = float(v)
    if not (math.isfinite(v) and v >= 0):
        raise ScenarioError(f"{name} must be a finite time >= 0 ms, got {v!r}", field="failure")
    return v


@dataclass(frozen=True)
class Failure:
    """Node ``node`` goes down at ``at_ms`` (and comes back at ``until_ms``).

    Both take effect at the next slot boundary.

    Raises
    ------
    ScenarioError
        A negative or non-finite time, ``until_ms <= at_ms``, or a negative node index.

    Examples
    --------
    >>> Failure(node=0, at_ms=10.0, until_ms=30.0).until_ms
    30.0
    >>> Failure(node=0, at_ms=30.0, until_ms=10.0)
    Traceback (most recent call last):
    ...
    edgefm.errors.ScenarioError: failure: until_ms = 10 must be after at_ms = 30 (a window, not a permanent outage)
    """

    node: int
    at_ms: float
    until_ms: float | None = None

    def __post_init__(self):
        if isinstance(self.node, bool) or not isinstance(self.node, numbers.Integral) or self.node < 0:
            raise ScenarioError(f"node must be a node index >= 0, got {self.node!r}", field="failure")
        object.__setattr__(self, "node", int(self.node))
        at = _time(self.at_ms, "at_ms")
        object.__setattr__(self, "at_ms", at)
        if self.until_ms is not None:
            until = _time(self.until_ms, "until_ms")
            if until <= at:
                raise ScenarioError(f"until_ms = {until:g} must be after at_ms = {at:g} (a window, not a "
                                    f"permanent outage)", field="failure")
            object.__setattr__(self, "until_ms", until)


def split_failure(text: str) -> tuple[str, float, float | None]:
    """``"NODE@AT[:UNTIL]"`` as (node text, at_ms, until_ms or None), with the time rules checked.

    Raises
    ------
    ScenarioError
        Not of the form, or times that break the rules (module doc).
    """
    node, sep, rest = str(text).partition("@")
    at, _, until = rest.partition(":")
    try:
        if not sep or not node:
            raise ValueError
        at_v, until_v = float(at), (float(until) if until else None)
    except ValueError:
        raise ScenarioError(f"expected NODE@MS[:UNTIL_MS], got {text!r}", field="failure") from None
    Failure(node=0, at_ms=at_v, until_ms=until_v)  # the time rules
    return node, at_v, until_v


def parse_failure(text: str, scenario) -> Failure:
    """Parse ``NODE@MS[:UNTIL_MS]`` (node by name or index) into a :class:`Failure` of ``scenario``."""
    node, at, until = split_failure(text)
    if node.isdigit():
        v = int(node)
    else:
        try:
            v = scenario.node_index(node)
        except (KeyError, ValueError):
            raise ScenarioError(f"unknown node {node!r} in {text!r} (nodes: "
                                f"{', '.join(n.name for n in scenario.nodes)})", field="failure") from None
    f = Failure(node=v, at_ms=at, until_ms=until)
    check_failures([f], scenario)
    return f


def check_failures(failures, scenario, n_slots: int | None = None) -> list[Failure]:
    """Check ``failures`` against ``scenario``: nodes exist; warn about failures past the horizon.

    Parameters
    ----------
    failures : sequence of Failure
    scenario : Scenario
    n_slots : int, optional
        Arrival horizon T (default ``scenario.horizon_slots``).

    Returns
    -------
    list of Failure
    """
    out = list(failures)
    T = scenario.horizon_slots if n_slots is None else n_slots
    end = T * scenario.slot_ms
    for f in out:
        if not isinstance(f, Failure):
            raise ScenarioError(f"expected a Failure, got {f!r}", field="failure")
        if f.node >= scenario.n_nodes:
            raise ScenarioError(f"node {f.node} does not exist (the scenario has {scenario.n_nodes} nodes)",
                                field="failure")
        if f.at_ms >= end:
            _warn(f"failure of node {scenario.nodes[f.node].name} at {f.at_ms:g} ms starts after the arrival "
                  f"horizon ({end:g} ms) and has no effect on the arrivals")
    return out


#: The registry of :func:`_warn` (Python's per-location record of the warnings already shown).
_REGISTRY: dict = {}


def _warn(text: str) -> None:
    """Issue ``text`` as a :class:`~edgefm.errors.ScenarioWarning` from one fixed location.

    The same failure is checked on every route it takes (:func:`parse_failure` for the command line and
    sweep cells, then the engine), so under Python's ``default`` filter (shown once per message and
    location) it is shown once, not once per check. Filters that show every warning (``always``, as
    in ``pytest.warns``) still see each check.
    """
    warnings.warn_explicit(text, ScenarioWarning, filename=__file__, lineno=1, module=__name__,
                           registry=_REGISTRY)
