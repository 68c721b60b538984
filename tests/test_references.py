"""Every document the project cites is in the repository, and every citation of the model reference
(``docs/model.md``) names a section and equations that exist there (issue 15, item 9).

The model reference and notebook 00 state the same equations: the set of numbers and each equation's
LaTeX agree (notebook 00 is the authority for the numbering).
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "docs" / "model.md"
TEXT_SUFFIXES = {".py", ".ipynb", ".md", ".yaml", ".yml", ".toml", ".txt", ".cfg", ".ini"}
# a file name ending in a document suffix, optionally with folders; not preceded by a path or word character
DOC_REF = re.compile(r"(?<![\w/.\-])((?:[\w.\-]+/)*[\w\-][\w.\-]*\.(?:md|ipynb|rst))(?![\w\-])")
URL = re.compile(r"[a-z][a-z0-9+.\-]*://\S+", re.I)
MODEL_REF = re.compile(r"model\.md([^)\n\"]{0,80})")
GENERATED = ("results/", "docs/_build/", "docs/_generated/")  # outputs of runs and builds, not sources


def tracked_files() -> list[Path]:
    """Text files of the repository (what git tracks; a plain walk outside a git clone)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        names = [n for n in out.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        skip = {".venv", ".git", "results", "_build", "_generated", "__pycache__"}
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                 if p.is_file() and not skip.intersection(p.relative_to(ROOT).parts)]
    files = [ROOT / n for n in names]
    return [p for p in files if p.is_file() and (p.suffix in TEXT_SUFFIXES or p.name == "Makefile")]


def text_of(path: Path) -> str:
    """The prose and code of a file; for a notebook, its cells' sources (not outputs or metadata)."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        return "\n".join("".join(c.get("source", "")) for c in json.loads(raw)["cells"])
    return raw


def document_refs(text: str) -> list[str]:
    return DOC_REF.findall(URL.sub(" ", text))


def resolves(ref: str, where: Path) -> bool:
    if ref.startswith(GENERATED) or Path(ref).name.startswith("NN_"):  # outputs; the NN_ naming pattern
        return True
    return any((base / ref).is_file() for base in (ROOT, where.parent, ROOT / "notebooks", ROOT / "docs"))


def model_sections() -> set[str]:
    """Section numbers of docs/model.md headings: ``"5"``, ``"5.4"``, ..."""
    heads = re.findall(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", MODEL.read_text(encoding="utf-8"), re.M)
    return set(heads)


def tags(text: str) -> dict[str, str]:
    """Equation number → whitespace-normalised LaTeX of every ``$$ ... \\tag{En} $$`` block."""
    out = {}
    for body in re.findall(r"\$\$(.+?)\$\$", text, re.S):
        t = re.search(r"\\tag\{(E\d+)\}", body)
        if t:
            out[t.group(1)] = "".join(body.split())
    return out


def reserved() -> set[str]:
    """Equation numbers §11 of docs/model.md reserves for the project's method before stating them."""
    m = re.search(r"^Numbers reserved and not yet stated here: E(\d+)–E(\d+)\.", MODEL.read_text(encoding="utf-8"), re.M)
    return {f"E{i}" for i in range(int(m.group(1)), int(m.group(2)) + 1)} if m else set()


def test_document_ref_pattern():
    refs = document_refs("see NOTES.md §3, docs/model.md §5.4, (data/traces/README.md); "
                         "https://example.org/x/README.md, notebooks/NN_*.ipynb and 00_system_model.ipynb")
    assert refs == ["NOTES.md", "docs/model.md", "data/traces/README.md", "00_system_model.ipynb"]
    assert not resolves("NOTES.md", ROOT / "edgefm" / "x.py")
    assert resolves("docs/model.md", ROOT / "edgefm" / "x.py")
    assert resolves("00_system_model.ipynb", ROOT / "edgefm" / "x.py")  # a notebook by name
    assert not resolves("notebooks/99_nothing.ipynb", ROOT / "edgefm" / "x.py")


def test_every_cited_document_exists():
    files = tracked_files()
    assert any(p.name == "README.md" for p in files) and len(files) > 20
    missing = [f"{p.relative_to(ROOT)}: {ref}" for p in files if p != Path(__file__)  # its examples are wrong
               for ref in document_refs(text_of(p)) if not resolves(ref, p)]
    assert missing == [], "references to documents that are not in the repository:\n" + "\n".join(missing)


def test_model_citations_name_existing_sections_and_equations():
    sections, eqs = model_sections(), set(tags(MODEL.read_text(encoding="utf-8")))
    assert {"1", "5", "5.4", "6.5", "11"} <= sections
    assert not eqs & reserved() and all(int(e[1:]) >= 22 for e in reserved())  # stated numbers leave the list
    eqs |= reserved()
    bad, n = [], 0
    for p in tracked_files():
        if p == Path(__file__):
            continue
        for tail in MODEL_REF.findall(text_of(p)):
            n += 1
            for s in re.findall(r"§(\d+(?:\.\d+)?)", tail):
                if s not in sections:
                    bad.append(f"{p.relative_to(ROOT)}: section §{s}")
            for e in re.findall(r"\bE(\d+)\b", tail):
                if f"E{e}" not in eqs:
                    bad.append(f"{p.relative_to(ROOT)}: equation E{e}")
    assert n >= 50, n  # the code cites the model reference throughout
    assert bad == [], "citations of docs/model.md that point nowhere:\n" + "\n".join(bad)


def test_model_reference_states_notebook_00_equations():
    nb = json.loads((ROOT / "notebooks" / "00_system_model.ipynb").read_text(encoding="utf-8"))
    nb_eqs = tags("\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"))
    md_eqs = tags(MODEL.read_text(encoding="utf-8"))
    assert set(nb_eqs) == {f"E{i}" for i in [*range(1, 9), *range(14, 22)]}
    assert set(md_eqs) >= set(nb_eqs)
    assert all(int(e[1:]) >= 22 for e in set(md_eqs) - set(nb_eqs))  # room for the project's own, E22+
    assert {e: md_eqs[e] for e in nb_eqs} == nb_eqs


def bare_sections(text: str) -> list[str]:
    """Lines citing a section (``§N``) without naming the document (``model.md``) before it on the line."""
    out = []
    for line in text.splitlines():
        for m in re.finditer("§", line):
            if "model.md" not in line[:m.start()]:
                out.append(line.strip()[:100])
                break
    return out


def test_section_citations_name_their_document():
    assert bare_sections("see §5b") and not bare_sections("(docs/model.md §5.7, E17 in §5.5)")
    bad = [f"{p.relative_to(ROOT)}: {line}" for p in tracked_files() if p not in (MODEL, Path(__file__))
           for line in bare_sections(text_of(p))]
    assert bad == [], "section citations without their document:\n" + "\n".join(bad)


@pytest.mark.parametrize("bad", ["NOTES.md §5", "docs/model.md §99", "docs/model.md, E12"])
def test_checks_catch_bad_citations(bad, tmp_path):
    sections, eqs = model_sections(), set(tags(MODEL.read_text(encoding="utf-8")))
    refs_missing = [r for r in document_refs(bad) if not resolves(r, tmp_path / "x.py")]
    tail = MODEL_REF.findall(bad)
    wrong = [s for t in tail for s in re.findall(r"§(\d+(?:\.\d+)?)", t) if s not in sections]
    wrong += [e for t in tail for e in re.findall(r"\bE(\d+)\b", t) if f"E{e}" not in eqs]
    assert refs_missing or wrong
