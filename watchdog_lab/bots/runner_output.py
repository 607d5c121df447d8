"""Byte-level output capture for a bot's runner: nothing a bot writes reaches disk unredacted.

``print`` in a cell reaches the runner as a Jupyter message, but much output never does:
``os.write(1, ...)``, a subprocess's ``echo``, ``sys.__stdout__``, C-library ``printf``, a
crash dump, the exec wrapper's own errors. All of that goes to the process's file descriptors
1 and 2. So neither the kernel's nor the runner's descriptors 1 and 2 are files: they are pipes
that a thread of the runner drains continuously (a kernel that floods output is never blocked
for good, and memory stays bounded), and every byte passes through the runner's
:class:`~watchdog_lab.redact.Redactor`, which knows the granted values, before it is written.

Each pipe is decoded and fed to a :class:`~watchdog_lab.redact.RedactingStream`: it holds back
the unfinished line, so a secret cut across two ``write()`` calls is still caught, and lets
text out at each newline, past its hold limit (64 KiB), or when the writer closes the pipe. A
partial line with no newline after it therefore appears when the next newline, the hold limit
or the kernel's end arrives, never after a timer: a timer would let out half a secret.

Where it goes:

- the kernel's descriptors 1 and 2 go to the bot's log (``logs/bot.jsonl``) as ``stdout`` and
  ``stderr`` records of the run, without a cell number. It is the bot's output, including its
  start-up errors (an exec wrapper that could not set up the sandbox says why there), and the
  user reads it with ``bots logs``. ipykernel's own capture of these descriptors is turned off
  by the runner, so each byte is logged once, by the runner, not also echoed by the kernel;
- the runner's own descriptors 1 and 2 go, redacted, to whatever they were when the runner
  started (``logs/runner.log``, given by the supervisor): Python tracebacks, ``faulthandler``
  stack dumps, messages of libraries the runner uses.

The Jupyter messages (``print``, displays, errors) are streamed to the same log as they arrive;
the notebook the runner keeps in memory, and saves in ``runs/``, holds only the tail of each
cell's outputs (:class:`OutputCap`). A continuous bot's one cell never ends, so without a cap
every line it ever printed would stay in the runner's memory.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import io
import os
import sys
import threading
import time
from collections.abc import Callable, MutableSequence
from typing import Any

from ..redact import RedactingStream, Redactor

__all__ = [
    "DRAIN_JOIN_SECONDS",
    "KernelOutput",
    "OutputCap",
    "OwnOutput",
    "capture_own_output",
    "dropped_marker_text",
]

READ_CHUNK = 16 * 1024
DRAIN_JOIN_SECONDS = 2.0
#: What one cell keeps of its outputs in memory (and in the saved run): the newest ones, up to
#: this many outputs and this many characters (base64 images count by their text).
MAX_CELL_OUTPUTS = 500
MAX_CELL_OUTPUT_CHARS = 512 * 1024
#: What the whole notebook keeps: beyond it, the outputs of cells other than the running one
#: are dropped, oldest cell first.
MAX_NOTEBOOK_OUTPUT_CHARS = 4 * 1024 * 1024
#: Where a cell's marker output records its drops, for tools that read the saved run.
MARKER_METADATA_KEY = "watchdog_lab"


class _CallbackSink(io.TextIOBase):
    """The text stream a :class:`RedactingStream` writes redacted text into."""

    def __init__(self, deliver: Callable[[str], None]) -> None:
        super().__init__()
        self._deliver = deliver

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if s:
            self._deliver(s)
        return len(s)

    @property
    def encoding(self) -> str:  # type: ignore[override]  # read-only; TextIOBase's is settable
        return "utf-8"


def _drain(fd: int, stream: RedactingStream) -> None:
    """Copy ``fd`` into ``stream`` until every writer has closed it; then flush and close."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    try:
        while True:
            try:
                data = os.read(fd, READ_CHUNK)
            except InterruptedError:
                continue
            except OSError:
                break
            if not data:
                break
            stream.write(decoder.decode(data))
        stream.write(decoder.decode(b"", final=True))
        stream.flush()
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


def _start_drain(fd: int, stream: RedactingStream, name: str) -> threading.Thread:
    thread = threading.Thread(target=_drain, args=(fd, stream), name=name, daemon=True)
    thread.start()
    return thread


