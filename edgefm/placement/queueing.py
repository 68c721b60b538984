"""Queue sizing of a pooled microservice: how many instances keep waiting within a budget.

The ``edgefm`` method sizes every microservice from its queue, not its mean
(docs/model.md, E22–E23). A microservice m with c instances is treated as one
pooled c-server queue (the engine sends each core stage to the instance where it
starts first, and the ``edgefm`` controller routes light stages the same way):
jobs arrive at rate λ (jobs/ms), each takes s ms on average (a_m / f_m).

Waiting-time tail (E22). For c servers at offered load A = λs < c,

    Pr{W > t} ≈ C(c, A) · exp(−2 (c/s − λ) t / (c_a² + c_s²)),

where C(c, A) is the Erlang-C probability of waiting and c_a², c_s² are the
squared coefficients of variation of the inter-arrival and service times. With
c_a² = c_s² = 1 it is the exact M/M/c tail; for other c_s² it is the
heavy-traffic (diffusion) decay rate of the GI/G/c queue (Kingman 1962; Whitt,
*Approximations for the GI/G/m queue*, 1993), with the M/M/c probability of
waiting as the prefactor, which over-states the probability of waiting of an
M/D/c queue (deterministic core service, c_s² = 0), so the sizing errs on the
safe side. ``tests/test_queueing.py`` checks it against the simulator.

Sizing (E23). The largest admissible rate g(c) of c instances is the largest λ
with Pr{W > w} ≤ ε for the waiting budget w; the count for a rate λ is the
smallest c with g(c) ≥ λ.

Light microservices (E23b). A light instance's rate is redrawn every slot
(Gamma(k, β)), so its service is a random *environment*, not an i.i.d. job size,
and the diffusion formula above under-states its tail. Light pools are sized with
the effective-capacity machinery instead (Wu & Negi 2003; Chang, *Performance
Guarantees in Communication Networks*, 2000): per slot Δ, Poisson arrivals of
jobs of a MB have log-MGF λΔ(e^{θa} − 1), c instances serve Σ Gamma(k, β)Δ with
log-MGF −ck ln(1 + θβΔ), and the delay tail is Pr{W > w} ≈ exp(−θ* r w) with
r = λa and θ* the root of EB(θ) = EC(θ). Pr{W > w} ≤ ε therefore holds when
θ* ≥ θ_ε = ln(1/ε)/(r w), i.e. when EB(θ_ε) ≤ EC(θ_ε):

    c ≥ λΔ (e^{θ_ε a} − 1) / (k ln(1 + θ_ε β Δ)).

That pools the instances' random rates. The engine commits a light job to one
instance when it is routed, so the ``edgefm`` plan sizes light pools *split*: c
separate queues, each fed λ/c, each meeting the condition above with k, β of one
instance (``light_servers(..., split=True)``); pooling would under-size a pool run
near saturation (a 10-instance pool at 96 % utilisation waited 40 ms on germany50).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["erlang_c", "wait_tail", "max_rate", "servers_for", "light_servers"]


def erlang_c(c: int, load: float) -> float:
    """Erlang-C probability that an arrival waits, for ``c`` servers at offered load A = λs.

    Computed through the Erlang-B recursion B_k = A B_{k−1} / (k + A B_{k−1}),
    C = c B_c / (c − A (1 − B_c)), stable for large c. Returns 1 for A ≥ c.

    Examples
    --------
    >>> round(erlang_c(1, 0.5), 12)   # M/M/1: Pr{wait} = ρ
    0.5
    >>> round(erlang_c(2, 1.0), 12)   # A²/2 · 2/(2−A) / (1 + A + A²/2 · 2/(2−A)) = 1/3
    0.333333333333
    """
    c = int(c)
    if c <= 0 or load >= c:
        return 1.0
    if load <= 0:
        return 0.0
    b = 1.0
    for k in range(1, c + 1):
        b = load * b / (k + load * b)
    return c * b / (c - load * (1.0 - b))


def wait_tail(t: float, c: int, rate: float, service: float, cs2: float = 0.0, ca2: float = 1.0) -> float:
    """Pr{W > t} of a c-server queue (E22; module doc).

    Parameters
    ----------
    t : float
        Waiting time (ms), ≥ 0.
    c : int
        Servers (instances).
    rate : float
        Arrival rate λ (jobs/ms).
    service : float
        Mean service time s (ms).
    cs2, ca2 : float
        Squared coefficients of variation of service and inter-arrival times
        (0 and 1: deterministic service, Poisson arrivals).

    Returns
    -------
    float
        1 when the queue is unstable (λs ≥ c).
    """
    load = rate * service
    if c <= 0 or load >= c:
        return 1.0
    theta = 2.0 * (c / service - rate) / max(ca2 + cs2, 1e-12)
    return min(1.0, erlang_c(c, load) * math.exp(-theta * max(t, 0.0)))


def max_rate(c: int, service: float, budget: float, eps: float, cs2: float = 0.0, ca2: float = 1.0,
             rtol: float = 1e-9) -> float:
    """g(c): the largest arrival rate (jobs/ms) with Pr{W > budget} ≤ eps on c instances (E23).

    Bisection on λ ∈ [0, c/s), where the tail is increasing in λ. 0 for c = 0.

    Examples
    --------
    >>> g1 = max_rate(1, service=1.0, budget=0.0, eps=0.5)   # M/D/1, Pr{wait} = ρ ≤ 0.5
    >>> round(g1, 6)
    0.5
    >>> max_rate(4, 1.0, 5.0, 0.05) > 2 * max_rate(2, 1.0, 5.0, 0.05)   # pooling gains
    True
    """
    if c <= 0:
        return 0.0
    hi = c / service
    lo = 0.0
    if wait_tail(budget, c, hi * (1 - 1e-12), service, cs2, ca2) <= eps:
        return hi * (1 - 1e-12)
    while hi - lo > rtol * (c / service):
        mid = 0.5 * (lo + hi)
        if wait_tail(budget, c, mid, service, cs2, ca2) <= eps:
            lo = mid
        else:
            hi = mid
    return lo


def servers_for(rate: float, service: float, budget: float, eps: float, cs2: float = 0.0, ca2: float = 1.0,
                c_max: int = 10_000) -> int:
    """The smallest c with g(c) ≥ ``rate`` (E23); 0 for a zero rate.

    Raises
    ------
    ValueError
        When no c ≤ ``c_max`` suffices.

    Examples
    --------
    >>> servers_for(0.0, 1.0, 5.0, 0.05)
    0
    >>> c = servers_for(7.3, 1.0, 5.0, 0.05)
    >>> max_rate(c - 1, 1.0, 5.0, 0.05) < 7.3 <= max_rate(c, 1.0, 5.0, 0.05)
    True
    """
    if rate <= 0:
        return 0
    c = max(1, int(math.floor(rate * service)))
    while c <= c_max:
        if wait_tail(budget, c, rate, service, cs2, ca2) <= eps:
            return c
        c += 1
    raise ValueError(f"no server count up to {c_max} keeps Pr{{W > {budget:g}}} <= {eps:g} at rate {rate:g}")


def rate_table(c_max: int, service: float, budget: float, eps: float, cs2: float = 0.0) -> np.ndarray:
    """g(c) for c = 0 … c_max, shape (c_max + 1,)."""
    return np.array([max_rate(c, service, budget, eps, cs2) for c in range(c_max + 1)])


def light_servers(rate: float, work: float, shape: float, scale: float, budget: float, eps: float,
                  slot: float = 1.0, split: bool = False) -> int:
    """Smallest light pool c with Pr{W > budget} ≤ eps by effective capacity (E23b; module doc).

    Parameters
    ----------
    rate : float
        Job arrival rate λ (jobs/ms).
    work : float
        Work per job a (MB).
    shape, scale : float
        Gamma(k, β) rate of one instance (MB/ms).
    budget : float
        Waiting budget w (ms); at least one slot is used.
    eps : float
    slot : float
        Slot length Δ (ms).
    split : bool
        Size c separate queues, each fed 1/c of the jobs (no pooling of the instances' random
        rates: jobs are committed to an instance when routed), instead of one pooled queue.

    Returns
    -------
    int
        0 for a zero rate; at least the stability count ⌈λa / (kβ)⌉.

    Examples
    --------
    >>> light_servers(0.0, 1.0, 1.5, 10.0, 10.0, 0.05)
    0
    >>> light_servers(5.0, 1.0, 1.0, 10.0, 10.0, 0.05)   # 5 MB/ms offered, 10 MB/ms mean per instance
    1
    >>> light_servers(5.0, 1.0, 1.0, 10.0, 1.0, 0.05) > 1   # a 1 ms budget needs more
    True
    """
    if rate <= 0:
        return 0
    r = rate * work
    stable = math.ceil(r / (shape * scale) * (1 + 1e-9))
    if not split:
        theta = math.log(1.0 / eps) / (r * max(budget, slot))
        eb = rate * slot * math.expm1(min(theta * work, 700.0))
        ec_one = shape * math.log1p(theta * scale * slot)
        return max(1, stable, math.ceil(eb / ec_one - 1e-9))
    # split: each of c instances is its own queue fed 1/c of the jobs (jobs are committed to an
    # instance when routed, so the pool does not share its randomness); smallest such c
    # (splitting further makes each queue's θ_ε = ln(1/ε)/(λ_c a w) grow without bound, so the test can fail
    # for every c when ε is tiny: search a finite range and say so)
    c = max(1, stable)
    c_max = max(4 * c, c + 4096)
    while c <= c_max:
        lam = rate / c
        theta = math.log(1.0 / eps) / (lam * work * max(budget, slot))
        if lam * slot * math.expm1(min(theta * work, 700.0)) <= shape * math.log1p(theta * scale * slot):
            return c
        c += 1
    raise ValueError(f"no split light pool up to {c_max} instances keeps Pr{{W > {max(budget, slot):g}}} <= {eps:g} "
                     f"at rate {rate:g} (effective capacity, E23b)")
