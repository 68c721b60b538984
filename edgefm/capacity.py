"""Effective capacity, effective bandwidth and the QoS exponent of a service process (E20).

Implements Eq. E20 (effective capacity of a service process; Wu & Negi, IEEE TWC
2003) and the QoS exponent it defines, plus the effective bandwidth of arrivals
(Chang 1994; Kelly 1996) for admission tests. The statistical delay bound E21 built
on them (``g_eps(y)`` of a light microservice running ``y`` jobs on one instance)
is one floor up, in :mod:`edgefm.delay`.

Units: work in MB, time in ms, rates in MB/ms, the QoS exponent ``theta`` in 1/MB
(so ``theta * c * slot`` is dimensionless).

Numerics: every closed form is written with ``log1p``/``expm1`` so that
``theta -> 0`` gives the mean without cancellation, and every expectation of an
exponential is taken on log scale (shifted by the mean or by the peak of the
integrand) so that ``theta -> inf`` gives the essential infimum without overflow.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import integrate, optimize, special

from edgefm.errors import EdgeFMError, ScenarioError

__all__ = [
    "NoQoSExponentError",
    "MarkovService",
    "PoissonArrivals",
    "gilbert_elliott",
    "effective_capacity",
    "effective_bandwidth",
    "admissible",
    "service_mean",
    "service_infimum",
    "qos_exponent",
    "gamma_qos_exponent",
    "critical_exponent",
]


class NoQoSExponentError(EdgeFMError, ValueError):
    """The requested rate is at or above the mean service rate: ``EC(theta) = rate``
    has no positive root and the delay is unbounded (Eq. E21)."""


# ----------------------------------------------------------------------------- service models
@dataclass(frozen=True)
class MarkovService:
    """Markov-modulated service: in a slot spent in state ``i`` the rate is ``rates[i]``.

    Parameters
    ----------
    P : array, shape (n, n)
        Row-stochastic transition matrix of the modulating chain (one step per slot).
    rates : array, shape (n,)
        Service rate (MB/ms) in each state.
    """

    P: np.ndarray
    rates: np.ndarray

    def __post_init__(self):
        P = np.array(self.P, dtype=float)
        c = np.array(self.rates, dtype=float).ravel()
        n = c.size
        if P.shape != (n, n) or n == 0:
            raise ScenarioError(f"P must be ({n}, {n}) to match rates, got {P.shape}", field="P")
        if (P < 0).any() or not np.allclose(P.sum(axis=1), 1.0, atol=1e-9):
            raise ScenarioError("rows must be non-negative and sum to 1", field="P")
        if not np.isfinite(c).all():
            raise ScenarioError("rates must be finite", field="rates")
        P.setflags(write=False)
        c.setflags(write=False)
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "rates", c)

    @property
    def stationary(self) -> np.ndarray:
        """Stationary distribution ``pi`` (``pi P = pi``, ``sum pi = 1``)."""
        n = self.rates.size
        A = np.vstack([self.P.T - np.eye(n), np.ones(n)])
        b = np.zeros(n + 1)
        b[-1] = 1.0
        pi = np.linalg.lstsq(A, b, rcond=None)[0]
        return np.clip(pi, 0.0, None) / np.clip(pi, 0.0, None).sum()

    def mean(self) -> float:
        """Long-run mean rate ``pi . rates`` (= EC(0))."""
        return float(self.stationary @ self.rates)

    def asymptotic_variance(self) -> float:
        """``lim Var(sum_{t<n} c_t) / n`` via the fundamental matrix ``Z = (I - P + 1 pi)^-1``."""
        pi, n = self.stationary, self.rates.size
        f = self.rates - pi @ self.rates
        Z = np.linalg.inv(np.eye(n) - self.P + np.outer(np.ones(n), pi))
        return float(max(2.0 * pi @ (f * (Z @ f)) - pi @ (f * f), 0.0))

    def min_cycle_mean(self) -> float:
        """Smallest average rate over a cycle of the transition graph (Karp 1978) = EC(inf)."""
        c, adj = self.rates, self.P > 0
        n = c.size
        d = np.full((n + 1, n), np.inf)
        d[0] = 0.0
        for k in range(1, n + 1):  # d[k, v] = min over walks of k steps ending in v
            d[k] = np.where(adj, (d[k - 1] + c)[:, None], np.inf).min(axis=0)
        with np.errstate(invalid="ignore"):
            ratios = (d[n][None, :] - d[:n]) / (n - np.arange(n))[:, None]
        ratios = np.where(np.isfinite(d[n])[None, :], ratios, -np.inf)
        best = np.nanmax(ratios, axis=0)
        return float(best[np.isfinite(d[n])].min())


def gilbert_elliott(p_gb: float, p_bg: float, c_good: float, c_bad: float) -> MarkovService:
    """Two-state Gilbert–Elliott channel: good -> bad w.p. ``p_gb``, bad -> good w.p. ``p_bg``.

    Examples
    --------
    >>> s = gilbert_elliott(0.1, 0.3, 10.0, 1.0)
    >>> round(s.mean(), 6)  # pi_good = 0.3 / 0.4
    7.75
    """
    for name, p in (("p_gb", p_gb), ("p_bg", p_bg)):
        if not 0.0 <= p <= 1.0:
            raise ScenarioError(f"must be a probability in [0, 1], got {p}", field=name)
    P = [[1.0 - p_gb, p_gb], [p_bg, 1.0 - p_bg]]
    return MarkovService(np.array(P), np.array([c_good, c_bad], dtype=float))


@dataclass(frozen=True)
class PoissonArrivals:
    """Compound Poisson arrivals: jobs at ``rate`` per ms, each of ``size`` MB.

    ``size`` is a float (constant), a scipy frozen distribution, or 1-D samples.
    """

    rate: float
    size: Any = 1.0

    def __post_init__(self):
        if not (np.isfinite(self.rate) and self.rate >= 0):
            raise ScenarioError(f"must be finite and >= 0, got {self.rate}", field="rate")


# ----------------------------------------------------------------------------- helpers
_PARAMS = {"gamma": ("a", "loc", "scale"), "erlang": ("a", "loc", "scale"),
           "expon": ("loc", "scale"), "norm": ("loc", "scale"), "poisson": ("mu", "loc")}


def _frozen(x) -> bool:
    return hasattr(x, "dist") and hasattr(x, "args") and hasattr(x, "support")


def _params(dist) -> tuple[str, dict] | None:
    name = getattr(dist.dist, "name", "")
    if name not in _PARAMS:
        return None
    p = {"loc": 0.0, "scale": 1.0}
    p.update(dict(zip(_PARAMS[name], dist.args)))
    p.update(dist.kwds)
    return name, {k: float(v) for k, v in p.items()}


def _theta(theta, slot) -> tuple[np.ndarray, bool]:
    th = np.asarray(theta, dtype=float)
    if np.isnan(th).any() or (th < 0).any():
        raise ScenarioError(f"must be >= 0, got {theta!r}", field="theta")
    if not (np.isfinite(slot) and slot > 0):
        raise ScenarioError(f"must be finite and > 0, got {slot}", field="slot")
    return th, th.ndim == 0


def _log_mean_exp(x: np.ndarray) -> float:
    """``ln mean(exp(x))`` without overflow, and via ``log1p(mean(expm1(x)))`` for small x."""
    if x.size and np.max(np.abs(x)) < 1e-3:
        return float(np.log1p(np.mean(np.expm1(x))))
    return float(special.logsumexp(x) - np.log(x.size))


def _samples(x) -> np.ndarray | None:
    if _frozen(x) or isinstance(x, (MarkovService, PoissonArrivals)) or np.ndim(x) != 1:
        return None
    s = np.asarray(x, dtype=float)
    if s.size == 0 or not np.isfinite(s).all():
        raise ScenarioError("samples must be a non-empty finite 1-D array", field="service")
    return s


def service_mean(service) -> float:
    """Mean service rate ``E[c]`` = EC(0) (Eq. E20)."""
    s = _samples(service)
    if s is not None:
        return float(s.mean())
    if isinstance(service, MarkovService):
        return service.mean()
    if _frozen(service):
        return float(service.mean())
    return float(service)


def service_infimum(service) -> float:
    """Essential infimum of the service rate = EC(inf) (Eq. E20)."""
    s = _samples(service)
    if s is not None:
        return float(s.min())
    if isinstance(service, MarkovService):
        return service.min_cycle_mean()
    if _frozen(service):
        return float(service.support()[0])
    return float(service)


def _numeric_log_mgf(dist, t: float) -> float:
    """``ln E[exp(-t (c - mu))]`` for a frozen scipy distribution by quadrature.

    Moderate ``t``: integrate ``(expm1(-t(c-mu)) + t(c-mu)) f(c)`` (exact zero mean of
    the linear term, no cancellation as t -> 0). Large ``t``: integrate
    ``exp(h(c) - h*)`` with ``h = -t(c - lo) + log f(c)`` around its peak.
    """
    mu = float(dist.mean())
    lo, hi = (float(v) for v in dist.support())
    lo_eff = lo if np.isfinite(lo) else float(dist.ppf(1e-16))
    hi_eff = hi if np.isfinite(hi) else float(dist.isf(1e-16))
    discrete = not hasattr(dist.dist, "pdf")
    if discrete:
        k = np.arange(np.floor(lo_eff), np.ceil(hi_eff) + 1)
        x = -t * (k - mu)
        if t * (mu - lo_eff) <= 30.0:
            return float(np.log1p(max(np.sum((np.expm1(x) - x) * dist.pmf(k)), 0.0)))
        return float(special.logsumexp(x + dist.logpmf(k)))
    if t * (mu - lo_eff) <= 30.0:
        def g(c):
            x = -t * (c - mu)
            return (np.expm1(x) - x) * dist.pdf(c)

        pts = [float(dist.ppf(q)) for q in (1e-3, 0.1, 0.5, 0.9, 0.999)]
        pts = sorted({p for p in pts if lo_eff < p < hi_eff})
        J = integrate.quad(g, lo_eff, hi_eff, points=pts, limit=200, epsabs=0, epsrel=1e-10)[0]
        return float(np.log1p(max(J, 0.0)))
    # peak-shifted path
    span = hi_eff - lo_eff
    grid = np.concatenate([dist.ppf(np.linspace(1e-12, 1 - 1e-12, 201)),
                           lo_eff + span * np.geomspace(1e-15, 1.0, 120)])
    grid = np.unique(grid[(grid >= lo_eff) & (grid <= hi_eff)])
    with np.errstate(divide="ignore"):
        h = -t * (grid - lo_eff) + dist.logpdf(grid)
    cs = float(grid[np.argmax(h)])
    M = float(np.max(h))
    with np.errstate(divide="ignore"):
        f = lambda c: np.exp(-t * (c - lo_eff) + dist.logpdf(c) - M)  # noqa: E731
    pts = sorted({p for p in (cs, cs + 1.0 / t, cs + 10.0 / t, cs + 60.0 / t) if lo_eff < p < hi_eff})
    edges = [lo_eff, *pts, hi_eff]
    I = sum(integrate.quad(f, a, b, limit=200, epsabs=0, epsrel=1e-10)[0]
            for a, b in zip(edges[:-1], edges[1:]))
    return float(-t * (lo_eff - mu) + M + np.log(I))


def _ec_positive(service, t: np.ndarray, method: str) -> np.ndarray:
    """EC values (MB/ms) at dimensionless ``t = theta * slot > 0`` (1-D array)."""
    s = _samples(service)
    if s is not None:
        mu = s.mean()
        return np.array([mu - _log_mean_exp(-ti * (s - mu)) / ti for ti in t])
    if isinstance(service, MarkovService):
        return _ec_markov(service, t)
    if _frozen(service):
        par = _params(service) if method == "auto" else None
        if par is not None:
            name, p = par
            if name in ("gamma", "erlang", "expon"):
                k = p.get("a", 1.0)
                return p["loc"] + k * np.log1p(t * p["scale"]) / t
            if name == "norm":
                return p["loc"] - t * p["scale"] ** 2 / 2.0
            if name == "poisson":
                return p["loc"] + p["mu"] * (-np.expm1(-t)) / t
        mu = float(service.mean())
        with warnings.catch_warnings():  # quad's round-off notices at the 1e-10 level
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            return np.array([mu - _numeric_log_mgf(service, float(ti)) / ti for ti in t])
    return np.full(t.shape, float(service))


def _ec_markov(ms: MarkovService, t: np.ndarray) -> np.ndarray:
    c, P = ms.rates, ms.P
    cmin, span = c.min(), c.max() - c.min()
    mu, v = ms.mean(), ms.asymptotic_variance()
    with np.errstate(divide="ignore"):
        logP = np.log(P)
    out = np.empty(t.shape)
    for i, ti in enumerate(t):
        if ti * span < 1e-5:  # second-order cumulant expansion, exact to O((t span)^2)
            out[i] = mu - ti * v / 2.0
        elif ti * span < 500:  # scale by exp(t c_min) so the matrix stays in [0, 1]
            rho = np.max(np.abs(np.linalg.eigvals(P * np.exp(-ti * (c - cmin))[None, :])))
            out[i] = cmin - np.log(rho) / ti
        else:  # entries would underflow: log-domain repeated squaring
            out[i] = cmin - _log_spectral_radius(logP - ti * (c - cmin)[None, :]) / ti
    return out


def _log_spectral_radius(L: np.ndarray, squarings: int = 64) -> float:
    """``ln rho(M)`` for ``M = exp(L)`` (entries may underflow) from
    ``ln rho = lim ln||M^N|| / N`` with ``N = 2^j`` by log-sum-exp matrix squaring."""
    sigma = float(np.max(L))
    B = L - sigma
    for j in range(squarings):
        B = special.logsumexp(B[:, :, None] + B[None, :, :], axis=1)
        s = float(np.max(B))
        B = B - s
        sigma = 2.0 * sigma + s
        if j > 8 and abs(s) < 1e-300:
            break
    return sigma / 2.0 ** (j + 1)


def effective_capacity(service, theta, slot: float = 1.0, *, method: str = "auto"):
    """Effective capacity EC(theta) of a service process (Eq. E20; Wu & Negi 2003).

    ``EC(theta) = -(1/(theta*slot)) ln E[exp(-theta c slot)]`` for i.i.d. per-slot
    rates ``c`` (MB/ms); for Markov-modulated rates the expectation is replaced by
    the spectral radius of ``P diag(exp(-theta c_i slot))``.

    Parameters
    ----------
    service : float, 1-D array, scipy frozen distribution or MarkovService
        Distribution of the per-slot service rate ``c``. A float is deterministic;
        an array is an empirical sample (log-mean-exp). Closed forms: gamma /
        erlang / exponential ``loc + k log1p(theta beta slot)/(theta slot)``, normal
        ``mu - theta slot sigma^2/2``, Poisson: the rate ``c`` itself is an integer
        ``loc + N``, ``N ~ Poisson(mu)`` (so ``E[exp(-theta c slot)] =
        exp(-theta loc slot) exp(mu (exp(-theta slot) - 1))``). Other frozen
        distributions use quadrature (assumes a support bounded below).
    theta : float or array
        QoS exponent(s) >= 0 (1/MB). ``0`` gives the mean, ``inf`` the essential
        infimum (minimum cycle mean for Markov service).
    slot : float
        Slot length ``Delta`` (ms).
    method : {"auto", "numeric"}
        ``"numeric"`` skips the closed forms (used to cross-check them).

    Returns
    -------
    float or array
        Same shape as ``theta``.

    Examples
    --------
    >>> from scipy import stats
    >>> float(effective_capacity(stats.gamma(2.0, scale=3.0), 0.0))
    6.0
    >>> round(float(effective_capacity(stats.expon(scale=2.0), 0.5)), 6)  # ln(2)/0.5
    1.386294
    """
    th, scalar = _theta(theta, slot)
    flat = th.ravel()
    out = np.empty(flat.shape)
    zero, inf = flat == 0, np.isinf(flat)
    out[zero] = service_mean(service)
    out[inf] = service_infimum(service)
    mid = ~(zero | inf)
    if mid.any():
        out[mid] = _ec_positive(service, flat[mid] * slot, method)
    out = out.reshape(th.shape)
    return float(out) if scalar else out


# ----------------------------------------------------------------------------- arrivals
def _log_mgf_size(size, t: np.ndarray) -> np.ndarray:
    """``E[expm1(t X)] / t`` for a job size X (float, frozen dist or samples); inf if divergent."""
    with np.errstate(over="ignore"):
        s = _samples(size)
        if s is not None:
            return np.array([np.mean(np.expm1(ti * s)) / ti for ti in t])
        if _frozen(size):
            par = _params(size)
            if par is not None and par[0] in ("gamma", "erlang", "expon"):
                k, b, loc = par[1].get("a", 1.0), par[1]["scale"], par[1]["loc"]
                ok = t * b < 1
                tb = np.where(ok, t * b, 0.0)
                val = np.expm1(t * loc - k * np.log1p(-tb)) / t
                return np.where(ok, val, np.inf)
            return np.array([size.expect(lambda x, ti=ti: np.expm1(ti * x)) / ti for ti in t])
        return np.expm1(t * float(size)) / t


def effective_bandwidth(arrivals, theta, slot: float = 1.0):
    """Effective bandwidth ``EB(theta) = (1/(theta slot)) ln E[exp(theta A slot)]`` (MB/ms).

    Parameters
    ----------
    arrivals : float, 1-D array, scipy frozen distribution or PoissonArrivals
        A float is a constant rate; an array / frozen distribution gives i.i.d.
        per-slot arrival rates (closed forms for gamma/exponential, normal,
        Poisson; quadrature otherwise). :class:`PoissonArrivals` is compound
        Poisson: ``EB = lambda E[exp(theta X) - 1] / theta`` (independent of the slot).
    theta : float or array
        ``>= 0``; ``0`` gives the mean rate, ``inf`` the essential supremum.

    Examples
    --------
    >>> round(float(effective_bandwidth(PoissonArrivals(2.0, 1.0), 1e-9)), 6)
    2.0
    """
    th, scalar = _theta(theta, slot)
    flat = th.ravel()
    out = np.empty(flat.shape)
    zero, inf = flat == 0, np.isinf(flat)
    mid = ~(zero | inf)
    t = flat[mid] * slot
    s = _samples(arrivals)
    if isinstance(arrivals, PoissonArrivals):
        sz = arrivals.size
        out[zero] = arrivals.rate * (service_mean(sz))
        out[inf] = np.inf if arrivals.rate > 0 else 0.0
        out[mid] = arrivals.rate * _log_mgf_size(sz, flat[mid])
    elif s is not None:
        mu = s.mean()
        out[zero], out[inf] = mu, s.max()
        out[mid] = [mu + _log_mean_exp(ti * (s - mu)) / ti for ti in t]
    elif _frozen(arrivals):
        mu = float(arrivals.mean())
        out[zero], out[inf] = mu, float(arrivals.support()[1])
        par = _params(arrivals)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            if par is not None and par[0] in ("gamma", "erlang", "expon"):
                k, b, loc = par[1].get("a", 1.0), par[1]["scale"], par[1]["loc"]
                out[mid] = np.where(t * b < 1, loc - k * np.log1p(-np.minimum(t * b, 1)) / t, np.inf)
            elif par is not None and par[0] == "norm":
                out[mid] = par[1]["loc"] + t * par[1]["scale"] ** 2 / 2.0
            elif par is not None and par[0] == "poisson":
                out[mid] = par[1]["loc"] + par[1]["mu"] * np.expm1(t) / t
            else:
                out[mid] = [mu + np.log(arrivals.expect(lambda x, ti=ti: np.exp(ti * (x - mu)))) / ti
                            for ti in t]
    else:
        out[:] = float(arrivals)
    out = out.reshape(th.shape)
    return float(out) if scalar else out


def admissible(arrivals, service, theta, slot: float = 1.0):
    """Admission test ``EB(theta) <= EC(theta)``: the queue meets QoS exponent ``theta``."""
    ok = np.asarray(effective_bandwidth(arrivals, theta, slot)) <= np.asarray(
        effective_capacity(service, theta, slot))
    return bool(ok) if ok.ndim == 0 else ok


# ----------------------------------------------------------------------------- QoS exponent
def gamma_qos_exponent(rate, shape, scale, slot: float = 1.0) -> np.ndarray:
    """Vectorised theta* for Gamma(shape, scale) service: ``k log1p(x)/x * beta = rate``,
    ``x = theta beta slot``, solved with the Lambert W branch -1 and polished by Newton.

    Returns ``inf`` where ``rate <= 0`` and ``nan`` where ``rate >= shape*scale``.
    """
    r, k, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (rate, shape, scale)))
    rho = r / (k * b)
    ok = (rho > 0) & (rho < 1)
    rr = np.where(ok, rho, 0.5)
    d = 1.0 - rr
    with np.errstate(all="ignore"):
        w = special.lambertw(-rr * np.exp(-rr), k=-1).real
        x = np.where(d < 1e-4, 2 * d + 8.0 / 3.0 * d * d, -w / rr - 1.0)
        for _ in range(4):  # Newton on f(x) = log1p(x) - rho x
            x = x - (np.log1p(x) - rr * x) / (1.0 / (1.0 + x) - rr)
    th = x / (b * slot)
    th = np.where(ok, th, np.where(rho <= 0, np.inf, np.nan))
    return th


def qos_exponent(rate: float, service, slot: float = 1.0) -> float:
    """QoS exponent theta* with ``EC(theta*) = rate`` (Eq. E21).

    Raises :class:`NoQoSExponentError` if ``rate >= E[c]``; returns ``inf`` if
    ``rate <= ess inf c``. Gamma service uses :func:`gamma_qos_exponent`; otherwise
    ``brentq`` on a geometrically grown bracket (EC is non-increasing).
    """
    rate = float(rate)
    mean, lo = service_mean(service), service_infimum(service)
    if not rate < mean:
        raise NoQoSExponentError(
            f"rate {rate:.6g} MB/ms >= mean service rate {mean:.6g} MB/ms: no QoS exponent "
            f"(delay unbounded); lower the load below the mean")
    if rate <= lo:
        return float("inf")
    f = lambda th: effective_capacity(service, th, slot) - rate  # noqa: E731
    # start at theta = 1 / (slot * mean) and walk a factor 4 until the sign changes
    a = 1.0 / (slot * max(abs(mean), 1e-300))
    if f(a) > 0:
        b = a * 4
        while f(b) > 0:
            a, b = b, b * 4
            if b > 1e300:
                return float("inf")
    else:
        a, b = a / 4, a
        while f(a) <= 0:
            a, b = a / 4, a
            if a < 1e-300:
                raise NoQoSExponentError(f"no QoS exponent found for rate {rate:.6g}")
    return float(optimize.brentq(f, a, b, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500))


def critical_exponent(arrivals, service, slot: float = 1.0) -> float:
    """Largest theta with ``EB(theta) <= EC(theta)`` (root of ``EC - EB``): the decay
    rate of the backlog tail, ``Pr{Q > x} ~ exp(-theta x)`` (Chang 1994).

    For constant arrivals at rate ``r`` this equals :func:`qos_exponent` ``(r, service)``.
    Raises :class:`NoQoSExponentError` if the mean arrival rate is not below the mean
    service rate.
    """
    if not isinstance(arrivals, (PoissonArrivals,)) and _samples(arrivals) is None \
            and not _frozen(arrivals):
        return qos_exponent(float(arrivals), service, slot)
    m_a, m_s = float(effective_bandwidth(arrivals, 0.0, slot)), service_mean(service)
    if not m_a < m_s:
        raise NoQoSExponentError(f"mean arrival rate {m_a:.6g} >= mean service rate {m_s:.6g} MB/ms")
    f = lambda th: effective_capacity(service, th, slot) - effective_bandwidth(arrivals, th, slot)  # noqa: E731
    a = b = 1.0 / (slot * m_s)
    while f(b) > 0:
        a, b = b, b * 2
        if b > 1e300:
            return float("inf")
    while f(a) <= 0:
        a = a / 2
    return float(optimize.brentq(f, a, b, xtol=1e-300, rtol=4 * np.finfo(float).eps))
