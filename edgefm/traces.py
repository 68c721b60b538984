"""Replay of real LLM inference traces as the arrival process (docs/model.md §8.2).

The Azure LLM inference traces (2023; Patel et al., "Splitwise: Efficient
generative LLM inference using phase splitting", ISCA 2024; Azure/AzurePublicDataset,
CC-BY 4.0) ship in ``data/traces/``: ``code`` (8,819 requests) and ``conv``
(19,366 requests), one hour each, columns TIMESTAMP, ContextTokens, GeneratedTokens.

Mapping of a trace onto a scenario (:func:`trace_arrivals`), documented also in
``data/traces/README.md``:

1. **Time.** Request times are taken relative to the first request. The trace is
   treated as periodic with period P = span · N_req/(N_req − 1) (the span plus one
   mean gap, so the wrap is seamless). Times are multiplied by ``time_scale``; by
   default time_scale = N_req / (P · Σ_{u,n} λ_{u,n}), so the rescaled trace has
   exactly the scenario's total rate Σλ (the same mean load as the Poisson runs).
2. **Window.** The horizon [0, TΔ) is laid on the rescaled time axis from offset
   ``start`` (ms of rescaled time; default: uniform in [0, P·time_scale) from the
   ``"trace"`` stream). When the window runs past the end of the trace it wraps
   around to its beginning (``wrap=True``), repeating the trace as often as needed;
   with ``wrap=False`` nothing arrives after the trace ends. With a uniform random
   start the expected count is exactly Σλ·T·Δ.
3. **Slot.** A request at rescaled offset τ from the window start arrives in slot ⌊τ/Δ⌋.
4. **User and type.** Each request is assigned a (user, type) pair drawn
   independently with probability λ_{u,n} / Σλ (``"trace"`` stream).
5. **Payload.** input_mb = A_n · clip(ContextTokens / median ContextTokens, 0.25, 4),
   the median taken over the whole trace (so the median request carries A_n).
6. **Work.** work_scale = clip(GeneratedTokens / median GeneratedTokens, 0.25, 4)
   (decode work of the core, foundation-model stages grows with the generated
   tokens); ``scale_work=False`` keeps 1.0.

With ``normalize="mean"`` (the default) the clipped ratios of steps 5–6 are
further divided by their trace mean, so the mean payload is A_n and the mean
work scale 1 (the median request then carries less than A_n): a trace run then
offers the same mean load as the Poisson run — same mean rate, payload and work —
and differs only in burstiness and in the spread of request sizes.
``normalize="median"`` keeps the median request at A_n.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .arrivals import Arrivals, horizon, payload_mb
from .errors import ScenarioError
from .rng import as_generator
from .scenario.schema import Scenario

__all__ = ["Trace", "load_trace", "trace_arrivals", "TRACE_NAMES", "CLIP"]

#: Names of the bundled traces: ``data/traces/AzureLLMInferenceTrace_{name}.csv``.
TRACE_NAMES = ("code", "conv")
#: Clip range of the token ratios used for payload and work scale.
CLIP = (0.25, 4.0)
_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


@dataclass(frozen=True, eq=False)
class Trace:
    """A loaded request trace (read-only arrays, sorted by time).

    ``time_ms`` is each request's time in ms after the first request;
    ``context_tokens`` / ``generated_tokens`` are its token counts.
    """

    name: str
    time_ms: np.ndarray
    context_tokens: np.ndarray
    generated_tokens: np.ndarray
    path: str | None = None

    def __len__(self) -> int:
        return len(self.time_ms)

    @property
    def span_ms(self) -> float:
        """Time from the first to the last request."""
        return float(self.time_ms[-1]) if len(self) else 0.0

    @property
    def period_ms(self) -> float:
        """Wrap-around period P = span · N/(N − 1): the span plus one mean gap."""
        n = len(self)
        return self.span_ms * n / (n - 1) if n > 1 and self.span_ms > 0 else 1.0

    @property
    def rate_per_ms(self) -> float:
        """Native mean rate N / P in requests per ms."""
        return len(self) / self.period_ms

    def __repr__(self) -> str:
        return f"Trace({self.name!r}, {len(self)} requests, span {self.span_ms / 1e3:.1f} s)"


def _fail(path, where: str, reason: str):
    raise ScenarioError(f"{path}: {where}: {reason}")


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, _mtime: int) -> Trace:
    import pandas as pd

    name = Path(path).name
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        _fail(name, "whole file", f"not a readable CSV ({str(e).splitlines()[0]})")
    df.columns = [str(c).strip() for c in df.columns]
    for col in _COLUMNS:
        if col not in df.columns:
            _fail(name, f"column {col!r}", f"missing (found columns {list(df.columns)}; need {list(_COLUMNS)})")
    if len(df) == 0:
        _fail(name, "whole file", "no requests (header only)")

    # timestamps: the Azure format first (fast), then ISO 8601; numbers are seconds
    raw = df["TIMESTAMP"].str.strip()
    num = pd.to_numeric(raw, errors="coerce")
    if num.notna().all():
        t_ms = num.to_numpy(float) * 1e3
    else:
        try:
            ts = pd.to_datetime(raw, format="%Y-%m-%d %H:%M:%S.%f")
        except (ValueError, TypeError):
            ts = pd.to_datetime(raw, format="ISO8601", errors="coerce")
        bad = np.flatnonzero(ts.isna().to_numpy())
        if bad.size:
            i = int(bad[0])
            _fail(name, f"line {i + 2}, column 'TIMESTAMP'",
                  f"cannot parse {raw.iloc[i]!r} as a time (expected e.g. '2023-11-16 18:17:03.9799600')")
        t_ms = (ts - ts.min()).dt.total_seconds().to_numpy(float) * 1e3
    if not np.isfinite(t_ms).all():
        i = int(np.flatnonzero(~np.isfinite(t_ms))[0])
        _fail(name, f"line {i + 2}, column 'TIMESTAMP'", f"not a finite time: {raw.iloc[i]!r}")

    tokens = {}
    for col in _COLUMNS[1:]:
        s = df[col].str.strip()
        v = pd.to_numeric(s, errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(v) | (v != np.round(v)))
        if bad.size:
            i = int(bad[0])
            _fail(name, f"line {i + 2}, column {col!r}", f"{s.iloc[i]!r} is not an integer token count")
        neg = np.flatnonzero(v < 0)
        if neg.size:
            i = int(neg[0])
            _fail(name, f"line {i + 2}, column {col!r}", f"negative token count {int(v[i])}")
        tokens[col] = v.astype(np.int64)

    order = np.argsort(t_ms, kind="stable")  # tolerate unsorted files
    t_ms = t_ms[order] - t_ms.min()
    arrs = [t_ms, tokens["ContextTokens"][order], tokens["GeneratedTokens"][order]]
    for a in arrs:
        a.setflags(write=False)
    stem = Path(path).stem
    short = stem.removeprefix("AzureLLMInferenceTrace_")
    return Trace(name=short, time_ms=arrs[0], context_tokens=arrs[1], generated_tokens=arrs[2], path=path)


def load_trace(name_or_path: str | os.PathLike) -> Trace:
    """Load a request trace.

    Parameters
    ----------
    name_or_path : str or path
        ``"code"`` or ``"conv"`` for the bundled Azure LLM traces
        (``data/traces/AzureLLMInferenceTrace_{name}.csv``), or a CSV path with
        columns TIMESTAMP (date-time text, or seconds as numbers), ContextTokens,
        GeneratedTokens (non-negative integers). Rows need not be sorted.

    Raises
    ------
    ScenarioError
        Naming the file, the line/column and the reason: missing file or column,
        unparseable timestamp, non-integer or negative token count, no rows.

    Examples
    --------
    >>> tr = load_trace("code")
    >>> len(tr), int(tr.context_tokens[0])
    (8819, 4808)
    """
    from .paths import data_path

    if isinstance(name_or_path, str) and name_or_path in TRACE_NAMES:
        path = data_path("traces", f"AzureLLMInferenceTrace_{name_or_path}.csv")
    else:
        path = Path(name_or_path)
    if not path.is_file():
        raise ScenarioError(f"{path}: trace file not found (use one of {TRACE_NAMES} or a CSV path)")
    path = path.resolve()
    return _load_cached(str(path), path.stat().st_mtime_ns)


def _ratio(x: np.ndarray, normalize: str) -> np.ndarray:
    med = float(np.median(x))
    r = np.clip(x / med, *CLIP) if med > 0 else np.ones(len(x))
    if normalize == "mean":
        r = r / r.mean()
    return r


def trace_arrivals(scenario: Scenario, trace: Trace | str | os.PathLike = "code",
                   seed: int | np.random.Generator = 0, n_slots: int | None = None, start: float | None = None,
                   time_scale: float | None = None, wrap: bool = True, scale_work: bool = True,
                   normalize: str = "mean") -> Arrivals:
    """Arrivals replayed from a request trace (mapping in the module docstring).

    Parameters
    ----------
    scenario : Scenario
        Supplies λ (the (user, type) mix and, by default, the mean rate Σλ), A_n and Δ.
    trace : Trace, ``"code"``, ``"conv"`` or CSV path
    seed : int or numpy.random.Generator
        An int selects the ``"trace"`` stream of that seed (window start, then the
        (user, type) draws).
    n_slots : int, optional
        Horizon T; defaults to ``scenario.horizon_slots``.
    start : float, optional
        Window offset in ms of rescaled trace time; default uniform over one period.
    time_scale : float, optional
        Factor from trace ms to scenario ms. Default N/(P·Σλ): mean rate Σλ.
        ``time_scale=1`` replays the trace at its native rate.
    wrap : bool
        Repeat the trace periodically when the window runs past its end.
    scale_work : bool
        Map generated tokens to ``work_scale`` (else 1.0).
    normalize : {"median", "mean"}
        Reference of the token ratios (see module docstring).

    Examples
    --------
    >>> from edgefm import load_scenario, data_path
    >>> s = load_scenario(data_path("scenarios/paper.yaml"), seed=0)
    >>> a = trace_arrivals(s, "conv", seed=0)
    >>> bool(abs(a.rate_per_ms().sum() / s.arrival_rates.sum() - 1) < 0.1)
    True
    """
    if not isinstance(trace, Trace):
        trace = load_trace(trace)
    if normalize not in ("median", "mean"):
        raise ValueError(f"normalize must be 'median' or 'mean', got {normalize!r}")
    T = horizon(scenario, n_slots)
    dt = float(scenario.slot_ms)
    lam = np.asarray(scenario.arrival_rates, dtype=float)
    U, N = lam.shape
    total = float(lam.sum())
    rng = as_generator(seed, "trace")
    proc = f"trace:{trace.name}"

    if time_scale is None:
        if total <= 0 or len(trace) == 0:
            return _empty(scenario, T, proc)
        time_scale = len(trace) / (trace.period_ms * total)
    if not (np.isfinite(time_scale) and time_scale > 0):
        raise ValueError(f"time_scale must be a positive finite number, got {time_scale!r}")
    period = trace.period_ms * time_scale
    if start is None:
        start = float(rng.uniform(0.0, period))
    elif not np.isfinite(start) or start < 0:
        raise ValueError(f"start must be a non-negative time in ms, got {start!r}")
    end = start + T * dt

    # requests (index into the trace, time relative to window start) inside [start, end)
    t = trace.time_ms * time_scale
    if wrap:
        k0, k1 = int(np.floor(start / period)), int(np.ceil(end / period))
        ks = np.arange(k0, max(k1, k0 + 1))
        lo = np.searchsorted(t, start - ks * period, side="left")
        hi = np.searchsorted(t, end - ks * period, side="left")
        idx = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if len(ks) else np.empty(0, int)
        tau = np.concatenate([t[a:b] + k * period for a, b, k in zip(lo, hi, ks)]) - start if len(ks) else \
            np.empty(0)
    else:
        a, b = np.searchsorted(t, [start, end], side="left")
        idx, tau = np.arange(a, b), t[a:b] - start
    slot = np.minimum(np.floor(tau / dt).astype(np.int64), max(T - 1, 0))

    if total <= 0:
        return _empty(scenario, T, proc)
    pair = rng.choice(U * N, size=len(idx), p=(lam / total).ravel())
    user, ttype = np.divmod(pair, N)
    A = payload_mb(scenario)
    input_mb = A[ttype] * _ratio(trace.context_tokens, normalize)[idx]
    work = _ratio(trace.generated_tokens, normalize)[idx] if scale_work else np.ones(len(idx))
    order = np.lexsort((ttype, user, slot))  # stable: ties keep trace order
    return Arrivals(slot=slot[order], user=user[order].astype(np.int32), ttype=ttype[order].astype(np.int32),
                    input_mb=input_mb[order], work_scale=work[order], n_slots=T, slot_ms=dt, n_users=U,
                    n_types=N, process=proc)


def _empty(scenario: Scenario, T: int, proc: str) -> Arrivals:
    z = np.empty(0)
    return Arrivals(slot=z, user=z, ttype=z, input_mb=z, work_scale=z, n_slots=T, slot_ms=float(scenario.slot_ms),
                    n_users=scenario.n_users, n_types=scenario.n_types, process=proc)