class KernelOutput:
    """The pipes that become one kernel's descriptors 1 and 2, drained into the bot's log.

    ``deliver(stream_name, text)`` receives redacted text (``"stdout"`` or ``"stderr"``).
    Create one per kernel start; pass :attr:`stdout` and :attr:`stderr` as the kernel's
    ``stdout``/``stderr``, call :meth:`launched` once the kernel exists (the runner must not
    keep the write ends open, or the drains never see the end), and :meth:`close` after the
    kernel has ended.
    """

    def __init__(self, redactor: Redactor, deliver: Callable[[str, str], None]) -> None:
        self._write_ends: list[int] = []
        self._threads: list[threading.Thread] = []
        for name in ("stdout", "stderr"):
            read_end, write_end = os.pipe()
            self._write_ends.append(write_end)
            sink = _CallbackSink(functools.partial(deliver, name))
            self._threads.append(
                _start_drain(read_end, RedactingStream(sink, redactor), f"kernel-{name}")
            )
        self._lock = threading.Lock()

    @property
    def stdout(self) -> int:
        return self._write_ends[0]

    @property
    def stderr(self) -> int:
        return self._write_ends[1]

    def launched(self) -> None:
        """Close the runner's copies of the write ends (the kernel holds its own)."""
        with self._lock:
            for fd in self._write_ends:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._write_ends = [-1, -1]

    def close(self, timeout: float = DRAIN_JOIN_SECONDS) -> None:
        """Wait (bounded) until everything the kernel wrote is logged.

        A process the bot left behind may still hold a write end; its drain then goes on in
        the background (it is a daemon thread) rather than hold up the next run.
        """
        self.launched()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def output_chars(output: Any) -> int:
    """The characters an output shows: its text, its data's values, its error's lines."""
    return sum(_chars(output.get(key)) for key in _CONTENT_KEYS)


_CONTENT_KEYS = ("text", "data", "evalue", "traceback")


def _chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_chars(item) for item in value.values())
    if isinstance(value, list | tuple):
        return sum(_chars(item) for item in value)
    return 0


def dropped_marker_text(outputs: int, chars: int) -> str:
    """The line that stands in for the outputs a cell no longer keeps."""
    return (
        f"[WatchDog Lab: {outputs:,} earlier output(s) / {chars:,} characters of this cell were "
        "dropped from the notebook to keep the runner's memory bounded; their text is in the "
        "bot's log]\n"
    )


class _CellTally:
    """What :class:`OutputCap` knows of one cell's outputs."""

    __slots__ = ("chars", "count", "dropped_chars", "dropped_outputs", "marker")

    def __init__(self) -> None:
        self.count = 0  # outputs kept, the marker not included
        self.chars = 0
        self.dropped_outputs = 0
        self.dropped_chars = 0
        self.marker: Any = None


