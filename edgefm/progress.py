"""What ``edgefm reproduce`` prints while a notebook runs: progress and a quiet stderr.

Two sides meet here.

* Inside a notebook's kernel, a long loop (the cells of :func:`edgefm.experiments.sweep.run_sweep`,
  the runs of :func:`edgefm.experiments.scale.scale_table`) reports through :func:`progress_bar` or
  :func:`note`. When the notebook runs under ``edgefm reproduce``, the environment variable
  :data:`PROGRESS_ENV` names a side file and the report goes there, not into the notebook's outputs;
  elsewhere (JupyterLab, a script) nothing changes.
* In the runner, :class:`NotebookMonitor` follows the executing notebook: a heartbeat line names the
  running cell, how long it has run and the latest line of the side file, and a cell that ran long
  reports its time when it ends. :func:`filtered_stderr` passes the runner's and the kernels' stderr
  through :class:`NoiseFilter`, which drops the kernels' start-up warning about unencrypted TCP and the
  ``KeyboardInterrupt`` tracebacks that kernel processes print when they are shut down.
"""
from __future__ import annotations

import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm  # the text bar: no ipywidgets needed, no IProgress warning in notebooks

__all__ = ["PROGRESS_ENV", "progress_bar", "note", "NoiseFilter", "filtered_stderr", "NotebookMonitor"]

#: Environment variable naming the side file that kernel-side progress goes to (set by the runner).
PROGRESS_ENV = "EDGEFM_PROGRESS_FILE"

#: Shortest interval (s) between two progress lines written to the side file.
LOG_INTERVAL = 5.0


def _side_file():
    path = os.environ.get(PROGRESS_ENV)
    if not path:
        return None
    try:
        return open(path, "a", encoding="utf-8")
    except OSError:
        return None


def progress_bar(total: int, *, desc: str, unit: str = "it", show: bool = True, initial: int = 0):
    """A tqdm bar: on stderr when ``show``, else into the runner's side file when there is one, else silent.

    Parameters
    ----------
    total : int
        Number of steps.
    desc : str
        Name shown before the count (e.g. the sweep's name).
    unit : str
        Name of one step (``"cell"``).
    show : bool
        The caller's ``progress`` flag: a visible bar.
    initial : int
        Steps already done (cached sweep cells).

    Returns
    -------
    tqdm.tqdm
        Use as usual (``update``, ``close``); closing also closes the side file.
    """
    if show:
        return tqdm(total=total, initial=initial, desc=desc, unit=unit)
    fh = _side_file()
    if fh is None:
        return tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=True)
    return _SideBar(fh, total=total, initial=initial, desc=desc, unit=unit, file=fh, ascii=True,
                    mininterval=LOG_INTERVAL, maxinterval=60 * LOG_INTERVAL, dynamic_ncols=False,
                    bar_format="{desc}: {n_fmt}/{total_fmt} " + unit + "s ({percentage:.0f} %), "
                               "{elapsed} elapsed, about {remaining} left")


class _SideBar(tqdm):
    """A tqdm bar writing to the side file; closing it closes the file."""

    def __init__(self, fh, *args, **kwargs):
        self._side_fh = fh
        super().__init__(*args, **kwargs)

    def close(self):
        try:
            super().close()
        finally:
            fh = getattr(self, "_side_fh", None)
            if fh is not None and not fh.closed:
                fh.write("\n")
                fh.close()


def note(message: str) -> None:
    """Append one line to the runner's side file (nothing outside ``edgefm reproduce``)."""
    fh = _side_file()
    if fh is not None:
        with fh:
            fh.write(message.replace("\n", " ") + "\n")


class NoiseFilter:
    """Line filter for the stderr of ``edgefm reproduce``: drops kernel noise, keeps everything else.

    Dropped: the ipykernel warning ``Kernel is running over TCP without encryption``; its message
    ``KeyboardInterrupt caught in kernel`` (the kernel manager interrupts every kernel before shutting
    it down); any traceback (``Traceback ...`` or ``Exception ignored in ...`` block) whose exception
    is ``KeyboardInterrupt``; and a bare ``KeyboardInterrupt`` line, which the kernel's child processes
    may print at that interrupt. Other tracebacks pass whole.

    Feed lines (with or without their newline) to :meth:`feed`; each call returns the lines to pass
    on, in order. :meth:`flush` returns a block still open at the end.
    """

    NOISE = (re.compile(r"Kernel is running over TCP without encryption"),
             re.compile(r"^\[IPKernelApp\] ERROR \| KeyboardInterrupt caught in kernel"))
    _HEADERS = ("Traceback (most recent call last):", "Exception ignored in")
    _MAX_BLOCK = 500

    def __init__(self):
        self._block: list[str] = []

    @staticmethod
    def _is_interrupt(line: str) -> bool:
        s = line.strip()
        return s == "KeyboardInterrupt" or s.startswith("KeyboardInterrupt:")

    def feed(self, line: str) -> list[str]:
        """Lines to emit after reading ``line``."""
        if any(p.search(line) for p in self.NOISE):
            return []
        text = line.rstrip("\n")
        if self._block:
            if (not text or text[0] in " \t" or text.startswith(self._HEADERS)
                    or text.startswith("During handling") or text.startswith("The above exception")):
                self._block.append(line)
                return self.flush() if len(self._block) > self._MAX_BLOCK else []
            block, self._block = self._block + [line], []
            return [] if self._is_interrupt(text) else block
        if text.startswith(self._HEADERS):
            self._block = [line]
            return []
        return [] if self._is_interrupt(text) else [line]

    def flush(self) -> list[str]:
        """The lines of an unfinished block (kept: it was not shown to be an interrupt)."""
        block, self._block = self._block, []
        return block


