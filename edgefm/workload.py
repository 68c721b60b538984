"""Task arrival processes (docs/model.md §8.2): Poisson, MMPP and trace replay.

Every generator returns an :class:`Arrivals` table, one row per task, sorted by
slot, then user, then task type. A task counted in slot t arrives at the slot
boundary t·Δ and is first seen by the controller in slot t.

* :func:`poisson_arrivals` — the paper's model, z_{u,n,t} ~ Poisson(λ_{u,n} Δ).
* :func:`mmpp_arrivals` — a two-state Markov-modulated Poisson process with the
  same long-run mean rate, for bursty demand.
* :func:`edgefm.traces.trace_arrivals` — replay of the Azure LLM inference trace,
  rescaled to the same mean rate (see :mod:`edgefm.traces`).
* :func:`make_arrivals` — one entry point dispatching on a process name.

All draws come from the ``"arrivals"`` stream of the seed (``"trace"`` for trace
mapping), so every method run on the same seed sees the same demand.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .arrivals import Arrivals, check_volume, horizon, index_of_dispersion, payload_mb
from .rng import as_generator
from .scenario.schema import Scenario

__all__ = ["Arrivals", "poisson_arrivals", "mmpp_arrivals", "mmpp_stationary", "make_arrivals",
           "index_of_dispersion", "PROCESSES"]

#: Process names understood by :func:`make_arrivals` (or pass a CSV path / Trace).
PROCESSES = ("poisson", "mmpp", "code", "conv")


def _from_counts(scenario: Scenario, counts: np.ndarray, process: str) -> Arrivals:
    """Expand a (T, U, N) count array into sorted Arrivals (C order = slot, user, type)."""
    T, U, N = counts.shape
    idx = np.repeat(np.arange(T * U * N, dtype=np.int64), counts.ravel())
    slot, rem = np.divmod(idx, U * N)
    user, ttype = np.divmod(rem, N)
    ttype = ttype.astype(np.int32)
    return Arrivals(slot=slot, user=user.astype(np.int32), ttype=ttype, input_mb=payload_mb(scenario)[ttype],
                    work_scale=np.ones(len(idx)), n_slots=T, slot_ms=float(scenario.slot_ms),
                    n_users=U, n_types=N, process=process)


def poisson_arrivals(scenario: Scenario, seed: int | np.random.Generator = 0,
                     n_slots: int | None = None) -> Arrivals:
    """Independent Poisson arrivals per (user, type, slot) (docs/model.md §8.2).

    Draws z_{u,n,t} ~ Poisson(λ_{u,n} Δ) for every slot t < T, user u and type n
    in one vectorised call, with λ = ``scenario.arrival_rates`` (the load
    multiplier included) and Δ = ``scenario.slot_ms``. Every task carries
    ``input_mb`` = A_n and ``work_scale`` = 1.

    Parameters
    ----------
    scenario : Scenario
    seed : int or numpy.random.Generator
        An int selects the ``"arrivals"`` stream of that seed; a Generator is used as is.
    n_slots : int, optional
        Horizon T; defaults to ``scenario.horizon_slots``.

    Examples
    --------
    >>> from edgefm import load_scenario, data_path
    >>> s = load_scenario(data_path("scenarios/paper.yaml"), seed=0)
    >>> a = poisson_arrivals(s, seed=1)
    >>> len(a) == len(poisson_arrivals(s, seed=1)) and a.per_slot_counts().shape == (s.horizon_slots,)
    True
    """
    T = horizon(scenario, n_slots)
    check_volume(scenario, T)
    rng = as_generator(seed, "arrivals")
    lam = np.asarray(scenario.arrival_rates, dtype=float) * scenario.slot_ms
    counts = rng.poisson(lam, size=(T, *lam.shape))
    return _from_counts(scenario, counts, "poisson")


def mmpp_stationary(burst_factor: float = 4.0, p_on: float = 0.05, p_off: float = 0.2):
    """Stationary on-probability π and the (high, low) rate multipliers of the MMPP.

    π = p_on / (p_on + p_off); high = ``burst_factor``; low = (1 − π·high)/(1 − π),
    so that π·high + (1 − π)·low = 1 (same long-run mean as Poisson). Raises
    ``ValueError`` when π·burst_factor > 1 (the low state would need a negative rate).
    """
    b = float(burst_factor)
    if not (0 < p_on <= 1 and 0 < p_off <= 1):
        raise ValueError(f"p_on and p_off must lie in (0, 1], got p_on={p_on}, p_off={p_off}")
    if not np.isfinite(b) or b < 1:
        raise ValueError(f"burst_factor must be >= 1, got {burst_factor!r}")
    pi = p_on / (p_on + p_off)
    if pi * b > 1 + 1e-12:
        raise ValueError(f"burst_factor {b} too large for on-probability {pi:.3f}: need burst_factor <= "
                         f"1/pi = {1 / pi:.3f} (lower p_on or raise p_off)")
    low = max(0.0, (1 - pi * b) / (1 - pi)) if pi < 1 else 0.0
    return pi, b, low


def _markov_states(rng: np.random.Generator, n_chains: int, T: int, pi: float, p_on: float,
                   p_off: float) -> np.ndarray:
    """(T, n_chains) boolean on-states of stationary two-state chains, via geometric sojourns."""
    out = np.zeros((T, n_chains), dtype=bool)
    if T == 0:
        return out
    cycle = 1 / p_on + 1 / p_off
    k = int(2 * T / cycle + 8 * np.sqrt(T / cycle) + 8)  # sojourn pairs, generously
    for c in range(n_chains):
        state = bool(rng.random() < pi)
        pos = 0
        while pos < T:
            on_len = rng.geometric(p_off, size=k)  # time in "on" before leaving (>= 1 slot)
            off_len = rng.geometric(p_on, size=k)
            first, second = (on_len, off_len) if state else (off_len, on_len)
            lens = np.column_stack([first, second]).ravel()
            vals = np.tile([state, not state], k)
            seg = np.repeat(vals, lens)[: T - pos]
            out[pos:pos + len(seg), c] = seg
            pos += len(seg)
            state = bool(vals[-1]) ^ True  # next batch continues after the last sojourn
    return out


def mmpp_arrivals(scenario: Scenario, seed: int | np.random.Generator = 0, burst_factor: float = 4.0,
                  p_on: float = 0.05, p_off: float = 0.2, n_slots: int | None = None,
                  scope: str = "user") -> Arrivals:
    """Bursty arrivals: a slotted two-state Markov-modulated Poisson process.

    Each modulating chain (one per user for ``scope="user"``, one shared by all
    users for ``scope="global"``) is a discrete-time Markov chain on {off, on}
    that moves off→on with probability ``p_on`` and on→off with ``p_off`` at each
    slot boundary and holds its state for the whole slot. It starts in its
    stationary law, π = P(on) = p_on/(p_on + p_off). Given the state s_{u,t},
    z_{u,n,t} ~ Poisson(λ_{u,n} Δ · h) with h = ``burst_factor`` when on and
    h = (1 − π·burst_factor)/(1 − π) when off, so that E[h] = 1 and the long-run
    mean rate equals λ_{u,n} exactly as in :func:`poisson_arrivals`
    (``burst_factor=1`` is the Poisson process).

    The per-slot counts Z_t = Σ z_{u,n,t} have index of dispersion
    Var Z_t / E Z_t = 1 + Δ π(1 − π)(h_on − h_off)² · Σ_c Λ_c² / Σ_c Λ_c, where Λ_c
    is the total rate modulated by chain c (per user, or Σλ for ``"global"``).

    Parameters
    ----------
    scenario : Scenario
    seed : int or numpy.random.Generator
        An int selects the ``"arrivals"`` stream of that seed.
    burst_factor : float
        Peak-to-mean ratio (rate in the on state / λ); needs burst_factor ≤ 1/π.
    p_on, p_off : float
        Per-slot switching probabilities; the mean on and off sojourns are
        1/p_off and 1/p_on slots (defaults: 5 and 20 slots, π = 0.2).
    n_slots : int, optional
        Horizon T; defaults to ``scenario.horizon_slots``.
    scope : {"user", "global"}
        Independent bursts per user, or one burst state shared by all users.
    """
    T = horizon(scenario, n_slots)
    check_volume(scenario, T)
    pi, high, low = mmpp_stationary(burst_factor, p_on, p_off)
    if scope not in ("user", "global"):
        raise ValueError(f"scope must be 'user' or 'global', got {scope!r}")
    rng = as_generator(seed, "arrivals")
    lam = np.asarray(scenario.arrival_rates, dtype=float) * scenario.slot_ms  # (U, N)
    U = lam.shape[0]
    on = _markov_states(rng, U if scope == "user" else 1, T, pi, p_on, p_off)  # (T, U) or (T, 1)
    mult = np.where(on, high, low)
    counts = rng.poisson(lam[None, :, :] * mult[:, :, None])
    return _from_counts(scenario, counts, "mmpp")


def make_arrivals(scenario: Scenario, seed: int | np.random.Generator = 0, process="poisson",
                  n_slots: int | None = None, **kw) -> Arrivals:
    """Arrivals from a named process.

    ``process`` is ``"poisson"`` (:func:`poisson_arrivals`), ``"mmpp"``
    (:func:`mmpp_arrivals`), ``"code"`` / ``"conv"`` (the Azure LLM traces,
    :func:`edgefm.traces.trace_arrivals`), a path to a trace CSV, or a loaded
    :class:`edgefm.traces.Trace`. Extra keywords go to that function.
    """
    if isinstance(process, str) and process == "poisson":
        return poisson_arrivals(scenario, seed, n_slots=n_slots, **kw)
    if isinstance(process, str) and process == "mmpp":
        return mmpp_arrivals(scenario, seed, n_slots=n_slots, **kw)
    from .traces import TRACE_NAMES, Trace, load_trace, trace_arrivals

    if isinstance(process, str) and process not in TRACE_NAMES and not Path(process).is_file():
        raise ValueError(f"unknown arrival process {process!r}: use one of {PROCESSES}, a CSV path or a Trace")
    if isinstance(process, (str, Path, Trace)):
        trace = process if isinstance(process, Trace) else load_trace(process)
        return trace_arrivals(scenario, trace, seed, n_slots=n_slots, **kw)
    raise ValueError(f"unknown arrival process {process!r}: use one of {PROCESSES}, a CSV path or a Trace")
