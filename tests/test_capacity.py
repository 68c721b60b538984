"""Tests for edgefm.capacity (Eqs. E20–E21): closed forms, limits, properties."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from edgefm.capacity import (
    MarkovService,
    NoQoSExponentError,
    PoissonArrivals,
    admissible,
    critical_exponent,
    effective_bandwidth,
    effective_capacity,
    gamma_qos_exponent,
    gilbert_elliott,
    qos_exponent,
)
from edgefm.delay import DelayTable, delay_bound, delay_table
from edgefm.errors import EdgeFMError, ScenarioError

THETAS = np.array([0.0, 1e-12, 1e-6, 1e-3, 0.1, 1.0, 10.0, 1e3, 1e6, 1e12, np.inf])
k_st = st.floats(0.5, 3.0)
beta_st = st.floats(0.5, 20.0)
th_st = st.floats(1e-4, 1e3)


# ----------------------------------------------------------------------------- closed forms
def test_exponential_closed_form_by_hand():
    # E[exp(-t c)] = 1/(1 + t beta)  =>  EC = ln(1 + t beta)/t
    for th in (0.01, 0.5, 3.0):
        assert effective_capacity(stats.expon(scale=2.0), th) == pytest.approx(np.log(1 + 2 * th) / th, rel=1e-14)
    assert effective_capacity(stats.expon(scale=2.0), 0.5, slot=2.0) == pytest.approx(np.log(3.0) / 1.0)


def test_gamma_limits_and_extremes():
    g = stats.gamma(1.7, scale=4.0)
    ec = effective_capacity(g, THETAS)
    assert ec[0] == 1.7 * 4.0
    assert ec[1] == pytest.approx(6.8 - 1e-12 * 1.7 * 16 / 2, rel=1e-15)  # no cancellation
    assert ec[-2] == pytest.approx(1.7 * np.log1p(4e12) / 1e12, rel=1e-12)
    assert ec[-1] == 0.0
    assert np.all(np.isfinite(ec)) and np.all(np.diff(ec) <= 0)


def test_scalar_and_array_shapes():
    g = stats.gamma(2.0, scale=1.0)
    assert isinstance(effective_capacity(g, 0.3), float)
    assert effective_capacity(g, np.ones((2, 3))).shape == (2, 3)
    assert isinstance(effective_capacity(3.0, [0.1, 1.0]), np.ndarray)


def test_deterministic_and_normal_and_poisson():
    assert np.all(effective_capacity(2.5, THETAS) == 2.5)
    n = effective_capacity(stats.norm(5.0, 2.0), [0.0, 0.5, np.inf], slot=2.0)
    assert n[0] == 5.0 and n[1] == pytest.approx(5.0 - 0.5 * 2.0 * 4.0 / 2) and n[2] == -np.inf
    # c ~ Poisson(3): EC = 3 (1 - exp(-t))/t
    p = stats.poisson(3.0)
    assert effective_capacity(p, 2.0) == pytest.approx(3.0 * (1 - np.exp(-2.0)) / 2.0, rel=1e-14)
    assert effective_capacity(p, 1e-12) == pytest.approx(3.0, rel=1e-11)
    assert effective_capacity(p, np.inf) == 0.0


@pytest.mark.parametrize("dist", [stats.gamma(1.5, scale=4.0), stats.expon(scale=0.7),
                                  stats.gamma(2.0, loc=1.0, scale=3.0), stats.poisson(2.5)])
def test_closed_form_equals_numeric_path(dist):
    th = np.array([1e-12, 1e-6, 1e-3, 0.1, 1.0, 10.0, 1e3])
    np.testing.assert_allclose(effective_capacity(dist, th, method="numeric"),
                               effective_capacity(dist, th), rtol=1e-8)
    # at theta = 1e12 the quadrature resolves a peak of width 1e-12 to ~1e-5
    np.testing.assert_allclose(effective_capacity(dist, 1e12, method="numeric"),
                               effective_capacity(dist, 1e12), rtol=1e-4, atol=1e-15)


def test_generic_distribution_is_between_infimum_and_mean():
    u = stats.uniform(1.0, 3.0)  # c ~ U[1, 4]: E[exp(-tc)] = (e^-t - e^-4t)/(3t)
    ec = effective_capacity(u, THETAS)
    th = 0.7
    exact = -np.log((np.exp(-th) - np.exp(-4 * th)) / (3 * th)) / th
    assert effective_capacity(u, th) == pytest.approx(exact, rel=1e-9)
    assert ec[0] == 2.5 and ec[-1] == 1.0
    assert np.all(np.diff(ec) <= 1e-12) and ec[-2] == pytest.approx(1.0, abs=1e-9)


def test_empirical_samples_track_gamma():
    g = stats.gamma(1.5, scale=4.0)
    s = g.rvs(400_000, random_state=np.random.default_rng(3))
    th = np.array([1e-12, 0.01, 0.1, 0.5])
    np.testing.assert_allclose(effective_capacity(s, th), effective_capacity(g, th), rtol=0.01)
    assert effective_capacity(s, 0.0) == s.mean()
    assert effective_capacity(s, np.inf) == s.min()
    assert effective_capacity(s, 1e12) == pytest.approx(s.min(), rel=1e-6)
    # small theta: EC = mean - theta var / 2 + O(theta^2), resolved without cancellation
    assert effective_capacity(s, 1e-12) == pytest.approx(s.mean() - 1e-12 * s.var() / 2, abs=1e-14)


def test_bad_theta_raises():
    with pytest.raises(ScenarioError):
        effective_capacity(1.0, -0.1)
    with pytest.raises(EdgeFMError):
        effective_capacity(1.0, 0.1, slot=0.0)


# ----------------------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None)
@given(k_st, beta_st, st.floats(0.1, 5.0), st.lists(th_st, min_size=2, max_size=6))
def test_ec_monotone_and_bounded(k, beta, slot, ths):
    th = np.sort(np.array(ths))
    for svc in (stats.gamma(k, scale=beta), stats.poisson(k * beta)):
        ec = effective_capacity(svc, th, slot)
        assert np.all(np.diff(ec) <= 1e-9 * k * beta)
        assert np.all(ec <= k * beta * (1 + 1e-12)) and np.all(ec >= 0)


@settings(max_examples=40, deadline=None)
@given(k_st, k_st, beta_st, th_st)
def test_ec_additive_over_independent_gamma(k1, k2, beta, th):
    lhs = effective_capacity(stats.gamma(k1 + k2, scale=beta), th)
    rhs = effective_capacity(stats.gamma(k1, scale=beta), th) + effective_capacity(stats.gamma(k2, scale=beta), th)
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_ec_additive_empirical_sum():
    rng = np.random.default_rng(7)
    a, b = rng.gamma(1.2, 3.0, 300_000), rng.uniform(0.5, 4.0, 300_000)
    for th in (0.01, 0.1, 0.4):
        assert effective_capacity(a + b, th) == pytest.approx(
            effective_capacity(a, th) + effective_capacity(b, th), rel=0.01)


@settings(max_examples=40, deadline=None)
@given(k_st, beta_st, st.floats(0.02, 0.98), st.floats(0.2, 3.0))
def test_gamma_qos_exponent_solves_ec(k, beta, rho, slot):
    r = rho * k * beta
    th = float(gamma_qos_exponent(r, k, beta, slot))
    assert effective_capacity(stats.gamma(k, scale=beta), th, slot) == pytest.approx(r, rel=1e-9)
    assert qos_exponent(r, stats.gamma(k, scale=beta), slot) == pytest.approx(th, rel=1e-7)


def test_gamma_qos_exponent_near_mean_and_edges():
    k, beta = 1.3, 2.0
    for d in (1e-3, 1e-5, 1e-8):
        r = (1 - d) * k * beta
        th = float(gamma_qos_exponent(r, k, beta))
        assert effective_capacity(stats.gamma(k, scale=beta), th) == pytest.approx(r, rel=1e-12)
        # small-theta expansion EC ~ k beta (1 - theta beta / 2)  =>  theta ~ 2 d / beta
        assert th == pytest.approx(2 * d / beta, rel=3 * d + 1e-6)
    assert gamma_qos_exponent(0.0, k, beta) == np.inf
    assert np.isnan(gamma_qos_exponent(k * beta, k, beta))


def test_qos_exponent_deterministic_and_errors():
    # deterministic c: EC = c for all theta, so theta* = inf for rate < c, error otherwise
    assert qos_exponent(1.0, 2.0) == np.inf
    with pytest.raises(NoQoSExponentError):
        qos_exponent(2.0, 2.0)
    assert issubclass(NoQoSExponentError, ValueError) and issubclass(NoQoSExponentError, EdgeFMError)
    with pytest.raises(ValueError, match="mean service rate"):
        qos_exponent(7.0, stats.gamma(1.5, scale=4.0))
    # shifted exponential c = 1 + Exp(beta): theta* = inf for rate <= 1
    assert qos_exponent(1.0, stats.expon(loc=1.0, scale=2.0)) == np.inf
    # normal: mu - theta sigma^2 / 2 = r  =>  theta* = 2 (mu - r) / sigma^2 (closed form)
    assert qos_exponent(3.0, stats.norm(5.0, 2.0)) == pytest.approx(1.0, rel=1e-12)


# ----------------------------------------------------------------------------- Markov service
def test_markov_iid_rows_reduce_to_iid():
    # identical rows = i.i.d. two-point service: EC = -ln(p e^{-t c1} + q e^{-t c2}) / t
    p, c = 0.3, np.array([8.0, 2.0])
    m = MarkovService(np.array([[p, 1 - p], [p, 1 - p]]), c)
    for th in (1e-9, 0.05, 1.0, 30.0):
        exact = c[1] - np.log1p(p * np.expm1(-th * (c[0] - c[1]))) / th
        assert effective_capacity(m, th) == pytest.approx(exact, rel=1e-10)
    assert effective_capacity(m, 0.0) == pytest.approx(0.3 * 8 + 0.7 * 2)
    assert effective_capacity(m, np.inf) == 2.0


def test_gilbert_elliott_limits_and_monotone():
    ge = gilbert_elliott(0.1, 0.3, 10.0, 1.0)
    ec = effective_capacity(ge, THETAS)
    assert ec[0] == pytest.approx(7.75) and ec[-1] == 1.0
    assert ec[1] == pytest.approx(7.75, rel=1e-10) and ec[-2] == pytest.approx(1.0, rel=1e-9)
    assert np.all(np.diff(ec) <= 1e-9)
    # memory makes a channel worse than i.i.d. with the same marginal
    iid = MarkovService(np.array([[0.75, 0.25], [0.75, 0.25]]), [10.0, 1.0])
    assert effective_capacity(ge, 0.5) < effective_capacity(iid, 0.5)
    # alternating chain without self-loops: EC(inf) is the cycle mean, not min rate
    alt = MarkovService(np.array([[0.0, 1.0], [1.0, 0.0]]), [4.0, 0.0])
    assert effective_capacity(alt, np.inf) == pytest.approx(2.0)
    assert effective_capacity(alt, 1e4) == pytest.approx(2.0, rel=1e-12)  # log-domain path
    for th in (0.1, 1.0, 100.0):  # M = [[0, 1], [e^-4t, 0]]: rho = e^-2t, EC = 2 exactly
        assert effective_capacity(alt, th) == pytest.approx(2.0, rel=1e-9)
    # log-domain path agrees with the eigenvalue path where both apply
    assert effective_capacity(ge, 60.0) == pytest.approx(1.0 - np.log(0.7) / 60.0, rel=1e-9)
    with pytest.raises(ScenarioError):
        MarkovService(np.array([[0.5, 0.6], [0.5, 0.5]]), [1.0, 2.0])


# ----------------------------------------------------------------------------- arrivals
def test_effective_bandwidth_closed_forms():
    assert effective_bandwidth(3.0, [0.0, 1.0]).tolist() == [3.0, 3.0]
    # Poisson(lambda) jobs of size s: EB = lambda (e^{theta s} - 1) / theta
    th = 0.4
    assert effective_bandwidth(PoissonArrivals(2.0, 1.5), th) == pytest.approx(2.0 * np.expm1(0.6) / 0.4, rel=1e-14)
    assert effective_bandwidth(PoissonArrivals(2.0, 1.5), 1e-12) == pytest.approx(3.0, rel=1e-10)
    # exponential sizes, mean m: E[e^{theta X}] = 1/(1 - theta m)
    eb = effective_bandwidth(PoissonArrivals(2.0, stats.expon(scale=0.5)), [0.0, 1.0, 2.0, 3.0])
    assert eb[0] == pytest.approx(1.0) and eb[1] == pytest.approx(2.0 * 1.0 / 1.0) and np.isinf(eb[2:]).all()
    # sampled sizes approximate the distribution
    xs = stats.expon(scale=0.5).rvs(400_000, random_state=1)
    assert effective_bandwidth(PoissonArrivals(2.0, xs), 1.0) == pytest.approx(2.0, rel=0.03)
    # i.i.d. per-slot rates: gamma EB = -k ln(1 - theta beta)/theta, increasing
    e = effective_bandwidth(stats.gamma(2.0, scale=0.5), np.array([1e-12, 0.5, 1.0, 1.9]))
    assert e[2] == pytest.approx(-2.0 * np.log(0.5) / 1.0) and np.all(np.diff(e) > 0)
    assert e[0] == pytest.approx(1.0, rel=1e-11)


def test_admissible_and_critical_exponent():
    svc = stats.gamma(1.5, scale=4.0)
    arr = PoissonArrivals(3.0, 1.0)
    th = critical_exponent(arr, svc)
    assert effective_bandwidth(arr, th) == pytest.approx(effective_capacity(svc, th), rel=1e-9)
    assert admissible(arr, svc, 0.5 * th) and not admissible(arr, svc, 2 * th)
    np.testing.assert_array_equal(admissible(arr, svc, [0.5 * th, 2 * th]), [True, False])
    # constant arrivals: critical exponent = QoS exponent
    assert critical_exponent(3.0, svc) == pytest.approx(qos_exponent(3.0, svc))
    # Poisson burstiness lowers the exponent versus constant arrivals at the same mean
    assert th < qos_exponent(3.0, svc)


# ----------------------------------------------------------------------------- E21 delay
def test_delay_bound_by_hand():
    a, k, beta, y, eps = 1.0, 1.0, 5.0, 3, 0.2
    # exponential service: ln(1 + 5 th)/th = 3 -> solve independently
    th = optimize.brentq(lambda t: np.log1p(5 * t) / t - 3.0, 1e-6, 100)
    expected = max(1.0, 3.0 / 5.0, np.log(3.0 / (5.0 * 0.2)) / (th * 3.0))
    assert delay_bound(y, a, k, beta, eps) == pytest.approx(expected, rel=1e-10)
    assert expected > 1.0  # the statistical term is the active one here
    assert delay_bound(y, a, k, beta, eps, kind="avg") == 1.0
    assert delay_bound(0, a, k, beta) == 0.0 and delay_bound(0, a, k, beta, kind="avg") == 0.0
    # same via a general service object
    assert delay_bound(y, a, service=stats.expon(scale=5.0)) == pytest.approx(expected, rel=1e-8)
    assert delay_bound(y, a, service=stats.expon(scale=5.0), kind="avg") == 1.0


def test_delay_bound_unbounded_and_fallback():
    assert delay_bound(6, 1.0, 1.0, 5.0) == np.inf  # r = 6 >= mean 5
    assert delay_bound(6, 1.0, 1.0, 5.0, fallback=True) == pytest.approx(6 / 5)
    assert delay_bound(5, 1.0, 1.0, 5.0) == np.inf  # r == mean
    assert delay_bound(6, 1.0, service=stats.expon(scale=5.0)) == np.inf
    g = delay_bound(np.arange(5), 1.0, 1.0, 5.0)
    assert g.shape == (5,) and np.all(np.diff(g) >= 0)


def test_delay_table_matches_scalar_and_mask():
    a, k, b = [1.0, 2.0, 0.5], [1.0, 2.0, 1.2], [5.0, 1.0, 1.0]
    t = delay_table(a, k, b, y_max=20)
    assert isinstance(t, DelayTable) and t.g.shape == (3, 21) and t.kind == "ec"
    for m in range(3):
        for y in range(21):
            assert t.g[m, y] == delay_bound(y, a[m], k[m], b[m])
    rate = np.arange(21)[None, :] * np.array(a)[:, None]
    np.testing.assert_array_equal(t.fallback_mask, rate >= (np.array(k) * b)[:, None])
    assert t.status == "unbounded" and np.isinf(t.g[t.fallback_mask]).all()
    tf = delay_table(a, k, b, fallback=True)
    assert tf.status == "fallback" and tf.n_fallback == t.n_fallback > 0
    np.testing.assert_allclose(tf.g[tf.fallback_mask], (rate / (np.array(k) * b)[:, None])[tf.fallback_mask])
    assert tf(0, 25) == np.inf and tf(1, 3) == tf.g[1, 3]
    with pytest.raises(ValueError):
        t.g[0, 0] = 1.0  # read-only


@settings(max_examples=30, deadline=None)
@given(st.floats(0.5, 2.0), st.floats(1.0, 2.0), st.floats(1.0, 20.0), st.floats(0.01, 0.5))
def test_delay_table_ec_dominates_avg_and_monotone(a, k, b, eps):
    ec = delay_table([a], [k], [b], epsilon=eps).g[0]
    avg = delay_table([a], [k], [b], kind="avg").g[0]
    assert np.all(ec >= avg)
    assert np.all(ec[1:] >= ec[:-1]) and np.all(avg[1:] >= avg[:-1])  # inf allowed
    assert ec[0] == 0.0 and avg[0] == 0.0


def test_delay_table_accepts_objects_and_validates():
    ms = [{"a": 1.0, "k": 1.5, "beta": 4.0}, {"a": 0.5, "k": 2.0, "beta": 10.0}]
    t = delay_table(ms, y_max=5, kind="avg")
    np.testing.assert_allclose(t.g, delay_table([1.0, 0.5], [1.5, 2.0], [4.0, 10.0], y_max=5, kind="avg").g)
    with pytest.raises(ScenarioError):
        delay_table([1.0], [0.0], [1.0])
    with pytest.raises(ScenarioError):
        delay_table([1.0], [1.0], [1.0], kind="median")
