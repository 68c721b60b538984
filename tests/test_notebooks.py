"""Every notebook runs end to end in quick mode through the reproduction runner, and its headline
numbers (``results/summaries/NN_summary.json``) match the committed reference in
``tests/data/summaries/`` within ±0.02 on ratios and ±2 % on costs: quick runs are deterministic
given their seeds, so a mismatch means behaviour changed. If the change is intended, rerun the
notebook with QUICK=True and copy its summary here."""
import json
from pathlib import Path

import pytest

from edgefm.reproduce import find_notebooks, run_notebooks
from nbgit import committed_text

NOTEBOOKS = find_notebooks()


def test_notebooks_are_committed_clean_and_parameterised():
    """Checks what git would commit (through the nbstrip clean filter when installed), so a notebook
    saved with outputs in JupyterLab does not fail the suite; without the filter, the file itself."""
    assert NOTEBOOKS, "no notebooks found"
    for nb in NOTEBOOKS:
        doc = json.loads(committed_text(nb))
        cells = doc["cells"]
        assert cells[0]["cell_type"] == "markdown" and cells[0]["source"], f"{nb.name}: no title cell"
        params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(params) == 1, f"{nb.name}: needs exactly one cell tagged 'parameters'"
        src = "".join(params[0]["source"])
        assert "QUICK: bool" in src and "SEED: int" in src, f"{nb.name}: parameters cell lacks QUICK/SEED"
        for c in cells:
            if c["cell_type"] == "code":
                assert not c.get("outputs"), f"{nb.name}: committed with outputs"
                assert not "".join(c["source"]).lstrip().startswith("def "), f"{nb.name}: defines a function"


@pytest.mark.notebook
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_quick(nb, tmp_path):
    runs = run_notebooks(quick=True, only=[nb.stem], results=tmp_path, progress=False)
    assert [r.status for r in runs] == ["ok"], runs[0].error
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["parameters"]["QUICK"] is True
    assert manifest["notebooks"][0]["notebook"] == nb.name
    executed = tmp_path / "notebooks" / nb.name
    assert executed.exists()
    shown = json.dumps([o for c in json.loads(executed.read_text())["cells"] for o in c.get("outputs", [])])
    for noise in ("TqdmWarning", "IProgress not found", "PosixPath(", "Running HiGHS"):
        assert noise not in shown, f"{nb.name}: output shows {noise!r}"
    ref = Path(__file__).parent / "data" / "summaries" / f"{nb.name[:2]}_summary.json"
    if ref.exists():
        from edgefm.experiments.summary import compare_tree, read_summary

        bad = compare_tree(read_summary(f"{nb.name[:2]}_summary", results=tmp_path), read_summary(ref))
        assert not bad, "\n".join(bad)
