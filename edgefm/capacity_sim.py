"""Validation queue simulator for the effective-capacity delay model (Eqs. E20–E21).

One discrete-time fluid FIFO queue: in slot ``t`` work ``A_t`` (MB) arrives and the
server can remove ``S_t = c_t * slot`` MB with ``c_t ~ Gamma(k, beta)`` i.i.d.
The backlog follows the Lindley recursion ``Q_t = max(0, Q_{t-1} + A_t - S_t)``,
computed without a per-slot loop as ``Q_t = X_t - min(0, min_{s<=t} X_s)`` with
``X_t = sum_{s<=t} (A_s - S_s)``. The (virtual) delay of the work that arrived in
slot ``t`` is the number of further slots the server needs to clear ``Q_t``:
the smallest ``tau >= 0`` with ``S_{t+1} + ... + S_{t+tau} >= Q_t`` (found with
``np.searchsorted`` on the cumulative service), times the slot length.

Where the E21 approximation ``Pr{D > d} ~ gamma exp(-theta* r d)``,
``gamma = r/(k beta)``, is tight: the decay rate ``theta* r`` is the exact
large-deviation rate of the delay tail (``Pr{Q > S(d)} ~ C E[exp(-theta* S(d))]
= C exp(-theta* EC(theta*) d)``), so the slope of ``log Pr`` in ``d`` matches
for large ``d`` at every load. The prefactor ``gamma`` (the utilisation, a
heuristic for ``Pr{Q > 0}``) is only approximate: see ``notebooks/01`` and
``tests/test_capacity_sim.py`` for the measured ratio (within a factor of about
two at moderate-to-heavy load, worse at light load and small ``d``, where the
discrete slot and the ``max(slot, .)`` floor dominate).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from edgefm.capacity import effective_capacity, gamma_qos_exponent
from edgefm.delay import delay_table
from edgefm.errors import ScenarioError
from edgefm.rng import stream

__all__ = ["simulate_queue", "simulate_delay_tail", "predicted_tail", "calibration_table",
           "calibration_summary", "ec_curve_table", "theta_load_table", "delay_curve_table"]


def simulate_queue(rate: float, shape: float, scale: float, n_slots: int, *,
                   arrivals: str = "constant", job_size: float = 1.0, slot: float = 1.0,
                   seed=0, replicate: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-slot work arrivals and virtual delays of a Lindley queue.

    Parameters
    ----------
    rate : float
        Offered rate ``r`` (MB/ms).
    shape, scale : float
        Gamma service-rate parameters ``k``, ``beta`` (MB/ms).
    n_slots : int
        Slots to simulate.
    arrivals : {"constant", "poisson"}
        ``"constant"``: ``r slot`` MB every slot. ``"poisson"``: ``N_t ~
        Poisson(r slot / job_size)`` jobs of ``job_size`` MB each.
    seed : int or numpy Generator
        Streams ``"arrivals"`` and ``"service"`` of ``seed`` (same seed, same output);
        a Generator is used for both.
    replicate : int
        Sub-stream key, for independent replicates under one seed.

    Returns
    -------
    work : array, shape (n_slots,)
        Work arriving in each slot (MB).
    delay : array, shape (n_slots,)
        Delay (ms) of the last byte arriving in each slot; ``inf`` if the run ends
        before it is served.
    """
    if not (rate >= 0 and shape > 0 and scale > 0 and slot > 0 and int(n_slots) > 0):
        raise ScenarioError(f"need rate >= 0, shape, scale, slot > 0, n_slots >= 1; got "
                            f"{rate}, {shape}, {scale}, {slot}, {n_slots}", field="simulate_queue")
    n = int(n_slots)
    if isinstance(seed, np.random.Generator):
        g_arr = g_srv = seed
    else:
        g_arr, g_srv = stream(seed, "arrivals", replicate), stream(seed, "service", replicate)
    if arrivals == "constant":
        A = np.full(n, rate * slot)
    elif arrivals == "poisson":
        A = job_size * g_arr.poisson(rate * slot / job_size, n).astype(float)
    else:
        raise ScenarioError(f"must be 'constant' or 'poisson', got {arrivals!r}", field="arrivals")
    S = g_srv.gamma(shape, scale, n) * slot
    X = np.cumsum(A - S)
    Q = X - np.minimum(np.minimum.accumulate(X), 0.0)  # Lindley, exact zeros on resets
    Scum = np.concatenate([[0.0], np.cumsum(S)])  # Scum[j] = service in slots < j
    # tau = min{tau >= 0 : Scum[t+1+tau] - Scum[t+1] >= Q_t}
    j = np.searchsorted(Scum, Scum[1:] + Q, side="left")
    tau = (j - (np.arange(n) + 1)).astype(float)
    tau[j > n] = np.inf
    return A, tau * slot