@contextmanager
def filtered_stderr(noise_filter: NoiseFilter | None = None):
    """Route file descriptor 2 through ``noise_filter`` while the block runs.

    Works at the descriptor level, so it also filters what child processes (the notebook kernels)
    inherit and write. Where fd 2 cannot be redirected, the block runs unfiltered.
    """
    filt = noise_filter or NoiseFilter()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    r, w = os.pipe()
    os.dup2(w, 2)
    os.close(w)

    def write(lines):
        for ln in lines:
            data = ln.encode("utf-8", "replace")
            while data:
                try:
                    data = data[os.write(saved, data):]
                except OSError:
                    return

    def pump():
        buf = b""
        with os.fdopen(r, "rb", buffering=0) as fh:
            while True:
                chunk = fh.read(65536)
                if not chunk:
                    break
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for ln in lines:
                    write(filt.feed(ln.decode("utf-8", "replace") + "\n"))
        if buf:
            write(filt.feed(buf.decode("utf-8", "replace")))
        write(filt.flush())

    t = threading.Thread(target=pump, name="edgefm-stderr-filter", daemon=True)
    t.start()
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)  # the pipe closes once no process holds it
        t.join(timeout=2.0)
        if not t.is_alive():  # a lingering child still writing keeps the copy for the pump
            os.close(saved)


class NotebookMonitor:
    """Follows one executing notebook for the log of ``edgefm reproduce``.

    The runner passes the executed notebook's cells to :meth:`set_cells` and calls :meth:`cell_start` and
    :meth:`cell_complete` from papermill's execution hooks.
    A background thread prints, every ``every`` seconds while one cell runs longer than that, a line
    naming the cell, its running time and the latest progress line of the side file
    (:func:`progress_bar`, :func:`note`); a cell that ran at least ``every`` seconds prints its time
    when it ends.

    Parameters
    ----------
    name : str
        The notebook's file name.
    side_file : path
        The side file the kernel writes (:data:`PROGRESS_ENV`).
    every : float
        Heartbeat interval in seconds.
    emit : callable, optional
        Called with each line (default: print to stdout, flushed).
    """

    def __init__(self, name: str, side_file: Path, every: float = 30.0, emit=None):
        self.name = name
        self.every = float(every)
        self.side_file = Path(side_file)
        self._emit = emit or (lambda s: print(s, flush=True))
        self._code: list[int] = []
        self._src: list[str] = []
        self._cell: int | None = None
        self._t0 = 0.0
        self._last_beat = 0.0
        self._offset = 0
        self.status = ""
        self.printed = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def set_cells(self, sources: list[str], kinds: list[str]) -> None:
        """The source and type of each cell, by papermill's cell index; only ``"code"`` cells are followed
        and counted (not ``"markdown"``, nor papermill's ``"injected"`` parameters)."""
        self._src = [str(x) for x in sources]
        self._code = [i for i, k in enumerate(kinds) if k == "code"]

    def _label(self, index: int) -> str:
        k = self._code.index(index) + 1
        first = next((ln.strip() for ln in self._src[index].splitlines() if ln.strip()), "")
        first = first if len(first) <= 60 else first[:57] + "..."
        return f"cell {k}/{len(self._code)} ({first})"

    def emit(self, line: str) -> None:
        """Print one indented log line."""
        self.printed += 1
        self._emit("    " + line)

    def cell_start(self, index: int) -> None:
        """A cell began executing (markdown cells are ignored)."""
        if index not in self._code:
            return
        with self._lock:
            self._cell, self._t0 = index, time.monotonic()
            self._last_beat = self._t0

    def cell_complete(self, index: int) -> None:
        """A cell ended (successfully or not)."""
        with self._lock:
            if self._cell is None:
                return
            secs = time.monotonic() - self._t0
            cell, self._cell = self._cell, None
            if secs >= self.every:
                self.emit(f"{self._label(cell)} done in {secs:.0f} s")

    def poll(self) -> None:
        """Read the side file and print a heartbeat when one is due (the thread calls this each second)."""
        self._read_side()
        with self._lock:
            if self._cell is None:
                return
            now = time.monotonic()
            if now - self._last_beat >= self.every:
                self._last_beat = now
                msg = f"{self._label(self._cell)} running for {now - self._t0:.0f} s"
                self.emit(msg + (f": {self.status}" if self.status else ""))

    def _read_side(self) -> None:
        try:
            with open(self.side_file, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except OSError:
            return
        self._offset += len(data)
        parts = [p.strip() for p in re.split(r"[\r\n]", data.decode("utf-8", "replace")) if p.strip()]
        if parts:
            self.status = parts[-1]

    def _loop(self) -> None:
        while not self._stop.wait(min(1.0, self.every / 2)):
            self.poll()

    def __enter__(self):
        self._thread = threading.Thread(target=self._loop, name="edgefm-notebook-monitor", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        return False
