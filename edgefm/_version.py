"""The package version, on the bottom floor: it imports nothing, so any module can import it
(``from .._version import __version__``) without going through the package top, whose lazy table
reaches up to the runner and the sweep (issue 14). Keep it equal to ``version`` in pyproject.toml."""

__version__ = "0.1.0"