def simulate_delay_tail(rate: float, shape: float, scale: float, d_grid, n_slots: int = 200_000,
                        *, arrivals: str = "constant", job_size: float = 1.0, slot: float = 1.0,
                        warmup: int = 1000, seed=0, replicate: int = 0) -> pd.DataFrame:
    """Empirical ``Pr{delay > d}`` of work (work-weighted) for each ``d`` in ``d_grid``.

    Returns a tidy DataFrame with columns ``d``, ``p_sim`` (empirical tail),
    ``n_exceed`` (slots whose delay exceeds ``d``), ``n`` (slots with arrivals after
    warm-up). The first ``warmup`` slots are dropped and ``max(d_grid)/slot + 1``
    cool-down slots are simulated after the ``n_slots`` measured ones. See
    :func:`simulate_queue` for the model.
    """
    d = np.asarray(d_grid, dtype=float)
    # cool-down: every measured slot has at least max(d) further slots, so "delay > d"
    # is decided even for work still queued when the run ends (censored, delay inf)
    cool = int(np.ceil(np.max(d, initial=0.0) / slot)) + 1
    A, D = simulate_queue(rate, shape, scale, warmup + n_slots + cool, arrivals=arrivals,
                          job_size=job_size, slot=slot, seed=seed, replicate=replicate)
    A, D = A[warmup:warmup + n_slots], D[warmup:warmup + n_slots]
    keep = A > 0
    A, D = A[keep], D[keep]
    Ds = np.sort(D)
    order = np.argsort(D, kind="stable")
    wcum = np.concatenate([[0.0], np.cumsum(A[order])])
    idx = np.searchsorted(Ds, d, side="right")  # delays <= d
    p = (wcum[-1] - wcum[idx]) / wcum[-1] if wcum[-1] > 0 else np.zeros_like(d)
    return pd.DataFrame({"d": d, "p_sim": p, "n_exceed": Ds.size - idx, "n": Ds.size})


def predicted_tail(rate: float, shape: float, scale: float, d, slot: float = 1.0) -> np.ndarray:
    """E21 tail approximation ``gamma exp(-theta* r d)``, ``gamma = r/(k beta)``."""
    th = gamma_qos_exponent(rate, shape, scale, slot)
    return (rate / (shape * scale)) * np.exp(-th * rate * np.asarray(d, dtype=float))


def calibration_table(loads, shape: float, scale: float, p_levels=(0.1, 0.03, 0.01, 0.003),
                      n_slots: int = 200_000, *, arrivals: str = "constant", slot: float = 1.0,
                      seed: int = 0) -> pd.DataFrame:
    """Predicted vs simulated delay-violation probability over loads and deadlines.

    For each load ``rho`` (``r = rho k beta``) the deadlines ``d`` are those where the
    E21 prediction equals each of ``p_levels`` (rounded to whole slots, at least one).

    Returns
    -------
    DataFrame
        Columns ``load``, ``rate``, ``d``, ``theta``, ``p_pred``, ``p_sim``,
        ``n_exceed``, ``ratio`` (= ``p_sim / p_pred``).
    """
    rows = []
    for i, rho in enumerate(np.atleast_1d(np.asarray(loads, dtype=float))):
        r = rho * shape * scale
        th = float(gamma_qos_exponent(r, shape, scale, slot))
        d = np.log(rho / np.asarray(p_levels, dtype=float)) / (th * r)
        d = np.unique(np.maximum(np.round(d / slot), 1.0) * slot)
        sim = simulate_delay_tail(r, shape, scale, d, n_slots, arrivals=arrivals, slot=slot,
                                  seed=seed, replicate=i)
        sim["p_pred"] = predicted_tail(r, shape, scale, d, slot)
        sim["load"], sim["rate"], sim["theta"] = rho, r, th
        rows.append(sim)
    df = pd.concat(rows, ignore_index=True)
    df["ratio"] = df["p_sim"] / df["p_pred"]
    return df[["load", "rate", "d", "theta", "p_pred", "p_sim", "n_exceed", "n", "ratio"]]


