"""Sweeps beyond one machine: a real ``dask scheduler`` and two ``dask worker`` processes on the
loopback address run a sweep through ``edgefm sweep --scheduler`` and give the rows of a serial run.

The workers run in a folder outside the project with their own ``EDGEFM_RESULTS``, so they share
no filesystem assumption with the client: the cells carry their scenario's content, the workers
solve their placements themselves, and only the client writes cell files and ``results.parquet``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from edgefm.experiments import sweep as sw
from edgefm.reproduce import project_root

PAPER = project_root() / "data" / "scenarios" / "paper.yaml"
_BIN = Path(sys.executable).parent
DASK = shutil.which("dask", path=str(_BIN)) or shutil.which("dask")


def _tiny_sweep(folder: Path) -> Path:
    """A scenario copied into ``folder`` (the client's side only) and a 2 seeds x 2 methods sweep on it."""
    folder.mkdir(parents=True, exist_ok=True)
    scen = folder / "paper_copy.yaml"
    scen.write_bytes(PAPER.read_bytes())
    p = folder / "tiny_cluster.yaml"
    p.write_text(f"name: tiny_cluster\nscenario: {scen}\nseeds: [0, 1]\nmethods: [static, lbrr]\nloads: [1]\n"
                 "overrides: [{horizon_slots: 50}]\n")
    return p


def _metrics(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if c not in sw.TIMING_COLUMNS]].reset_index(drop=True)


def _stop(procs) -> None:
    """Terminate, then kill what is still running after 10 s."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


def _scheduler_address(sched_file: Path, proc, log: Path, timeout: float = 60) -> str:
    """The address the scheduler wrote to its ``--scheduler-file`` (it picked a free port)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dask scheduler exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        if sched_file.is_file():
            try:
                return json.loads(sched_file.read_text())["address"]
            except (ValueError, KeyError):  # written but not complete yet
                pass
        time.sleep(0.2)
    pytest.fail(f"dask scheduler did not start within {timeout:.0f} s:\n{log.read_text()[-2000:]}")


