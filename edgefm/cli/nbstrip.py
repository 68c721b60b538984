"""The git *clean* filter for notebooks: what git stores of a ``.ipynb`` has no outputs.

JupyterLab saves outputs, execution counts and view state (``scrolled``, widget state) into the
notebook file; the project commits notebooks without them. ``.gitattributes`` marks
``notebooks/*.ipynb`` with ``filter=nbstrip`` and ``make venv`` installs the filter in the clone's git
config, so git passes every notebook it stages through :func:`strip`: a notebook opened, run and
saved in Lab shows no change in ``git status`` unless its cells changed, and outputs never reach a
commit. Not a sub-command: git runs ``python -m edgefm.cli.nbstrip`` with the notebook on stdin.

Kept: cells (type, id, source), cell tags, the kernelspec, nbformat versions. Dropped: outputs,
execution counts, every other metadata entry (``language_info``, which Lab rewrites on save, too). The text is written as
nbformat writes it (one-space indent, sorted keys, UTF-8, final newline), so a clean notebook
passes through byte for byte.
"""
from __future__ import annotations

import json
import sys

__all__ = ["strip", "strip_text", "main"]


def strip(doc: dict) -> dict:
    """A copy of the notebook ``doc`` (nbformat 4 JSON) without outputs and volatile metadata."""
    out = {k: v for k, v in doc.items() if k != "cells"}
    meta = doc.get("metadata", {})
    out["metadata"] = {k: meta[k] for k in ("kernelspec",) if k in meta}
    cells = []
    for cell in doc.get("cells", []):
        c = {k: v for k, v in cell.items() if k not in ("outputs", "execution_count", "metadata")}
        tags = cell.get("metadata", {}).get("tags")
        c["metadata"] = {"tags": tags} if tags else {}
        if cell.get("cell_type") == "code":
            c["outputs"], c["execution_count"] = [], None
        cells.append(c)
    out["cells"] = cells
    return out


def strip_text(text: str) -> str:
    """:func:`strip` on notebook text, written the way nbformat writes it."""
    return json.dumps(strip(json.loads(text)), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    """Filter stdin to stdout; text that is not a notebook passes through unchanged."""
    text = sys.stdin.buffer.read().decode("utf-8")
    try:
        out = strip_text(text)
    except (ValueError, AttributeError, TypeError):
        out = text
    sys.stdout.buffer.write(out.encode("utf-8"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
