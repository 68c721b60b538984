"""E14 by node decomposition: the Lagrangian bound brackets the optimum, and the decomposed solve is exact."""
import math

import numpy as np
import pytest
from test_placement_paper import brute, paper, tiny

from edgefm.errors import InfeasibleError
from edgefm.placement import e14_data, place, violations
from edgefm.placement.decompose import decompose_e14
from edgefm.placement.milp import solve
from edgefm.placement.model import build_e14


def exact(s, variant, **kw):
    """E14 optimum by HiGHS on the whole program (an independent solver)."""
    d = e14_data(s, variant=variant)
    r = solve(build_e14(s, d, **kw), solver="highs", gap=1e-9)
    return r.objective if r.ok else math.inf


@pytest.mark.parametrize("seed,variant", [(0, "bounded"), (2, "bounded"), (2, "literal"), (8, "literal")])
def test_bound_brackets_optimum(seed, variant):
    s = paper(seed)
    d = e14_data(s, variant=variant)
    opt = exact(s, variant)
    dw = decompose_e14(s, d, gap=1e-9)
    tol = 1e-7 * abs(opt)
    assert dw.bound <= opt + tol  # weak Lagrangian duality
    assert dw.objective >= opt - tol  # a feasible placement
    assert dw.lp <= dw.objective + tol and dw.bound <= dw.lp + tol
    x = np.zeros((s.n_nodes, s.n_ms), dtype=int)
    x[d.pv, d.pm] = dw.x
    assert violations(s, x) == []
    assert dw.converged and dw.gap == pytest.approx((dw.objective - dw.bound) / abs(dw.objective))


def test_bound_tighter_than_lp_relaxation():
    """The Dantzig–Wolfe bound convexifies each node's knapsack, so it is at least the LP bound."""
    from edgefm.placement.milp import lp_bound

    s = paper(8)
    d = e14_data(s, variant="literal")
    lp = lp_bound(build_e14(s, d))[0]
    dw = decompose_e14(s, d, gap=1e-9)
    assert dw.bound >= lp - 1e-9 * abs(lp)
    assert (dw.bound - lp) > 0.5 * (exact(s, "literal") - lp)  # closes most of the LP gap on this seed


@pytest.mark.parametrize("kw", [dict(kappa=0), dict(kappa=12), dict(kappa=0, survivable=True),
                                dict(kappa=0, max_sites=-1)])
def test_decomposed_place_equals_direct(kw):
    s = paper(2)
    if kw.get("max_sites") == -1:  # one site fewer than the unconstrained optimum uses: binding
        kw["max_sites"] = place(s, variant="bounded", kappa=0).sites - 1
    direct = place(s, variant="bounded", method="direct", gap=1e-9, **kw)
    dec = place(s, variant="bounded", method="decompose", gap=1e-9, **kw)
    assert dec.status == "optimal" and dec.info["method"] == "decompose"
    assert dec.objective == pytest.approx(direct.objective, rel=1e-7)
    assert exact(s, "bounded", **kw) == pytest.approx(dec.objective, rel=1e-7)
    assert violations(s, dec.x, kappa=kw["kappa"], survivable=kw.get("survivable", False)) == []
    if "max_sites" in kw:
        assert dec.sites <= kw["max_sites"]


@pytest.mark.parametrize("xi", [3.0, 10.0, 30.0])
@pytest.mark.parametrize("kappa", [0, 3, 4])
def test_decomposed_matches_brute_force(xi, kappa):
    s = tiny(xi=xi)
    best, _ = brute(s, kappa)
    if not math.isfinite(best):
        with pytest.raises(InfeasibleError):
            place(s, kappa=kappa, variant="literal", method="decompose")
        return
    p = place(s, kappa=kappa, variant="literal", method="decompose", gap=1e-9)
    assert p.status == "optimal"
    assert p.objective == pytest.approx(best, rel=1e-7, abs=1e-7)


def test_literal_decomposed_is_exact():
    s = paper(8)
    p = place(s, kappa=0, variant="literal", method="decompose", gap=1e-9)
    assert p.status == "optimal"
    assert p.objective == pytest.approx(exact(s, "literal"), rel=1e-7)


def test_decomposition_is_deterministic():
    s = paper(1)
    d = e14_data(s, variant="literal")
    a, b = decompose_e14(s, d, gap=1e-3), decompose_e14(s, d, gap=1e-3)
    assert np.array_equal(a.x, b.x) and a.bound == b.bound and a.rounds == b.rounds


def test_method_choice():
    s = paper(0)
    assert place(s, kappa=0, variant="bounded").info["method"] == "direct"  # few pairs: auto stays direct
    with pytest.raises(ValueError, match="method"):
        place(s, kappa=0, method="bogus")
    with pytest.raises(ValueError, match="SCIP"):
        place(s, kappa=0, solver="highs", method="decompose")


def test_auto_decomposes_large_literal_programs():
    from edgefm.placement.e14solve import DECOMPOSE_ABOVE, _fallback, _method
    from edgefm.scenario import sample_scenario
    from edgefm.scenario.topology import topology_spec

    s = sample_scenario(topology_spec("sndlib/germany50", ed_per_site=1, n_fm=2), 0)
    lit, bnd = e14_data(s, variant="literal"), e14_data(s, variant="bounded")
    assert lit.n_pairs > DECOMPOSE_ABOVE
    assert _method("auto", "scip", lit) == "dp" and _fallback("scip", lit) == "decompose"  # DP first
    assert _method("auto", "scip", lit, max_sites=60) == "decompose"
    assert _method("auto", "scip", bnd) == "direct" and _method("auto", "highs", lit) == "direct"


def test_node_dp_past_its_limits_hands_large_programs_to_the_decomposition(monkeypatch):
    from edgefm.placement import e14solve, nodedp

    def too_many(*a, **k):
        raise nodedp.DPLimitError("a node has more than 1 patterns")

    monkeypatch.setattr(nodedp, "node_patterns", too_many)
    monkeypatch.setattr(e14solve, "DECOMPOSE_ABOVE", 10)  # the paper scenario counts as large
    p = place(paper(8), kappa=0, variant="literal")
    assert p.info["method"] == "decompose" and p.info["message"].startswith("node DP stopped")
    assert p.status == "optimal"


def test_decomposed_time_limit_returns_incumbent_with_gap():
    """Stopped early: a feasible incumbent, a valid bound and a warning, or one clear error without incumbent."""
    import warnings

    from edgefm.errors import SolverError, TimeLimitWarning

    s = paper(3)  # the hardest literal seed: it cannot be proven optimal in 0.5 s
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            p = place(s, kappa=0, variant="literal", method="decompose", time_limit=0.5, gap=1e-9)
        except SolverError as exc:  # the clock stopped column generation before any integer master solution
            assert "before finding any feasible placement" in str(exc)
            return
    assert p.status == "time_limit"
    assert any(issubclass(w.category, TimeLimitWarning) and "gap" in str(w.message) for w in caught)
    assert np.isfinite(p.bound) and p.bound <= p.objective and p.gap > 1e-9
    assert violations(s, p.x) == []