@pytest.fixture
def loopback_cluster(tmp_path):
    """A scheduler and two single-threaded workers on 127.0.0.1; yields (address, worker results folder)."""
    if DASK is None:
        pytest.skip("the `dask` executable (package dask[distributed]) is not installed")
    from distributed import Client

    home, results = tmp_path / "worker_home", tmp_path / "worker_results"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("EDGEFM_RESULTS", "EDGEFM_PLACEMENT_CACHE", "PYTHONPATH")}
    env["EDGEFM_RESULTS"] = str(results)
    sched_file = tmp_path / "scheduler.json"
    procs, logs = [], []

    def start(args, name):
        log = tmp_path / f"{name}.log"
        logs.append(log)
        fh = open(log, "w")
        try:
            procs.append(subprocess.Popen([DASK, *args], cwd=home, env=env, stdout=fh, stderr=subprocess.STDOUT))
        finally:
            fh.close()
        return procs[-1], log

    try:
        sched, slog = start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                             "--scheduler-file", str(sched_file)], "scheduler")
        address = _scheduler_address(sched_file, sched, slog)
        assert address.startswith("tcp://127.0.0.1:")
        for i in range(2):
            start(["worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                   "--local-directory", str(home / f"dask-{i}")], f"worker{i}")
        with Client(address, timeout=30) as client:
            try:
                client.wait_for_workers(2, timeout=60)
            except TimeoutError:
                pytest.fail("the two dask workers did not connect:\n"
                            + "\n".join(f"{lg.name}: {lg.read_text()[-1500:]}" for lg in logs))
        yield address, results
    finally:
        _stop(procs[1:])  # the workers first, then the scheduler
        _stop(procs[:1])


@pytest.mark.slow
def test_cluster_sweep_rows_equal_serial(loopback_cluster, tmp_path, monkeypatch):
    from edgefm.cli import main

    address, worker_results = loopback_cluster
    client_cache = tmp_path / "client_placements"
    monkeypatch.setenv("EDGEFM_PLACEMENT_CACHE", str(client_cache))
    sweep_file = _tiny_sweep(tmp_path / "client_only")

    scen = sweep_file.parent / "paper_copy.yaml"
    real_cells = sw.cells

    def cells_then_remove_file(spec, quick=False):  # the workers cannot read the scenario file
        out = real_cells(spec, quick)
        scen.unlink()
        return out

    monkeypatch.setattr(sw, "cells", cells_then_remove_file)
    out = tmp_path / "cluster_out"
    assert main(["sweep", str(sweep_file), "--scheduler", address, "--out", str(out)]) == 0
    monkeypatch.setattr(sw, "cells", real_cells)
    assert not scen.exists()
    scen.write_bytes(PAPER.read_bytes())  # back for the serial run
    cluster = pd.read_parquet(out / "results.parquet")
    assert len(cluster) == 4 and len(list((out / "cells").glob("*.json"))) == 4  # the client wrote them

    # the workers solved the placements in their own results folder; the client solved none
    assert list((worker_results / "cache" / "placements").glob("*.pkl"))
    assert not client_cache.exists()
    assert not (worker_results / "sweeps").exists()  # and they wrote no cell or table there

    serial = sw.run_sweep(sweep_file, workers=0, out_dir=tmp_path / "serial_out", progress=False)
    assert list(cluster.columns) == list(serial.columns)
    assert set(sw.TIMING_COLUMNS) <= set(serial.columns)
    pd.testing.assert_frame_equal(_metrics(cluster), _metrics(serial))
    assert list(cluster[["method", "seed"]].itertuples(index=False, name=None)) == [
        ("static", 0), ("static", 1), ("lbrr", 0), ("lbrr", 1)]
    assert (cluster["arrivals"] > 0).all() and (cluster["horizon_slots"] == 50).all()


def test_cell_runs_without_its_scenario_file(tmp_path, monkeypatch):
    """A cell carries its scenario's content: it runs where the file does not exist."""
    monkeypatch.setenv("EDGEFM_PLACEMENT_CACHE", "off")
    spec = sw.load_sweep(_tiny_sweep(tmp_path / "gone"))
    cell = sw.cells(spec)[0]
    assert cell["scenario_text"] == PAPER.read_text(encoding="utf-8")
    before = sw.run_cell(cell)
    Path(spec.scenario).unlink()
    after = sw.run_cell(json.loads(json.dumps(cell)))  # as it travels: JSON-ready
    drop = set(sw.TIMING_COLUMNS)
    assert {k: v for k, v in after.items() if k not in drop} == {k: v for k, v in before.items() if k not in drop}
    assert after["scenario"] == "paper_copy.yaml"

    with pytest.raises(Exception, match="does not match its scenario_sha256"):
        sw.run_cell({**cell, "scenario_text": cell["scenario_text"] + "\n# edited\n"})
    with pytest.raises(Exception, match="the cell was made by edgefm 0.0.0-other"):
        sw.run_cell({**cell, "edgefm_version": "0.0.0-other"})


def test_key_ignores_where_the_scenario_is_and_its_carried_copy(tmp_path):
    """The cache key is the content hash: the path and the carried text do not change it."""
    spec = sw.load_sweep(_tiny_sweep(tmp_path / "a"))
    c = sw.cells(spec)[0]
    k = sw.cell_key(c)
    old_layout = {k2: v for k2, v in c.items() if k2 not in ("scenario_text", "edgefm_version")}
    assert sw.cell_key(old_layout) == k  # the cells cached before the content travelled stay valid
    assert sw.cell_key({**c, "scenario": str(tmp_path / "elsewhere" / "paper_copy.yaml")}) == k
    assert sw.cell_key({**c, "scenario_sha256": "0" * 64}) != k