def calibration_summary(df: pd.DataFrame, tight_load: float = 0.5, tight_p: float = 3e-3) -> pd.DataFrame:
    """Range of ``p_sim / p_pred`` per regime of a :func:`calibration_table`.

    ``"tight"``: load >= ``tight_load`` and ``p_pred >= tight_p`` (enough samples);
    ``"light load"``: load below ``tight_load``; ``"deep tail"``: ``p_pred < tight_p``.
    """
    regime = np.where(df["load"] < tight_load, "light load",
                      np.where(df["p_pred"] >= tight_p, "tight", "deep tail"))
    out = df.assign(regime=regime).groupby("regime")["ratio"].agg(["min", "median", "max", "count"])
    return out.reset_index()


def ec_curve_table(shapes, scales, thetas, slot: float = 1.0) -> pd.DataFrame:
    """Tidy EC(theta) of Gamma(k, beta) service for every (k, beta) pair (Eq. E20).

    Columns ``k``, ``beta``, ``theta``, ``ec``, ``ec_norm`` (= EC / (k beta)).
    """
    rows = []
    for k in np.atleast_1d(shapes):
        for b in np.atleast_1d(scales):
            ec = effective_capacity(stats.gamma(k, scale=b), np.asarray(thetas, dtype=float), slot)
            rows.append(pd.DataFrame({"k": k, "beta": b, "theta": thetas, "ec": ec,
                                      "ec_norm": ec / (k * b)}))
    return pd.concat(rows, ignore_index=True)


def theta_load_table(shapes, scales, loads, slot: float = 1.0) -> pd.DataFrame:
    """Tidy theta*(load) with ``EC(theta*) = load k beta`` (Eq. E21).

    Columns ``k``, ``beta``, ``load``, ``theta``, ``decay`` (= theta* r, 1/ms).
    """
    k, b, rho = np.meshgrid(np.atleast_1d(shapes), np.atleast_1d(scales), np.asarray(loads), indexing="ij")
    th = gamma_qos_exponent(rho * k * b, k, b, slot)
    return pd.DataFrame({"k": k.ravel(), "beta": b.ravel(), "load": rho.ravel(), "theta": th.ravel(),
                         "decay": (th * rho * k * b).ravel()})


def delay_curve_table(work, shape, scale, y_max: int = 20, epsilon: float = 0.2,
                      fallback: bool = False) -> pd.DataFrame:
    """Tidy E21 ``g_eps(y)`` and mean-rate ``g_avg(y)`` for light microservices.

    Columns ``ms``, ``a``, ``k``, ``beta``, ``y``, ``kind`` (``"ec"``/``"avg"``), ``g``,
    ``fallback`` (entry had no theta*).
    """
    rows = []
    for kind in ("ec", "avg"):
        t = delay_table(work, shape, scale, y_max=y_max, epsilon=epsilon, kind=kind, fallback=fallback)
        m, y = np.meshgrid(np.arange(t.g.shape[0]), np.arange(t.g.shape[1]), indexing="ij")
        rows.append(pd.DataFrame({"ms": m.ravel(), "a": np.asarray(work)[m.ravel()],
                                  "k": np.asarray(shape)[m.ravel()], "beta": np.asarray(scale)[m.ravel()],
                                  "y": y.ravel(), "kind": kind, "g": t.g.ravel(),
                                  "fallback": t.fallback_mask.ravel()}))
    return pd.concat(rows, ignore_index=True)
