"""Every notebook runs end to end in quick mode through the reproduction runner."""
import json

import pytest

from edgefm.reproduce import find_notebooks, run_notebooks

NOTEBOOKS = find_notebooks()


def test_notebooks_are_committed_clean_and_parameterised():
    assert NOTEBOOKS, "no notebooks found"
    for nb in NOTEBOOKS:
        doc = json.loads(nb.read_text())
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
    assert (tmp_path / "notebooks" / nb.name).exists()
