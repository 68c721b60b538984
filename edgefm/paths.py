"""Where the project's files are: the clone's root and its shipped ``data/`` folder.

The bottom floor of the package (imports nothing from ``edgefm``), so any module can ask for a
path without importing the package's top level.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["project_root", "data_path"]


def project_root() -> Path:
    """The clone's root folder (holds ``notebooks/``, ``data/`` and ``pyproject.toml``)."""
    return Path(__file__).resolve().parent.parent


def data_path(*parts: str) -> Path:
    """Path of a file shipped in the project's ``data/`` folder.

    Looks for ``data/`` beside the package (an editable install or a clone).

    Examples
    --------
    >>> data_path("scenarios", "paper.yaml").name
    'paper.yaml'
    """
    return project_root().joinpath("data", *parts)
