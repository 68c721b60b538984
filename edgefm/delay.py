"""Statistical delay of a light stage: the E21 bound g_eps(y) and its per-scenario table.

With y jobs on an instance of a light MS (work a per job, Gamma(k, beta) rate), the
offered rate is r = y a / W; theta* solves EC(theta*) = r (E20, :mod:`edgefm.capacity`)
and Pr{D > g} ~ gamma exp(-theta* r g) with gamma ~ r / (k beta) gives

    g_eps(y) = max(slot, y a / (k beta), ln(r / (k beta eps)) / (theta* r))      (E21)

(Wu & Negi, IEEE TWC 2003). No theta* exists when r >= k beta: the bound is infinite,
or, with ``fallback=True``, the mean service time y a / (k beta) (docs/model.md §6.2: every
stage must stay servable; the table's ``fallback_mask`` counts those entries). The
mean-rate variant g_avg(y) = max(slot, y a / (k beta)) is the PropAvg ablation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .capacity import gamma_qos_exponent, qos_exponent, service_mean
from .errors import ScenarioError

__all__ = ["delay_bound", "DelayTable", "delay_table"]

def _g_gamma(y, a, k, b, epsilon, slot, window, kind, fallback):
    """Vectorised E21 for gamma service; returns (g, fallback_mask)."""
    y, a, k, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (y, a, k, b)))
    mean = k * b
    r = y * a / window
    tmean = y * a / mean
    g_avg = np.maximum(slot, tmean)
    if kind == "avg":
        g = g_avg
        fb = np.zeros(g.shape, dtype=bool)
    else:
        th = gamma_qos_exponent(r, k, b, slot)
        with np.errstate(divide="ignore", invalid="ignore"):
            tail = np.log(r / (mean * epsilon)) / (th * r)
        g = np.maximum(g_avg, np.where(np.isfinite(tail), tail, -np.inf))
        fb = (r >= mean) & (y > 0)
        g = np.where(fb, tmean if fallback else np.inf, g)
    g = np.where(y == 0, 0.0, g)
    return g, fb


def delay_bound(y, work, shape=None, scale=None, epsilon: float = 0.2, slot: float = 1.0,
                window: float = 1.0, fallback: bool = False, *, kind: str = "ec", service=None):
    """Statistical delay bound g_eps(y) of a light stage with ``y`` jobs (Eq. E21).

    ``g = max(slot, y a / (k beta), ln(r / (k beta eps)) / (theta* r))`` with
    ``r = y a / window`` and ``EC(theta*) = r``, from ``Pr{D > g} ~ gamma
    exp(-theta* r g)``, ``gamma = r / (k beta)``. ``g(0) = 0``. If ``r >= k beta``
    there is no theta*: ``inf``, or the mean service time ``y a / (k beta)`` when
    ``fallback=True``. ``kind="avg"`` gives the PropAvg variant ``max(slot, y a/(k beta))``.

    Parameters
    ----------
    y : int or array
        Jobs on the instance.
    work : float
        Work per job ``a`` (MB).
    shape, scale : float
        Gamma service parameters ``k``, ``beta`` (MB/ms); or pass ``service=`` (any
        service accepted by :func:`effective_capacity`; its mean replaces ``k beta``).

    Examples
    --------
    >>> delay_bound(0, 1.0, 1.5, 4.0)
    0.0
    >>> delay_bound(2, 1.0, 1.5, 4.0, kind="avg")
    1.0
    """
    if kind not in ("ec", "avg"):
        raise ScenarioError(f"must be 'ec' or 'avg', got {kind!r}", field="kind")
    if not 0 < epsilon < 1:
        raise ScenarioError(f"must be in (0, 1), got {epsilon}", field="epsilon")
    if service is None:
        g, _ = _g_gamma(y, work, shape, scale, epsilon, slot, window, kind, fallback)
        return float(g) if np.ndim(g) == 0 else g
    mean = service_mean(service)
    ys = np.atleast_1d(np.asarray(y, dtype=float))
    out = np.empty(ys.shape)
    for i, yi in enumerate(ys):
        r = yi * work / window
        g_avg = max(slot, yi * work / mean)
        if yi == 0:
            out[i] = 0.0
        elif kind == "avg":
            out[i] = g_avg
        elif r >= mean:
            out[i] = yi * work / mean if fallback else np.inf
        else:
            th = qos_exponent(r, service, slot)
            tail = np.log(r / (mean * epsilon)) / (th * r) if np.isfinite(th) else -np.inf
            out[i] = max(g_avg, tail)
    return float(out[0]) if np.ndim(y) == 0 else out.reshape(np.shape(y))


@dataclass(frozen=True)
class DelayTable:
    """Tabulated E21 delays ``g[m, y]`` for ``y = 0..y_max`` (ms).

    Attributes
    ----------
    g : array, shape (n_ms, y_max + 1)
        Delay bound per microservice and parallelism (read-only).
    fallback_mask : array of bool, same shape
        Entries where ``r >= k beta`` (no theta*); they hold ``inf`` or, with
        ``fallback=True``, the mean service time.
    status : str
        ``"ok"``, ``"fallback"`` (some entries fell back) or ``"unbounded"`` (some inf).
    """

    g: np.ndarray
    kind: str
    epsilon: float
    slot: float
    window: float
    fallback: bool
    fallback_mask: np.ndarray
    status: str = field(default="ok")

    @property
    def y_max(self) -> int:
        return self.g.shape[1] - 1

    @property
    def n_fallback(self) -> int:
        """Number of (m, y) entries with no QoS exponent."""
        return int(self.fallback_mask.sum())

    def __call__(self, m, y):
        """``g[m, y]``; ``inf`` for ``y > y_max``."""
        y = np.asarray(y)
        ok = y <= self.y_max
        val = self.g[m, np.where(ok, y, 0)]
        val = np.where(ok, val, np.inf)
        return float(val) if val.ndim == 0 else val


def _attr(o, names):
    for n in names:
        if hasattr(o, n):
            return getattr(o, n)
        if isinstance(o, dict) and n in o:
            return o[n]
    raise ScenarioError(f"microservice needs one of {names}", field="ms_list")


def delay_table(work, shape=None, scale=None, y_max: int = 20, epsilon: float = 0.2,
                slot: float = 1.0, window: float = 1.0, kind: str = "ec",
                fallback: bool = False) -> DelayTable:
    """Tabulate E21 ``g[m, y]`` for all light microservices ``m`` and ``y = 0..y_max``.

    Parameters
    ----------
    work : array, shape (n_ms,), or sequence of objects
        Work per job ``a`` (MB); or objects / dicts with attributes ``work|a``,
        ``shape|k``, ``scale|beta`` (then ``shape``/``scale`` are omitted).
    shape, scale : array, shape (n_ms,)
        Gamma service parameters ``k``, ``beta`` per microservice.
    kind : {"ec", "avg"}
        Statistical (E21) or mean-rate (PropAvg) delay.

    Examples
    --------
    >>> t = delay_table([1.0, 2.0], [1.0, 2.0], [5.0, 5.0], y_max=3)
    >>> t.g.shape, t.status
    ((2, 4), 'ok')
    """
    if kind not in ("ec", "avg"):
        raise ScenarioError(f"must be 'ec' or 'avg', got {kind!r}", field="kind")
    if not 0 < epsilon < 1:
        raise ScenarioError(f"must be in (0, 1), got {epsilon}", field="epsilon")
    if shape is None:
        objs: Sequence = list(work)
        work = [_attr(o, ("work", "a")) for o in objs]
        shape = [_attr(o, ("shape", "k")) for o in objs]
        scale = [_attr(o, ("scale", "beta")) for o in objs]
    a, k, b = (np.asarray(v, dtype=float).ravel() for v in (work, shape, scale))
    for name, v in (("work", a), ("shape", k), ("scale", b)):
        if v.shape != a.shape or not (np.isfinite(v).all() and (v > 0).all()):
            raise ScenarioError(f"must be {a.size} finite values > 0", field=name)
    y = np.arange(int(y_max) + 1)[None, :]
    g, fb = _g_gamma(y, a[:, None], k[:, None], b[:, None], epsilon, slot, window, kind, fallback)
    g, fb = np.array(g, dtype=float), np.array(fb, dtype=bool)
    g.setflags(write=False)
    fb.setflags(write=False)
    status = "ok" if not fb.any() else ("fallback" if fallback else "unbounded")
    return DelayTable(g, kind, float(epsilon), float(slot), float(window), bool(fallback), fb, status)
