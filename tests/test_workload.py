"""Arrival processes: Poisson, MMPP and Azure trace replay (docs/model.md §8)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import edgefm
from edgefm.rng import stream
from edgefm.scenario import User
from edgefm.traces import CLIP, Trace, load_trace, trace_arrivals
from edgefm.workload import (Arrivals, _markov_states, index_of_dispersion, make_arrivals, mmpp_arrivals,
                             mmpp_stationary, poisson_arrivals)

PAPER = edgefm.data_path("scenarios", "paper.yaml")
FIELDS = ("slot", "user", "ttype", "input_mb", "work_scale")
PROCS = ("poisson", "mmpp", "code", "conv")


@pytest.fixture(scope="module")
def scen():
    return edgefm.load_scenario(PAPER, seed=0)


def _same(a: Arrivals, b: Arrivals) -> bool:
    return len(a) == len(b) and all(np.array_equal(getattr(a, f), getattr(b, f)) for f in FIELDS)


def _one_type(scen, rate=1.0, n=0):
    """The scenario with only user 0 issuing only type n."""
    users = tuple(User(u.name, u.gateway, tuple(rate if (i == 0 and k == n) else 0.0 for k in range(scen.n_types)))
                  for i, u in enumerate(scen.users))
    return scen.replace(users=users, load=1.0)


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# =========================================================================== determinism and layout
@pytest.mark.parametrize("proc", PROCS)
def test_same_seed_identical_and_different_seeds_differ(scen, proc):
    a, b, c = (make_arrivals(scen, s, proc) for s in (3, 3, 4))
    assert _same(a, b)
    assert not _same(a, c)


def test_poisson_uses_the_arrivals_stream(scen):
    lam = scen.arrival_rates * scen.slot_ms
    counts = stream(5, "arrivals").poisson(lam, size=(200, *lam.shape))
    a = poisson_arrivals(scen, 5, n_slots=200)
    assert len(a) == counts.sum()
    np.testing.assert_array_equal(a.per_slot_counts(), counts.sum(axis=(1, 2)))
    np.testing.assert_array_equal(a.counts(), counts.sum(axis=0))
    assert _same(a, poisson_arrivals(scen, stream(5, "arrivals"), n_slots=200))


@pytest.mark.parametrize("proc", PROCS)
def test_output_sorted_by_slot_user_type_and_in_range(scen, proc):
    a = make_arrivals(scen.with_load(2.0), 1, proc)
    key = np.stack([a.slot, a.user, a.ttype])
    order = np.lexsort(key[::-1])
    np.testing.assert_array_equal(order, np.arange(len(a)))
    assert a.slot.min() >= 0 and a.slot.max() < a.n_slots == scen.horizon_slots
    assert a.user.max() < scen.n_users and a.ttype.max() < scen.n_types
    assert a.per_slot_counts().sum() == len(a) and a.per_slot_counts().shape == (a.n_slots,)
    assert not a.slot.flags.writeable
    df = a.to_frame()
    assert list(df.columns) == ["slot", "time_ms", "user", "ttype", "input_mb", "work_scale"] and len(df) == len(a)


def test_poisson_and_mmpp_payload_is_A_n_and_work_scale_one(scen):
    A = np.array([t.input_mb for t in scen.task_types])
    for a in (poisson_arrivals(scen, 0), mmpp_arrivals(scen, 0)):
        np.testing.assert_array_equal(a.input_mb, A[a.ttype])
        assert (a.work_scale == 1.0).all()


@pytest.mark.parametrize("proc", PROCS)
def test_zero_rates_and_zero_horizon_give_no_arrivals(scen, proc):
    assert len(make_arrivals(scen.with_load(0.0), 0, proc)) == 0
    a = make_arrivals(scen, 0, proc, n_slots=0)
    assert len(a) == 0 and a.per_slot_counts().shape == (0,)


# =========================================================================== mean rates
@pytest.mark.parametrize("load", [1.0, 2.0])
def test_poisson_mean_count(scen, load):
    s = scen.with_load(load)
    mean = s.arrival_rates.sum() * s.horizon_slots * s.slot_ms
    n = len(poisson_arrivals(s, 7))
    assert abs(n - mean) < 4 * math.sqrt(mean)


@pytest.mark.parametrize("load", [1.0, 2.0])
@pytest.mark.parametrize("scope", ["user", "global"])
def test_mmpp_long_run_mean_equals_poisson_mean(scen, load, scope):
    s = scen.with_load(load)
    mean = s.arrival_rates.sum() * s.horizon_slots * s.slot_ms
    n = np.array([len(mmpp_arrivals(s, seed, scope=scope)) for seed in range(30)])
    assert abs(n.mean() - mean) < 4 * n.std(ddof=1) / math.sqrt(len(n))
    assert n.std() > 2 * math.sqrt(mean)  # bursts add variance beyond Poisson


@pytest.mark.parametrize("proc", ["poisson", "mmpp"])
def test_per_user_type_counts_proportional_to_lambda(scen, proc):
    a = make_arrivals(scen, 2, proc, n_slots=4000)
    obs = a.counts().ravel()
    p = (scen.arrival_rates / scen.arrival_rates.sum()).ravel()
    if proc == "poisson":  # independent Poisson cells: chi-square against the known means
        exp = scen.arrival_rates.ravel() * 4000 * scen.slot_ms
        chi = ((obs - exp) ** 2 / exp).sum()
        assert stats.chi2.sf(chi, len(obs)) > 1e-4
    else:  # MMPP cells share per-user bursts: compare the type mix within each user
        c = a.counts()
        for u in range(scen.n_users):
            pu = scen.arrival_rates[u] / scen.arrival_rates[u].sum()
            chi = ((c[u] - c[u].sum() * pu) ** 2 / (c[u].sum() * pu)).sum()
            assert stats.chi2.sf(chi, scen.n_types - 1) > 1e-4
        np.testing.assert_allclose(obs / obs.sum(), p, atol=0.01)


def test_trace_user_type_mix_proportional_to_lambda(scen):
    a = trace_arrivals(scen, "conv", seed=1)
    obs = a.counts().ravel()
    exp = len(a) * (scen.arrival_rates / scen.arrival_rates.sum()).ravel()
    chi = ((obs - exp) ** 2 / exp).sum()
    assert stats.chi2.sf(chi, len(obs) - 1) > 1e-4


# =========================================================================== burstiness
def test_poisson_dispersion_is_one(scen):
    d = poisson_arrivals(scen, 0, n_slots=20000).index_of_dispersion()
    assert abs(d - 1) < 5 * math.sqrt(2 / 20000)


@pytest.mark.parametrize("scope", ["user", "global"])
def test_mmpp_dispersion_matches_closed_form(scen, scope):
    pi, hi, lo = mmpp_stationary(4.0, 0.05, 0.2)
    lam_c = scen.arrival_rates.sum(axis=1) if scope == "user" else np.array([scen.arrival_rates.sum()])
    expected = 1 + scen.slot_ms * pi * (1 - pi) * (hi - lo) ** 2 * (lam_c ** 2).sum() / lam_c.sum()
    d = mmpp_arrivals(scen, 0, n_slots=40000, scope=scope).index_of_dispersion()
    assert expected > 3
    assert d == pytest.approx(expected, rel=0.15)


def test_mmpp_with_burst_factor_one_is_poisson(scen):
    a = mmpp_arrivals(scen, 0, burst_factor=1.0, n_slots=20000)
    assert abs(a.index_of_dispersion() - 1) < 5 * math.sqrt(2 / 20000)


def test_markov_chain_occupancy_and_switching():
    p_on, p_off = 0.05, 0.2
    on = _markov_states(np.random.default_rng(0), 3, 200000, p_on / (p_on + p_off), p_on, p_off)
    assert on.mean() == pytest.approx(0.2, abs=0.01)
    prev, nxt = on[:-1], on[1:]
    assert (prev & ~nxt).sum() / prev.sum() == pytest.approx(p_off, rel=0.05)
    assert (~prev & nxt).sum() / (~prev).sum() == pytest.approx(p_on, rel=0.05)


@settings(max_examples=60, deadline=None)
@given(p_on=st.floats(0.01, 1.0), p_off=st.floats(0.01, 1.0), frac=st.floats(0.0, 1.0))
def test_mmpp_multipliers_have_unit_mean(p_on, p_off, frac):
    pi = p_on / (p_on + p_off)
    b = 1 + frac * (1 / pi - 1)
    pi2, hi, lo = mmpp_stationary(b, p_on, p_off)
    assert pi2 == pytest.approx(pi) and lo >= 0 and hi >= lo
    assert pi * hi + (1 - pi) * lo == pytest.approx(1.0)


def test_mmpp_rejects_impossible_burst_factor():
    with pytest.raises(ValueError, match="burst_factor"):
        mmpp_stationary(6.0, 0.05, 0.2)  # pi = 0.2 allows at most 5


@pytest.mark.parametrize("name", ["code", "conv"])
def test_traces_are_overdispersed(scen, name):
    assert trace_arrivals(scen, name, seed=0).index_of_dispersion() > 1.5


# =========================================================================== trace replay
def test_bundled_traces_load(scen):
    code, conv = load_trace("code"), load_trace("conv")
    assert (len(code), len(conv)) == (8819, 19366)
    assert code.time_ms[0] == 0 and (np.diff(code.time_ms) >= 0).all()
    assert code.context_tokens[0] == 4808 and code.generated_tokens[0] == 10
    assert 3.4e6 < code.span_ms < 3.5e6  # about one hour
    assert code.period_ms == pytest.approx(code.span_ms * len(code) / (len(code) - 1))


@pytest.mark.parametrize("name", ["code", "conv"])
def test_native_rate_replay_reproduces_trace(scen, name):
    tr = load_trace(name)
    T = int(tr.span_ms // scen.slot_ms) + 1
    for wrap in (False, True):  # next period starts one mean gap (> 1 slot) after the last request
        a = trace_arrivals(scen, tr, seed=0, n_slots=T, start=0.0, time_scale=1.0, wrap=wrap)
        assert len(a) == len(tr)
        np.testing.assert_array_equal(a.per_slot_counts(),
                                      np.bincount(np.floor(tr.time_ms / scen.slot_ms).astype(int), minlength=T))
    sec = trace_arrivals(scen, tr, seed=0, n_slots=int(tr.span_ms // 1e3) + 1, start=0.0, time_scale=1e-3,
                         wrap=False)  # the last 1-s slot reaches past the period: no wrap here
    np.testing.assert_array_equal(sec.per_slot_counts(), np.bincount((tr.time_ms // 1e3).astype(int)))


def test_wrap_covers_whole_periods(scen):
    tr = load_trace("code")
    a = trace_arrivals(scen, tr, seed=0, n_slots=1000, start=250.0, time_scale=500.0 / tr.period_ms)
    assert len(a) == 2 * len(tr)  # [250, 1250) = two full periods of 500 ms
    no_wrap = trace_arrivals(scen, tr, seed=0, n_slots=1000, start=250.0, time_scale=500.0 / tr.period_ms,
                             wrap=False)
    assert len(no_wrap) == np.sum(tr.time_ms * 500.0 / tr.period_ms >= 250.0)


@pytest.mark.parametrize("name", ["code", "conv"])
@pytest.mark.parametrize("load", [1.0, 2.0])
def test_rescaled_trace_mean_rate_matches_total_lambda(scen, name, load):
    s = scen.with_load(load)
    total = s.arrival_rates.sum()
    n = np.array([len(trace_arrivals(s, name, seed=k)) for k in range(30)])  # random window starts
    mean = total * s.horizon_slots * s.slot_ms
    assert abs(n.mean() - mean) < 4 * n.std(ddof=1) / math.sqrt(len(n)) + 1
    assert abs(n.mean() / mean - 1) < 0.05


def test_token_mapping_exact_and_monotone(scen, tmp_path):
    ctx = [1, 10, 40, 80, 100, 120, 200, 400, 1000]  # median 100 -> ratios clip at 0.25 and 4
    gen = [50, 5, 20, 1, 10, 30, 10, 90, 10]  # median 10
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"] + \
        [f"2023-11-16 18:00:0{i}.0000000,{c},{g}" for i, (c, g) in enumerate(zip(ctx, gen))]
    path = _write(tmp_path, "tiny.csv", "\n".join(lines) + "\n")
    s = _one_type(scen, n=2)
    A = s.task_types[2].input_mb
    a = trace_arrivals(s, path, seed=0, n_slots=10, start=0.0, time_scale=1e-3, wrap=False, normalize="median")
    assert len(a) == 9 and (a.ttype == 2).all() and (a.user == 0).all()
    np.testing.assert_allclose(a.input_mb, A * np.clip(np.array(ctx) / 100, *CLIP))
    np.testing.assert_allclose(a.work_scale, np.clip(np.array(gen) / 10, *CLIP))
    assert (np.diff(a.input_mb) >= 0).all() and a.input_mb.min() == pytest.approx(0.25 * A)
    assert a.input_mb.max() == pytest.approx(4 * A)
    flat = trace_arrivals(s, path, seed=0, n_slots=10, start=0.0, time_scale=1e-3, wrap=False,
                          scale_work=False, normalize="median")
    assert (flat.work_scale == 1).all()
    mean = trace_arrivals(s, path, seed=0, n_slots=10, start=0.0, time_scale=1e-3, wrap=False)
    assert mean.input_mb.mean() == pytest.approx(A) and mean.work_scale.mean() == pytest.approx(1.0)


def test_trace_payload_monotone_in_context_tokens_on_real_trace(scen):
    s = _one_type(scen, n=0)
    tr = load_trace("conv")
    a = trace_arrivals(s, tr, seed=0, n_slots=int(tr.span_ms) + 1, start=0.0, time_scale=1.0, wrap=False,
                       normalize="median")
    order = np.argsort(tr.context_tokens, kind="stable")  # arrivals are in trace order here
    assert (np.diff(a.input_mb[order]) >= 0).all()
    A = s.task_types[0].input_mb
    assert np.median(a.input_mb) == pytest.approx(A)


def test_make_arrivals_dispatch(scen, tmp_path):
    assert _same(make_arrivals(scen, 4, "code"), trace_arrivals(scen, "code", seed=4))
    assert _same(make_arrivals(scen, 4, load_trace("conv")), trace_arrivals(scen, "conv", seed=4))
    assert _same(make_arrivals(scen, 4, edgefm.data_path("traces", "AzureLLMInferenceTrace_conv.csv")),
                 trace_arrivals(scen, "conv", seed=4))
    assert _same(make_arrivals(scen, 4, "mmpp", burst_factor=2.0), mmpp_arrivals(scen, 4, burst_factor=2.0))
    with pytest.raises(ValueError, match="unknown arrival process 'gamma'"):
        make_arrivals(scen, 0, "gamma")
    with pytest.raises(edgefm.ScenarioError, match="nope.csv: trace file not found"):
        make_arrivals(scen, 0, tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="unknown arrival process"):
        make_arrivals(scen, 0, 42)


def test_numeric_timestamps_are_seconds_and_unsorted_rows_are_sorted(scen, tmp_path):
    path = _write(tmp_path, "num.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2.5,10,1\n0.5,20,2\n1.0,30,3\n")
    tr = load_trace(path)
    np.testing.assert_allclose(tr.time_ms, [0.0, 500.0, 2000.0])
    np.testing.assert_array_equal(tr.context_tokens, [20, 30, 10])


# =========================================================================== bad trace files
HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
GOOD = "2023-11-16 18:17:03.9799600,4808,10\n"


@pytest.mark.parametrize("text, where, reason", [
    ("TIMESTAMP,ContextTokens\n2023-11-16 18:17:03.97,10\n", "GeneratedTokens", "missing"),
    (HEADER + GOOD + "yesterday at noon,5,5\n", "line 3, column 'TIMESTAMP'", "cannot parse 'yesterday at noon'"),
    (HEADER + GOOD + GOOD + "2023-11-16 18:17:05.0,-3,5\n", "line 4, column 'ContextTokens'", "negative"),
    (HEADER + GOOD + "2023-11-16 18:17:05.0,3,-1\n", "line 3, column 'GeneratedTokens'", "negative"),
    (HEADER + GOOD + "2023-11-16 18:17:05.0,3.5,1\n", "line 3, column 'ContextTokens'", "not an integer"),
    (HEADER + "2023-11-16 18:17:05.0,,1\n", "line 2, column 'ContextTokens'", "not an integer"),
    (HEADER, "whole file", "no requests"),
    ("", "whole file", "not a readable CSV"),
])
def test_bad_trace_raises_scenario_error_naming_file_and_place(tmp_path, text, where, reason):
    path = _write(tmp_path, "broken_trace.csv", text)
    with pytest.raises(edgefm.ScenarioError) as err:
        load_trace(path)
    msg = str(err.value)
    assert "broken_trace.csv" in msg and where in msg and reason in msg and "\n" not in msg


def test_missing_trace_file(tmp_path):
    with pytest.raises(edgefm.ScenarioError, match="nope.csv: trace file not found"):
        load_trace(tmp_path / "nope.csv")


def test_index_of_dispersion_helper():
    assert index_of_dispersion([2, 2, 2]) == 0.0
    assert index_of_dispersion([0, 4]) == pytest.approx(8 / 2)
    assert math.isnan(index_of_dispersion([0, 0]))
    assert isinstance(load_trace("code"), Trace)
