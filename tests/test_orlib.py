"""OR-Library readers: formats, duplicate-edge rule, error messages."""
from pathlib import Path

import numpy as np
import pytest

from edgefm.errors import ScenarioError
from edgefm.placement.orlib import (read_cap, read_optima, read_pmed, solve_cap_file,
                                    solve_pmed_file)

DATA = Path(__file__).parent / "data" / "orlib"


def test_duplicate_edge_last_occurrence_wins(tmp_path):
    f = tmp_path / "tiny.txt"
    # path 1-2-3; edge (1,2) given as 7, then reversed as (2,1) 2 -> the last (2) wins
    f.write_text(" 3 4 1 \n 1 2 7 \n 2 3 4 \n 2 1 2 \n 1 3 100\n")
    inst = read_pmed(f)
    assert inst.n == 3 and inst.p == 1
    expected = np.array([[0, 2, 6], [2, 0, 4], [6, 4, 0]], float)
    np.testing.assert_array_equal(inst.dist, expected)
    f.write_text(" 3 3 1 \n 1 2 2 \n 2 3 4 \n 1 2 9\n")  # now the larger value comes last
    assert read_pmed(f).dist[0, 1] == 9 and read_pmed(f).dist[0, 2] == 13


def test_pmed1_shape_and_symmetry():
    inst = read_pmed(DATA / "pmed1.txt")
    assert (inst.n, inst.p) == (100, 5)
    assert inst.dist.shape == (100, 100)
    np.testing.assert_array_equal(inst.dist, inst.dist.T)
    assert (np.diag(inst.dist) == 0).all() and np.isfinite(inst.dist).all()
    # triangle inequality holds for shortest paths
    d = inst.dist
    k = 7
    assert (d <= d[:, [k]] + d[[k], :] + 1e-9).all()


def test_malformed_pmed_names_file_and_line(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_text("3 2 1\n1 2 5\n2 3\n")
    with pytest.raises(ScenarioError, match=r"bad\.txt: line 3: expected 3 integers, got 2") as e:
        read_pmed(f)
    assert e.value.source == str(f)
    f.write_text("3 2 1\n1 2 5\n2 9 1\n")
    with pytest.raises(ScenarioError, match="line 3: node out of range"):
        read_pmed(f)
    f.write_text("3 5 1\n1 2 5\n")
    with pytest.raises(ScenarioError, match="expected 5 edge lines"):
        read_pmed(f)


def test_read_cap41():
    inst = read_cap(DATA / "cap41.txt")
    assert inst.capacity.shape == (16,) and inst.alloc_cost.shape == (16, 50)
    assert inst.demand.shape == (50,)
    assert inst.capacity[0] == 5000 and inst.fixed_cost[0] == 7500 and inst.fixed_cost[10] == 0
    assert inst.demand[0] == 146
    assert inst.alloc_cost[0, 0] == pytest.approx(6739.725)
    assert inst.alloc_cost[7, 0] == pytest.approx(3847.1)  # wrapped to the next line


def test_malformed_cap(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("2 1\n10 5\n10 x\n3 1 2\n")
    with pytest.raises(ScenarioError, match=r"c\.txt: line 3: expected a number, got 'x'"):
        read_cap(f)
    f.write_text("2 1\n10 5\n10 5\n3 1\n")
    with pytest.raises(ScenarioError, match="expected 7 numbers after the header"):
        read_cap(f)
    f.write_text("2 1\n10 5\n10 5\n3 1 2\n")
    inst = read_cap(f)
    np.testing.assert_array_equal(inst.alloc_cost, [[1.0], [2.0]])


def test_read_optima(tmp_path):
    opt = read_optima(DATA / "pmedopt.txt")
    assert opt["pmed1"] == 5819 and opt["pmed40"] == 5128
    assert read_optima(DATA / "capopt.txt")["cap41"] == pytest.approx(1040444.375)
    f = tmp_path / "o.txt"
    f.write_text("a 1\nb\n")
    with pytest.raises(ScenarioError, match="line 2"):
        read_optima(f)


def test_missing_file():
    with pytest.raises(ScenarioError, match="cannot read"):
        read_pmed(DATA / "nope.txt")


def test_solve_files():
    assert round(solve_pmed_file(DATA / "pmed5.txt").objective) == 1355
    assert solve_cap_file(DATA / "cap41.txt", solver="highs").objective == pytest.approx(
        1040444.375, rel=1e-6)