class OutputCap:
    """Keeps a running notebook's outputs bounded: the tail of each cell, and of the notebook.

    Call :meth:`added` after each output a cell receives. When the cell holds more than
    ``max_outputs`` or ``max_chars``, its oldest outputs go (a single output too long for the
    cell keeps the end of its text), and a marker output at the top of the cell says how many
    outputs and characters went; the cell's metadata records the same figures. When the
    notebook as a whole holds more than ``max_total_chars``, the other cells' outputs go the
    same way, the lowest cell first. Every output was already written to the bot's log when it
    arrived, so nothing is lost from there. ``make_output`` builds the marker (nbformat's
    ``new_output``), so this module does not depend on nbformat.
    """

    def __init__(
        self,
        make_output: Callable[..., Any],
        *,
        max_outputs: int = MAX_CELL_OUTPUTS,
        max_chars: int = MAX_CELL_OUTPUT_CHARS,
        max_total_chars: int = MAX_NOTEBOOK_OUTPUT_CHARS,
    ) -> None:
        self._make_output = make_output
        self.max_outputs = max(1, max_outputs)
        self.max_chars = max(1, max_chars)
        self.max_total_chars = max(self.max_chars, max_total_chars)
        self._cells: dict[int, _CellTally] = {}

    def added(self, cells: MutableSequence[Any], cell_index: int) -> bool:
        """Account for the newest output of ``cells[cell_index]``; trim what is over budget.
        Returns whether any output was dropped or moved (display ids must then be re-indexed)."""
        cell = cells[cell_index]
        tally = self._tally(cell, cell_index)
        changed = self._trim_cell(cell, tally, self.max_outputs, self.max_chars)
        if sum(t.chars for t in self._cells.values()) > self.max_total_chars:
            for index in sorted(self._cells):
                if index == cell_index or index >= len(cells):
                    continue
                other = self._cells[index]
                if other.count:
                    self._tally(cells[index], index)
                    self._trim_cell(cells[index], other, 0, 0)
                    changed = True
                if sum(t.chars for t in self._cells.values()) <= self.max_total_chars:
                    break
        return changed

    def _tally(self, cell: Any, index: int) -> _CellTally:
        """The cell's tally, recounted when its outputs changed behind our back (a cleared
        output, a new execution)."""
        outs = cell.outputs
        tally = self._cells.setdefault(index, _CellTally())
        has_marker = bool(outs) and tally.marker is not None and outs[0] is tally.marker
        if not has_marker and tally.marker is not None:  # cleared: its drops went with it
            tally.marker = None
            tally.dropped_outputs = tally.dropped_chars = 0
        kept = len(outs) - has_marker
        if kept == tally.count + 1:
            tally.chars += output_chars(outs[-1])
        else:
            tally.chars = sum(output_chars(o) for o in outs[has_marker:])
        tally.count = kept
        return tally

    def _trim_cell(self, cell: Any, tally: _CellTally, max_outputs: int, max_chars: int) -> bool:
        outs = cell.outputs
        first = 1 if tally.marker is not None else 0
        trimmed = False
        while tally.count > 0 and (tally.count > max_outputs or tally.chars > max_chars):
            trimmed = True
            if tally.count == 1 and max_outputs > 0 and self._cut_text(outs[first], tally):
                break
            gone = output_chars(outs.pop(first))
            tally.count -= 1
            tally.chars -= gone
            tally.dropped_outputs += 1
            tally.dropped_chars += gone
        if not trimmed:
            return False
        if tally.marker is None:
            tally.marker = self._make_output("stream", name="stderr", text="")
            outs.insert(0, tally.marker)
        tally.marker["text"] = dropped_marker_text(tally.dropped_outputs, tally.dropped_chars)
        cell.setdefault("metadata", {})[MARKER_METADATA_KEY] = {
            "dropped_outputs": tally.dropped_outputs,
            "dropped_chars": tally.dropped_chars,
        }
        return True

    def _cut_text(self, output: Any, tally: _CellTally) -> bool:
        """Keep the end of one stream output that alone is over the cell's budget."""
        text = output.get("text") if output.get("output_type") == "stream" else None
        if not isinstance(text, str):
            return False
        cut = len(text) - self.max_chars
        if cut <= 0:
            return False
        output["text"] = text[cut:]
        tally.chars -= cut
        tally.dropped_chars += cut
        return True


class OwnOutput:
    """The runner's own descriptors 1 and 2, redirected through its redactor.

    :func:`capture_own_output` makes one; :meth:`close` (at the runner's end) lets out what is
    still held and puts ``/dev/null`` on descriptors 1 and 2.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._threads: list[threading.Thread] = []
        for fd in (1, 2):
            try:
                target = os.dup(fd)  # what the supervisor gave: logs/runner.log
            except OSError:  # started with the descriptor closed: keep it quiet, not broken
                target = os.open(os.devnull, os.O_WRONLY)
            out = io.TextIOWrapper(
                io.FileIO(target, "w"), encoding="utf-8", errors="replace", write_through=True
            )
            read_end, write_end = os.pipe()
            os.dup2(write_end, fd)
            os.close(write_end)
            stream = RedactingStream(out, redactor)
            self._threads.append(_start_drain(read_end, stream, f"own-{fd}"))

    def close(self, timeout: float = DRAIN_JOIN_SECONDS) -> None:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)  # the pipes' last write ends: the drains see the end
            os.dup2(null, 2)
        finally:
            os.close(null)
        for thread in self._threads:
            thread.join(timeout)


def capture_own_output(redactor: Redactor) -> OwnOutput:
    """Send this process's descriptors 1 and 2 through ``redactor`` to where they pointed.

    Call it first thing, before any secret is in the process; add the secrets to ``redactor``
    when they arrive (it is read at each line, so later values are caught from then on).
    """
    return OwnOutput(redactor)
