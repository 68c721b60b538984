"""``edgefm reproduce`` tells what it is doing (issue 16, item 5): kernel-side progress reaches the
runner's log through a side file, a long cell gets heartbeat lines, and kernel noise is filtered
from stderr while everything else passes."""
import json
import os
import subprocess
import sys
import time

import pytest

from edgefm.progress import PROGRESS_ENV, NoiseFilter, NotebookMonitor, filtered_stderr, note, progress_bar

SLOW = "01_slow" + ".ipynb"  # a throw-away notebook of the test (named in pieces: no document reference)

TCP = ("[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication "
       "(including code and outputs) is sent in plain text and is susceptible to eavesdropping.\n")


def run_filter(lines):
    f = NoiseFilter()
    out = [x for ln in lines for x in f.feed(ln)]
    return out + f.flush()


def test_filter_drops_kernel_noise_and_keeps_the_rest():
    interrupt = ["Traceback (most recent call last):\n", '  File "x.py", line 3, in <module>\n',
                 "    time.sleep(1)\n", "KeyboardInterrupt\n"]
    ignored = ["Exception ignored in: <module 'threading'>\n", "Traceback (most recent call last):\n",
               '  File "threading.py", line 1, in _shutdown\n', "KeyboardInterrupt: \n"]
    error = ["Traceback (most recent call last):\n", '  File "y.py", line 1, in <module>\n',
             "ValueError: a real error\n"]
    lines = ["first line\n", TCP, "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.\n", *interrupt, "KeyboardInterrupt\n", *ignored, *error, "last line\n"]
    assert run_filter(lines) == ["first line\n", *error, "last line\n"]


def test_filter_keeps_an_unfinished_block_and_mentions_of_interrupts():
    lines = ["the user pressed KeyboardInterrupt twice\n", "Traceback (most recent call last):\n", "  File"]
    assert run_filter(lines) == lines


def test_filtered_stderr_filters_child_processes(capfd):
    code = ("import sys; sys.stderr.write(" + repr(TCP) + " + 'kept from the child\\n'"
            " + 'KeyboardInterrupt\\n'); sys.stderr.flush()")
    with filtered_stderr():
        subprocess.run([sys.executable, "-c", code], check=True)
        print("kept from here", file=sys.stderr, flush=True)
    err = capfd.readouterr().err
    assert "kept from the child" in err and "kept from here" in err
    assert "without encryption" not in err and "KeyboardInterrupt" not in err


def test_progress_goes_to_the_side_file_only_under_the_runner(tmp_path, monkeypatch, capfd):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    bar = progress_bar(3, desc="sweep x", unit="cell", show=False)
    bar.update(3)
    bar.close()
    note("nothing to write to")
    side = tmp_path / "side.log"
    monkeypatch.setenv(PROGRESS_ENV, str(side))
    bar = progress_bar(4, desc="sweep x", unit="cell", show=False, initial=1)
    bar.update(3)
    bar.close()
    note("scale: a line")
    text = side.read_text()
    assert "sweep x: 4/4 cells (100 %)" in text and text.rstrip().endswith("scale: a line")
    assert capfd.readouterr().err == ""  # nothing on the notebook's stderr


def test_monitor_beats_for_a_long_cell_with_the_latest_progress(tmp_path):
    side = tmp_path / "side.log"
    side.write_text("")
    lines = []
    mon = NotebookMonitor("a notebook", side, every=0.2, emit=lines.append)
    mon.set_cells(["# title", "x = 1", "run_sweep(SPEC)\nmore()"], ["markdown", "code", "code"])
    mon.cell_start(0)  # markdown: ignored
    mon.cell_start(1)
    mon.cell_complete(1)  # quick cell: silent
    assert lines == []
    mon.cell_start(2)
    side.write_text("\rsweep fig3: 1/9 cells\rsweep fig3: 2/9 cells")
    time.sleep(0.25)
    mon.poll()
    mon.cell_complete(2)
    assert lines[0].startswith("    cell 2/2 (run_sweep(SPEC)) running for 0 s: sweep fig3: 2/9 cells"), lines
    assert lines[1] == "    cell 2/2 (run_sweep(SPEC)) done in 0 s"


def _notebook(path, cells):
    doc = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "outputs": [],
                      "metadata": {"tags": ["parameters"]} if i == 0 else {}, "source": src}
                     for i, src in enumerate(cells)],
           "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
           "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(doc))


@pytest.mark.notebook
def test_reproduce_log_shows_cell_and_sweep_progress_without_kernel_noise(tmp_path, capfd):
    from edgefm.reproduce import run_notebooks

    (tmp_path / "notebooks").mkdir()
    _notebook(tmp_path / "notebooks" / SLOW, [
        "QUICK = False\nSEED = 0",
        "import time\nfrom edgefm.progress import progress_bar\nbar = progress_bar(3, desc='sweep demo', "
        "unit='cell', show=False)\nfor _ in range(3):\n    time.sleep(0.7)\n    bar.update()\nbar.close()",
    ])
    runs = run_notebooks(results=tmp_path / "res", root=tmp_path, heartbeat=0.5)
    out, err = capfd.readouterr()
    assert [r.status for r in runs] == ["ok"], runs
    assert "cell 2/2 (import time) running for" in out and "sweep demo:" in out, out
    assert "cell 2/2 (import time) done in" in out
    assert f"[1/1] {SLOW} ok in" in out
    assert "without encryption" not in err and "KeyboardInterrupt" not in err, err
    assert os.environ.get(PROGRESS_ENV) is None
    executed = json.loads((tmp_path / "res" / "notebooks" / SLOW).read_text())
    shown = json.dumps([c.get("outputs", []) for c in executed["cells"]])
    assert "sweep demo" not in shown and "cells (" not in shown  # the progress stays out of the notebook
