"""Headline numbers of an experiment notebook, written as JSON next to the figures.

A summary is a small nested dict (method → load → mean on-time ratio, mean
cost, number of draws; plus the capacity bound per load) computed from a
sweep's tidy table. Notebooks write it with :func:`write_summary`; the
reference copies under ``tests/data/summaries/`` are compared with a fresh
quick run by :func:`compare_summaries` (``tests/test_summaries.py``), so a
change of behaviour shows up as a changed headline number.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["headline_numbers", "bound_summary", "write_summary", "read_summary", "compare_summaries", "compare_tree"]


def _load_key(x: float) -> str:
    return f"{float(x):g}"


def headline_numbers(df, metrics=("on_time_ratio", "cost_total")) -> dict:
    """``{method: {load: {"n": draws, "<metric>": mean, ...}}}`` from a tidy sweep table.

    Loads are keys formatted with ``%g`` (``"1"``, ``"1.5"``); methods keep the
    table's order.
    """
    out: dict = {}
    for (m, ld), g in df.groupby(["method", "load"], sort=False):
        d = {"n": int(len(g))}
        for k in metrics:
            d[k] = float(g[k].mean())
        out.setdefault(str(m), {})[_load_key(ld)] = d
    return out


def bound_summary(bound_df) -> dict:
    """``{load: {"n", "mean_share", "median_share", "overloaded_share", "median_busy_needed",
    "median_capacity"}}`` from :func:`edgefm.experiments.bound.bound_table`."""
    out = {}
    for ld, g in bound_df.groupby("load", sort=True):
        out[_load_key(ld)] = {
            "n": int(len(g)),
            "mean_share": float(g["share"].mean()),
            "median_share": float(g["share"].median()),
            "overloaded_share": float(g["overloaded"].mean()),
            "median_busy_needed": float(g["busy_instances_needed"].median()),
            "median_capacity": float(g["instances_capacity"].median()),
        }
    return out


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


def _path(name: str, results: str | Path | None) -> Path:
    if results is None:
        from ..paths import results_dir

        results = results_dir()
    return Path(results) / "summaries" / f"{name}.json"


class SavedPath(type(Path())):
    """A path that shows as ``saved NAME`` (a notebook cell ending in ``write_summary(...)`` echoes
    that, not an absolute ``PosixPath``); otherwise an ordinary :class:`pathlib.Path`."""

    def __repr__(self) -> str:
        return f"saved {self.name}"


def write_summary(name: str, data: dict, results: str | Path | None = None) -> Path:
    """Write ``data`` as ``<results>/summaries/<name>.json`` and return the path (a :class:`SavedPath`).

    ``results`` defaults to :func:`edgefm.paths.results_dir` (``$EDGEFM_RESULTS``
    or ``results/``). NumPy scalars become JSON numbers, non-finite floats ``null``.
    """
    p = _path(name, results)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(_clean(data), indent=2, sort_keys=True) + "\n")
    return SavedPath(p)


def read_summary(name_or_path, results: str | Path | None = None) -> dict:
    """Read a summary by name (from ``results``) or by path to a ``.json`` file."""
    p = Path(name_or_path)
    if p.suffix != ".json":
        p = _path(str(name_or_path), results)
    return json.loads(p.read_text())


def compare_summaries(new: dict, ref: dict, on_time_abs: float = 0.02, cost_rel: float = 0.02) -> list[str]:
    """Differences between two ``headline_numbers`` dicts beyond the tolerances.

    On-time ratios may differ by ``on_time_abs`` (absolute), costs by
    ``cost_rel`` (relative); draw counts and the (method, load) cells must match.
    Returns one line per mismatch (empty when they agree).
    """
    bad = []
    for m in sorted(set(new) | set(ref)):
        if m not in new or m not in ref:
            bad.append(f"method {m}: only in {'new' if m in new else 'reference'}")
            continue
        for ld in sorted(set(new[m]) | set(ref[m])):
            a, b = new[m].get(ld), ref[m].get(ld)
            if a is None or b is None:
                bad.append(f"{m} load {ld}: only in {'new' if a is not None else 'reference'}")
                continue
            if a.get("n") != b.get("n"):
                bad.append(f"{m} load {ld}: {a.get('n')} draws vs {b.get('n')} in the reference")
            if "on_time_ratio" in b and abs(a["on_time_ratio"] - b["on_time_ratio"]) > on_time_abs:
                bad.append(f"{m} load {ld}: on-time ratio {a['on_time_ratio']:.4f} vs reference "
                           f"{b['on_time_ratio']:.4f} (tolerance ±{on_time_abs})")
            if "cost_total" in b and abs(a["cost_total"] - b["cost_total"]) > cost_rel * abs(b["cost_total"]):
                bad.append(f"{m} load {ld}: cost {a['cost_total']:.6g} vs reference {b['cost_total']:.6g} "
                           f"(tolerance ±{cost_rel:.0%})")
    return bad


#: Keys whose values measure time on this machine, not behaviour: never compared.
TIMING_KEYS = ("seconds", "wall", "decision_ms")


def compare_tree(new, ref, abs_tol: float = 0.02, rel_tol: float = 0.02, skip=TIMING_KEYS, path: str = "") -> list[str]:
    """Differences between two summary dicts of any shape, leaf by leaf.

    Lists are compared item by item; integers, strings and booleans must be equal; floats may differ by
    ``max(abs_tol, rel_tol·|ref|)`` (so ratios in [0, 1] get ±0.02 and costs ±2 %);
    keys containing any of ``skip`` are ignored. Returns one line per mismatch.
    """
    if isinstance(ref, dict) and isinstance(new, dict):
        bad = []
        for k in sorted(set(new) | set(ref), key=str):
            p = f"{path}/{k}" if path else str(k)
            if any(s in str(k) for s in skip):
                continue
            if k not in new or k not in ref:
                bad.append(f"{p}: only in {'new' if k in new else 'reference'}")
            else:
                bad += compare_tree(new[k], ref[k], abs_tol, rel_tol, skip, p)
        return bad
    if isinstance(ref, list) and isinstance(new, list):
        if len(new) != len(ref):
            return [f"{path}: {len(new)} items vs reference {len(ref)}"]
        return [b for i, (n, r) in enumerate(zip(new, ref))
                for b in compare_tree(n, r, abs_tol, rel_tol, skip, f"{path}[{i}]")]
    if isinstance(ref, float) or isinstance(new, float):
        if ref is None or new is None:
            return [] if ref is new else [f"{path}: {new!r} vs reference {ref!r}"]
        tol = max(abs_tol, rel_tol * abs(ref))
        return [] if abs(float(new) - float(ref)) <= tol else [f"{path}: {new:.6g} vs reference {ref:.6g} (±{tol:.3g})"]
    return [] if new == ref else [f"{path}: {new!r} vs reference {ref!r}"]
