"""Notebooks saved in JupyterLab never commit outputs (issue 15, item 8): the nbstrip clean filter,
the Makefile's set-up of it, and ``make lab``."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from edgefm.cli.nbstrip import strip, strip_text
from nbgit import committed_text

ROOT = Path(__file__).resolve().parent.parent
NB = ROOT / "notebooks" / "00_system_model.ipynb"


def with_outputs(text: str) -> str:
    """A notebook as Lab saves it after a run: outputs, counts, view state, widget metadata."""
    doc = json.loads(text)
    for i, c in enumerate(doc["cells"]):
        if c["cell_type"] == "code":
            c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hello\n"]}]
            c["execution_count"] = i
            c["metadata"]["scrolled"] = True
            c["metadata"]["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    doc["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    doc["metadata"]["language_info"] = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python"}
    return json.dumps(doc, indent=1)


def test_strip_removes_outputs_and_view_state_and_keeps_tags():
    dirty = json.loads(with_outputs(NB.read_text()))
    clean = strip(dirty)
    code = [c for c in clean["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert code[0]["metadata"] == {"tags": ["parameters"]}
    assert all(c["metadata"] == {} for c in code[1:])
    assert clean["metadata"] == {"kernelspec": dirty["metadata"]["kernelspec"]}
    assert [c["source"] for c in clean["cells"]] == [c["source"] for c in dirty["cells"]]


def committable(nb: Path, root: Path = ROOT) -> list[tuple[str, str]]:
    """What git has or would commit of ``nb``: the working file as git would stage it (through the
    clean filter when the clone has it, :func:`nbgit.committed_text`), the staged blob and the HEAD blob
    (those that exist). Not the working file itself: a notebook saved with outputs in JupyterLab is fine
    as long as git strips them."""
    rel = nb.resolve().relative_to(root).as_posix()
    out = [("as git would stage the working file", committed_text(nb, root))]
    for where, rev in (("staged", f":{rel}"), ("committed (HEAD)", f"HEAD:{rel}")):
        r = subprocess.run(["git", "-C", str(root), "show", rev], capture_output=True)
        if r.returncode == 0:
            out.append((where, r.stdout.decode("utf-8")))
    return out


def assert_commits_no_outputs(nb: Path, root: Path = ROOT) -> None:
    for where, text in committable(nb, root):
        assert strip_text(text) == text, f"{nb.name} {where} has outputs or view state"
        assert strip_text(with_outputs(text)) == text


@pytest.mark.parametrize("nb", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_committed_notebooks_pass_through_byte_for_byte(nb):
    assert_commits_no_outputs(nb)


def _clone_with_notebook(repo: Path, filtered: bool) -> Path:
    """A git repository holding notebook 00 committed, through the nbstrip filter or not."""
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    shutil.copy(ROOT / ".gitattributes", repo / ".gitattributes")
    if filtered:  # what `make nbfilter` installs, with this interpreter
        _git(repo, "config", "filter.nbstrip.clean", f"'{sys.executable}' -m edgefm.cli.nbstrip")
        _git(repo, "config", "filter.nbstrip.smudge", "cat")
    nb = repo / "notebooks" / NB.name
    nb.parent.mkdir()
    nb.write_text(with_outputs(NB.read_text()))  # saved in Lab after a run
    _git(repo, "add", ".gitattributes", "notebooks")
    _git(repo, "commit", "-qm", "nb")
    return nb


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_check_reads_what_git_commits_not_the_working_file(tmp_path):
    # outputs in the working file, stripped by the filter: nothing to object to
    nb = _clone_with_notebook(tmp_path.resolve() / "filtered", filtered=True)
    assert "hello" in nb.read_text()
    assert_commits_no_outputs(nb, nb.parent.parent)
    # outputs committed (no filter in that clone): the check fails, on the staged and the HEAD blob
    nb = _clone_with_notebook(tmp_path.resolve() / "unfiltered", filtered=False)
    with pytest.raises(AssertionError, match="has outputs"):
        assert_commits_no_outputs(nb, nb.parent.parent)
    bad = [where for where, text in committable(nb, nb.parent.parent) if strip_text(text) != text]
    assert bad == ["as git would stage the working file", "staged", "committed (HEAD)"]


def _git(repo, *args, **kw):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, **kw).stdout


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None, reason="needs git and make")
def test_makefile_installs_the_filter_and_git_never_stages_outputs(tmp_path):
    repo = tmp_path / "clone"
    (repo / "notebooks").mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    shutil.copy(ROOT / ".gitattributes", repo / ".gitattributes")
    (repo / "edgefm").symlink_to(ROOT / "edgefm")  # the filter runs the clone's own module ...
    (repo / ".venv").symlink_to(Path(sys.executable).parent.parent)  # ... with the clone's venv
    out = subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "-C", str(repo), "nbfilter"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "installed" in out.stdout, out.stderr
    nb = repo / "notebooks" / NB.name
    shutil.copy(NB, nb)
    _git(repo, "add", ".gitattributes", "notebooks")
    _git(repo, "commit", "-qm", "clean")
    nb.write_text(with_outputs(NB.read_text()))  # "run all" and save in Lab
    assert _git(repo, "diff", "--stat", "notebooks") == ""  # only outputs changed: no difference to commit
    _git(repo, "add", "notebooks")
    assert _git(repo, "status", "--porcelain", "notebooks") == ""  # staged = committed
    staged = json.loads(_git(repo, "show", f":notebooks/{NB.name}"))
    assert all(not c.get("outputs") for c in staged["cells"])
    assert _git(repo, "show", f":notebooks/{NB.name}") == NB.read_text()
    # a real edit still shows, without its outputs
    doc = json.loads(with_outputs(NB.read_text()))
    doc["cells"][0]["source"].append("# edited\n")
    nb.write_text(json.dumps(doc))
    diff = _git(repo, "diff", "notebooks")
    assert "# edited" in diff and "hello" not in diff and "execution_count\": 1" not in diff


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_serves_the_project_root_with_notebooks_in_view(tmp_path):
    port, token = _free_port(), "edgefm-test"
    args = f"--allow-root --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --IdentityProvider.token={token}"
    dry = subprocess.run(["make", "-n", "-C", str(ROOT), "lab", f"LAB_ARGS={args}"], capture_output=True, text=True,
                         check=True).stdout
    cmd = [ln for ln in dry.splitlines() if "jupyter lab" in ln]
    assert len(cmd) == 1 and "--ServerApp.root_dir=" in cmd[0] and "/lab/tree/notebooks" in cmd[0]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    proc = subprocess.Popen(cmd[0], shell=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        def get(path):
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.geturl(), r.read()

        for _ in range(120):
            try:
                get("/api/status")
                break
            except OSError:
                time.sleep(0.5)
        names = {c["name"] for c in json.loads(get("/api/contents")[2])["content"]}
        assert {"notebooks", "data", "pyproject.toml"} <= names  # the project root, results/ and data/ reachable
        assert NB.name in {c["name"] for c in json.loads(get("/api/contents/notebooks")[2])["content"]}
        status, url, _ = get("/")
        assert status == 200 and url.endswith("/lab/tree/notebooks")
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
