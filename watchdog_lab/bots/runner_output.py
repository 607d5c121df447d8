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
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import sys
import threading
import time
from collections.abc import Callable

from ..redact import RedactingStream, Redactor

__all__ = ["DRAIN_JOIN_SECONDS", "KernelOutput", "OwnOutput", "capture_own_output"]

READ_CHUNK = 16 * 1024
DRAIN_JOIN_SECONDS = 2.0


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
    def encoding(self) -> str:  # type: ignore[override]
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
            sink = _CallbackSink(lambda text, name=name: deliver(name, text))
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
