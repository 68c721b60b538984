import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

# Tests write only to temporary folders: every results path (figures, summaries, sweep cells, the
# placement cache) resolves under this folder unless a test sets its own.
_RESULTS = tempfile.mkdtemp(prefix="edgefm-test-results-")
os.environ["EDGEFM_RESULTS"] = _RESULTS
_PROJECT_RESULTS = Path(__file__).resolve().parent.parent / "results"


def _listing(root: Path) -> set:
    return {(str(p), p.stat().st_mtime_ns) for p in (root, *root.rglob("*"))} if root.exists() else set()


_BEFORE = _listing(_PROJECT_RESULTS)


def pytest_sessionfinish(session, exitstatus):
    """Fail the session if a test wrote into the project's results/ folder."""
    shutil.rmtree(_RESULTS, ignore_errors=True)
    after = _listing(_PROJECT_RESULTS)
    new = sorted(p for p, _ in after - _BEFORE)
    if new:
        print(f"\nerror: the tests wrote into {_PROJECT_RESULTS}: {', '.join(new[:5])}")
        session.exitstatus = 1
