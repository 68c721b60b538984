"""Checked command-line values: every flag is validated while the command line is parsed, before
any work starts, and a bad value becomes one :class:`~edgefm.errors.UsageError` line (exit 2).

The converters raise ``argparse.ArgumentTypeError``; :class:`Parser` turns every argparse error
(a bad value, an unknown flag, a missing argument) into a :class:`~edgefm.errors.UsageError`
instead of printing the usage text and exiting, so the main command line reports it like any
other error (one line on stderr, a ``{"status": "error"}`` object under ``--json``).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..errors import UsageError

__all__ = ["Parser", "nonneg_int", "nonneg_float", "positive_float", "load_value", "slot_count", "choice",
           "trace_source", "failure_text"]


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` (its sub-parsers too)."""

    def error(self, message):  # noqa: D102 (argparse API)
        raise UsageError(message)


def _number(text: str, kind):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {'an integer' if kind is int else 'a number'}, "
                                          f"got {text!r}") from None


def nonneg_int(text: str) -> int:
    """An integer >= 0 (seeds, slots, counts)."""
    v = _number(text, int)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return v


def nonneg_float(text: str) -> float:
    """A finite number >= 0 (loads, gaps)."""
    v = _number(text, float)
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return v


def _within(check, v):
    """``check(v)`` (a scenario limit, :mod:`edgefm.scenario.schema`), its error as an argparse one."""
    from ..errors import ScenarioError

    try:
        return check(v)
    except ScenarioError as exc:
        raise argparse.ArgumentTypeError(exc.reason) from None


def load_value(text: str) -> float:
    """A load multiplier: a finite number in [0, MAX_LOAD] (:func:`edgefm.scenario.schema.check_load`, the
    limit of a scenario file's ``load`` and of sweep files' ``loads``)."""
    from ..scenario.schema import check_load

    return _within(check_load, nonneg_float(text))


def slot_count(text: str) -> int:
    """A horizon in slots: an integer in [0, MAX_HORIZON] (:func:`edgefm.scenario.schema.check_horizon`, the
    limit of a scenario file's ``horizon_slots``)."""
    from ..scenario.schema import check_horizon

    return _within(check_horizon, nonneg_int(text))


def positive_float(text: str) -> float:
    """A finite number > 0 (time limits)."""
    v = _number(text, float)
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return v


def choice(*names: str):
    """A converter accepting one of ``names`` (argparse's ``choices`` with a one-line message)."""
    def conv(text: str) -> str:
        if text not in names:
            raise argparse.ArgumentTypeError(f"must be one of {', '.join(names)}, got {text!r}")
        return text
    conv.__name__ = "choice"
    return conv


def trace_source(text: str) -> str:
    """``code``, ``conv`` (the bundled traces) or an existing CSV file."""
    from ..traces import TRACE_NAMES

    if text in TRACE_NAMES:
        return text
    p = Path(text)
    if not p.is_file():
        raise argparse.ArgumentTypeError(f"must be {' or '.join(TRACE_NAMES)} or an existing CSV file; "
                                          f"no file at {text!r}")
    return text


def failure_text(text: str) -> str:
    """``NODE@MS[:UNTIL_MS]`` with valid times (the node is checked against the scenario later)."""
    from ..errors import ScenarioError
    from ..sim.failures import split_failure

    try:
        split_failure(text)
    except ScenarioError as exc:
        raise argparse.ArgumentTypeError(exc.reason) from None
    return text
