"""Mean-value latency profile, load apportioning and QoS scores (docs/model.md §5.1–5.3, E15–E16).

Tier 1 of the paper places core microservices from *estimates*: every random
quantity is replaced by its mean and, for each (user u, task type n), a
min-plus dynamic program over the task DAG gives the earliest mean time at
which each stage can start (``prefix``) and finish (``finish``) on each node:

    prefix(m, v) = τ̄_ul + transfer(A_n, gw(u) → v)                     (root stages)
    prefix(m, v) = max_{parents p} min_s [finish(p, s) + transfer(b_p, s → v)]
    finish(m, v) = prefix(m, v) + a_m / f̄_m

with +∞ (in both) on the nodes where m does not fit even alone (r_{m,k} > R_{v,k}
for some k). From it:

* load apportioning (E15): z̃_{v,m} = Σ_{(u,n) ∋ m} λ_{u,n} Δ · w_{u,n,m}(v), with softmin
  weights w ∝ exp(−δ (prefix(m, v) − min_s prefix(m, s))), normalised over v;
* QoS score (E16): urgency u_n(v, m) = max((D_n − finish(m, v)) / max(Σ_{descendants} a/f̄, Δ), u_min),
  Q_{v,m} = z̃_{v,m} · Σ_{(u,n) ∋ m} u_n(v, m);
* occupancy demand N_m = max(1, ⌈Σ_{(u,n) ∋ m} λ_{u,n} a_m / f_m⌉) (mean concurrent jobs, Little's law),
  and the expected occupancy each (node, MS) pair serves, z̃_{v,m}/Δ · a_m/f̄_m, used by the
  bounded variant of E14.

With the wireless uplink enabled, τ̄_ul uses the mean fading gain Ω in E1 (the profile is a mean-value
estimate: A_n / (bandwidth · log2(1 + snr · Ω))); it is 0 when the uplink is off (the paper default).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..network import network
from ..scenario.schema import Scenario

__all__ = ["MeanProfile", "mean_profile", "fits_alone", "occupancy_demand"]

_TOL = 1e-9
#: Largest mean occupancy N_m counted (2^53: integers above it are not exact in float64, and the
#: int64 instance counts built from it would overflow soon after); no scenario can host more.
_MAX_COUNT = float(2 ** 53)


def _ro(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def fits_alone(scenario: Scenario, reserve: float = 0.0) -> np.ndarray:
    """Whether one instance of MS m fits on node v, shape (M, V) bool.

    ``reserve`` is the fraction of every capacity kept free (R_{v,k} (1 − reserve)).
    """
    R = scenario.capacity * (1.0 - reserve)
    r = scenario.demand
    return np.all(r[:, None, :] <= R[None, :, :] + _TOL, axis=2)


def occupancy_demand(scenario: Scenario) -> np.ndarray:
    """N_m = max(1, ⌈Σ_{(u,n) ∋ m} λ_{u,n} a_m / f̄_m⌉), shape (M,) int (docs/model.md §5.4); 0 for an MS
    that no task type uses.

    The mean number of jobs of m in service at once (Little's law with the
    mean service time a_m / f̄_m); the ceiling ignores round-off below 1e-9.
    """
    lam = scenario.arrival_rates  # (U, N)
    out = np.zeros(scenario.n_ms, dtype=int)  # 0 for an MS no task type uses: nothing to place
    for m in scenario.used_ms:
        ms = scenario.microservices[m]
        rate = sum(float(lam[:, n].sum()) for n in range(scenario.n_types) if scenario.uses(n, m))
        occ = rate * ms.mean_service_ms
        if not occ < _MAX_COUNT:  # also NaN: a count no node set can host, and past int64 arithmetic
            from ..errors import InfeasibleError

            raise InfeasibleError(f"microservice {ms.name} needs {occ:.3g} instances in service on average "
                                  f"(arrival rate x mean service time at load {scenario.load:g}); no placement "
                                  f"can host more than {_MAX_COUNT:.0e}")
        out[m] = max(1, math.ceil(occ - _TOL))
    return _ro(out)


@dataclass(frozen=True, eq=False)
class MeanProfile:
    """Mean-value profile of a scenario (docs/model.md §5.1–5.3).

    Attributes
    ----------
    prefix, finish : ndarray, shape (U, N, M, V)
        Mean earliest start / finish (ms after arrival) of MS m of type n for user u
        on node v; +∞ where m is not in type n or does not fit on v.
    urgency : ndarray, shape (U, N, M, V)
        u_n(v, m) of E16 (``u_min`` where finish is +∞); 0 where m is not in n.
    uses : ndarray, shape (N, M) bool
        Whether task type n contains MS m.
    fits : ndarray, shape (M, V) bool
        Whether one instance of m fits on v alone.
    z : ndarray, shape (V, M)
        Apportioned load z̃_{v,m} (tasks per slot), E15.
    score : ndarray, shape (V, M)
        QoS score Q_{v,m}, E16.
    occupancy : ndarray, shape (V, M)
        Expected mean occupancy of pair (v, m): z̃_{v,m} / Δ · a_m / f̄_m.
    n_min : ndarray, shape (M,) int
        Occupancy demand N_m.
    """

    prefix: np.ndarray
    finish: np.ndarray
    urgency: np.ndarray
    uses: np.ndarray
    fits: np.ndarray
    z: np.ndarray
    score: np.ndarray
    occupancy: np.ndarray
    n_min: np.ndarray
    delta: float
    u_min: float


def _uplink_mean(scenario: Scenario, input_mb: float) -> float:
    up = scenario.uplink
    if not up.enabled:
        return 0.0
    return input_mb / (up.bandwidth * math.log2(1.0 + up.snr * up.omega))


def mean_profile(scenario: Scenario, *, delta: float | None = None, u_min: float | None = None) -> MeanProfile:
    """Compute the mean-value profile, E15 loads and E16 scores of a scenario.

    Parameters
    ----------
    scenario : Scenario
    delta : float, optional
        Softmin temperature δ of E15 (1/ms); default ``scenario.placement.delta``.
    u_min : float, optional
        Urgency floor of E16; default ``scenario.placement.u_min``.

    Returns
    -------
    MeanProfile

    Notes
    -----
    Implements docs/model.md §5.1 (min-plus DP per (user, type), vectorised over nodes),
    E15 and E16. Cost O(U · Σ_n |G_n| · V²).

    Examples
    --------
    >>> import edgefm
    >>> s = edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=0)
    >>> p = mean_profile(s)
    >>> p.score.shape == (s.n_nodes, s.n_ms)
    True
    """
    pp = scenario.placement
    delta = pp.delta if delta is None else float(delta)
    u_min = pp.u_min if u_min is None else float(u_min)
    net = network(scenario)
    U, N, M, V = scenario.n_users, scenario.n_types, scenario.n_ms, scenario.n_nodes
    dt = scenario.slot_ms
    mss = scenario.microservices
    service = np.array([m.mean_service_ms for m in mss])  # a_m / f̄_m
    fits = fits_alone(scenario)
    lam = scenario.arrival_rates

    prefix = np.full((U, N, M, V), np.inf)
    finish = np.full((U, N, M, V), np.inf)
    urgency = np.zeros((U, N, M, V))
    uses = np.zeros((N, M), dtype=bool)
    z = np.zeros((V, M))
    usum = np.zeros((V, M))

    for n, tt in enumerate(scenario.task_types):
        uses[n, list(tt.stages)] = True
        t_in = net.transfer_matrix(tt.input_mb)  # (V, V)
        t_out = [net.transfer_matrix(mss[m].output) for m in tt.stages]
        desc = [max(sum(service[tt.stages[j]] for j in tt.descendants(i)), dt) for i in range(tt.n_stages)]
        for u, user in enumerate(scenario.users):
            fin = np.full((tt.n_stages, V), np.inf)
            for i, m in enumerate(tt.stages):
                par = tt.parents[i]
                if not par:
                    pre = _uplink_mean(scenario, tt.input_mb) + t_in[user.gateway]
                else:
                    # max over parents of the min-plus product finish(p, ·) ⊗ transfer(b_p)
                    pre = np.max([np.min(fin[p][:, None] + t_out[p], axis=0) for p in par], axis=0)
                pre = np.where(fits[m], pre, np.inf)
                fin[i] = pre + service[m]
                prefix[u, n, m] = pre
                finish[u, n, m] = fin[i]
                with np.errstate(invalid="ignore"):
                    urg = np.maximum((tt.deadline_ms - fin[i]) / desc[i], u_min)
                urg = np.where(np.isfinite(fin[i]), urg, u_min)
                urgency[u, n, m] = urg
                usum[:, m] += urg
                # E15: softmin weights over nodes, min subtracted first for stability; the nodes
                # left out get the min too (exp(0), then masked): np.where evaluates both branches,
                # and 0 - min would overflow exp when delays are long (slow links)
                ok = np.isfinite(pre)
                if ok.any():
                    lo = pre[ok].min()
                    w = np.where(ok, np.exp(-delta * (np.where(ok, pre, lo) - lo)), 0.0)
                    z[:, m] += lam[u, n] * dt * w / w.sum()
    score = z * usum  # E16
    occupancy = z / dt * service[None, :]
    return MeanProfile(
        prefix=_ro(prefix), finish=_ro(finish), urgency=_ro(urgency), uses=_ro(uses), fits=_ro(fits),
        z=_ro(z), score=_ro(score), occupancy=_ro(occupancy), n_min=occupancy_demand(scenario),
        delta=delta, u_min=u_min,
    )
