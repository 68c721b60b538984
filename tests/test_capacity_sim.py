"""Validation of the E21 delay-tail approximation against a Lindley queue simulation.

Measured (k in {1, 2}, loads 0.5-0.9, p_pred in [3e-3, 0.1], 1e6-2e6 slots, several
seeds): p_sim / p_pred in [0.49, 1.37] and the fitted decay rate within 20 % of
theta* r. At light load (0.3) and d of one to three slots the prefactor is off by
up to x1.7 (k = 1) and the comparison is not asserted. Asserted with margin:
ratio in [0.4, 2.5], slope within 25 %.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from edgefm.capacity import PoissonArrivals, critical_exponent, effective_capacity, gamma_qos_exponent
from edgefm.capacity_sim import calibration_table, predicted_tail, simulate_delay_tail, simulate_queue
from edgefm.errors import ScenarioError


def _loop_reference(A, S):
    """Plain per-slot Lindley recursion and delay search (small n only)."""
    n = len(A)
    Q = np.zeros(n)
    q = 0.0
    for t in range(n):
        q = max(0.0, q + A[t] - S[t])
        Q[t] = q
    tau = np.full(n, np.inf)
    for t in range(n):
        served, k = 0.0, 0
        while served < Q[t] and t + 1 + k < n:
            served += S[t + 1 + k]
            k += 1
        if served >= Q[t]:
            tau[t] = k
    return Q, tau


@pytest.mark.parametrize("arrivals", ["constant", "poisson"])
def test_vectorised_lindley_matches_loop(arrivals):
    rng = np.random.default_rng(5)
    A, D = simulate_queue(3.0, 1.5, 2.5, 3000, arrivals=arrivals, job_size=0.7, seed=rng)
    rng = np.random.default_rng(5)  # replay the same draws
    A2 = 0.7 * rng.poisson(3.0 / 0.7, 3000) if arrivals == "poisson" else np.full(3000, 3.0)
    S = rng.gamma(1.5, 2.5, 3000)
    np.testing.assert_allclose(A, A2)
    _, tau = _loop_reference(A, S)
    np.testing.assert_array_equal(D, tau)
    assert np.isfinite(D[:-50]).all() and (D > 0).any() and (D == 0).any()


def test_deterministic_given_seed():
    d = np.arange(1, 10.0)
    a = simulate_delay_tail(3.0, 1.5, 2.5, d, 50_000, arrivals="poisson", seed=11)
    b = simulate_delay_tail(3.0, 1.5, 2.5, d, 50_000, arrivals="poisson", seed=11)
    c = simulate_delay_tail(3.0, 1.5, 2.5, d, 50_000, arrivals="poisson", seed=12)
    assert a.equals(b) and not a.equals(c)
    assert (np.diff(a.p_sim) <= 0).all() and list(a.columns) == ["d", "p_sim", "n_exceed", "n"]


def test_overload_and_bad_input():
    # rate above the mean: the queue grows, almost every slot exceeds a short deadline
    df = simulate_delay_tail(6.0, 1.0, 5.0, [5.0], 20_000, seed=0)
    assert df.p_sim.iloc[0] > 0.9
    with pytest.raises(ScenarioError):
        simulate_queue(1.0, 1.0, 1.0, 10, arrivals="bursty")
    with pytest.raises(ScenarioError):
        simulate_queue(1.0, -1.0, 1.0, 10)


@pytest.fixture(scope="module")
def calib():
    """Calibration runs for k in {1, 2}, loads 0.5-0.9 (about 3 s)."""
    out = {}
    for k in (1.0, 2.0):
        out[k] = calibration_table([0.5, 0.7, 0.9], k, 5.0, p_levels=(0.1, 0.03, 0.01, 0.003),
                                   n_slots=2_000_000, seed=3)
    return out


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_e21_tail_ratio_in_tight_regime(calib, k):
    df = calib[k]
    assert (df.n_exceed >= 500).all()  # enough exceedances to estimate
    assert df.ratio.between(0.4, 2.5).all(), df.to_string()


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_e21_decay_rate_matches_theta_r(calib, k):
    for load, g in calib[k].groupby("load"):
        if len(g) < 3:
            continue
        slope = -np.polyfit(g.d, np.log(g.p_sim), 1)[0]
        theory = g.theta.iloc[0] * g.rate.iloc[0]
        assert slope == pytest.approx(theory, rel=0.25), (load, slope, theory)


def test_poisson_arrivals_decay_rate_is_critical_exponent():
    """With Poisson job arrivals the tail decays at theta_b EC(theta_b), EB(theta_b) =
    EC(theta_b) -- slower than the constant-rate theta* r (burstiness costs)."""
    k, b, r, s = 1.5, 5.0, 0.7 * 7.5, 2.0
    svc = stats.gamma(k, scale=b)
    th = critical_exponent(PoissonArrivals(r / s, s), svc)
    rate = th * effective_capacity(svc, th)
    assert rate < gamma_qos_exponent(r, k, b) * r
    d = np.arange(2.0, np.log(300) / rate, 1.0)
    df = simulate_delay_tail(r, k, b, d, 1_000_000, arrivals="poisson", job_size=s, seed=2)
    sel = (df.p_sim < 0.1) & (df.p_sim > 2e-3)
    assert sel.sum() >= 3
    slope = -np.polyfit(df.d[sel], np.log(df.p_sim[sel]), 1)[0]
    assert slope == pytest.approx(rate, rel=0.15)


def test_predicted_tail_formula():
    r, k, b = 3.0, 1.0, 5.0
    th = gamma_qos_exponent(r, k, b)
    assert predicted_tail(r, k, b, 0.0) == pytest.approx(0.6)
    assert predicted_tail(r, k, b, 2.0) == pytest.approx(0.6 * np.exp(-2 * th * r))
