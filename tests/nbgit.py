"""What git would commit of a file: its content passed through the clean filter git would apply."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def committed_text(path: Path, root: Path = ROOT) -> str:
    """The text git would stage for ``path`` (in the clone at ``root``): through its ``filter=`` clean
    command when the clone has one configured (as ``make venv`` installs it), else the file as it is."""
    rel = path.resolve().relative_to(root)
    try:
        attr = subprocess.run(["git", "check-attr", "filter", "--", str(rel)], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip().rsplit(": ", 1)[-1]
        clean = subprocess.run(["git", "config", f"filter.{attr}.clean"], cwd=root, capture_output=True,
                               text=True).stdout.strip() if attr not in ("unspecified", "unset", "") else ""
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        clean = ""
    if not clean:
        return path.read_text(encoding="utf-8")
    return subprocess.run(clean, shell=True, cwd=root, input=path.read_bytes(), capture_output=True,
                          check=True).stdout.decode("utf-8")
