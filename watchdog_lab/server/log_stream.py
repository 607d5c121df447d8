"""Reading a bot's log for the REST routes: pages, tails, and a cursor a live stream polls.

The runner is the only writer of ``logs/bot.jsonl`` (see :mod:`watchdog_lab.bots.logs`); the
server only reads, so a stream survives a server restart and never slows a bot down. Two facts
keep reading cheap however long a log grows, which matters because these reads run on the
server's IOLoop between polls:

- records are appended in sequence order, so the first record after a sequence number is found
  by bisecting byte offsets, not by reading from the start;
- a cursor keeps its byte offset, so each poll reads only what was appended since the last,
  and at most ``max_bytes`` of it: a burst of output is delivered over several polls instead
  of stalling every other request.

A line not yet ending in a newline is a record being written: it stays pending until it is
complete. Lines that do not parse (a torn line sealed by the next writer) are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from ..bots.models import LogRecord

#: Below this window, bisecting stops and the scan goes line by line.
BISECT_WINDOW = 64 * 1024
POLL_MAX_BYTES = 256 * 1024
TAIL_BLOCK = 64 * 1024


def parse_line(line: bytes) -> LogRecord | None:
    try:
        return LogRecord.model_validate_json(line)
    except ValueError:
        return None


def _first_record_after(handle: BinaryIO, position: int, end: int) -> tuple[int, int] | None:
    """(end offset, seq) of the first complete record starting after ``position``, below
    ``end``; None if there is none."""
    handle.seek(position)
    if position:
        handle.readline()  # the rest of the line ``position`` falls in
    start = handle.tell()
    while start < end:
        line = handle.readline()
        if not line.endswith(b"\n"):
            return None
        record = parse_line(line)
        if record is not None:
            return handle.tell(), record.seq
        start = handle.tell()
    return None


def offset_after(path: Path, after: int) -> int:
    """A line start at or before the first record with ``seq > after``.

    Only records known to have ``seq <= after`` are skipped, so reading on from the returned
    offset and dropping ``seq <= after`` gives exactly the records wanted, even if the order
    assumption were ever broken (then the scan is merely longer).
    """
    if after <= 0:
        return 0
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return 0
    with handle:
        low, high = 0, os.fstat(handle.fileno()).st_size
        while high - low > BISECT_WINDOW:
            middle = (low + high) // 2
            found = _first_record_after(handle, middle, high)
            if found is None:
                high = middle
                continue
            end, seq = found
            if seq <= after:
                low = end
            else:
                high = middle
        return low


def offset_of_tail(path: Path, count: int) -> int:
    """The line start ``count`` complete lines before the end (0 if the file is shorter)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return 0
    with handle:
        size = os.fstat(handle.fileno()).st_size
        # Newlines to pass going backwards: one per complete line, plus the one ending the
        # line before the first wanted (a torn last line has no newline and is not counted).
        position, seen = size, 0
        while position > 0:
            start = max(0, position - TAIL_BLOCK)
            handle.seek(start)
            block = handle.read(position - start)
            index = len(block)
            while True:
                index = block.rfind(b"\n", 0, index)
                if index < 0:
                    break
                seen += 1
                if seen == count + 1:
                    return start + index + 1
            position = start
        return 0


class LogCursor:
    """A reader's position in one bot's log: records come out once each, in order."""

    def __init__(self, path: Path, *, offset: int = 0, after: int = 0) -> None:
        self.path = path
        self.offset = offset
        self.after = after
        self._pending = b""

    @classmethod
    def after_seq(cls, path: Path, after: int) -> LogCursor:
        return cls(path, offset=offset_after(path, after), after=after)

    @classmethod
    def tail(cls, path: Path, count: int) -> LogCursor:
        return cls(path, offset=offset_of_tail(path, count))

    def poll(self, max_bytes: int = POLL_MAX_BYTES) -> list[LogRecord]:
        """What was appended since the last poll (up to ``max_bytes`` of it)."""
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            return []
        if size < self.offset:  # replaced or truncated: start over, sequence still rules
            self.offset, self._pending = 0, b""
        if size == self.offset:
            return []
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read(max_bytes)
        except FileNotFoundError:
            return []
        self.offset += len(data)
        *lines, self._pending = (self._pending + data).split(b"\n")
        out: list[LogRecord] = []
        for line in lines:
            record = parse_line(line)
            if record is not None and record.seq > self.after:
                self.after = record.seq
                out.append(record)
        return out

    @property
    def behind(self) -> bool:
        """True when more has been written than polled (a poll stops at ``max_bytes``)."""
        try:
            return os.stat(self.path).st_size > self.offset
        except FileNotFoundError:
            return False


def _drain(cursor: LogCursor, limit: int | None) -> list[LogRecord]:
    """Poll up to what the file held when called: a log growing meanwhile cannot keep a
    page request reading forever."""
    try:
        end = os.stat(cursor.path).st_size
    except FileNotFoundError:
        return []
    out: list[LogRecord] = []
    while cursor.offset < end and (limit is None or len(out) < limit):
        out.extend(cursor.poll(max_bytes=min(POLL_MAX_BYTES, end - cursor.offset)))
    return out if limit is None else out[:limit]


def read_page(path: Path, *, after: int, limit: int) -> list[LogRecord]:
    """At most ``limit`` records with ``seq > after``, oldest first."""
    return _drain(LogCursor.after_seq(path, after), limit)


def read_tail(path: Path, count: int) -> list[LogRecord]:
    """The last ``count`` complete records."""
    if count <= 0:
        return []
    return _drain(LogCursor.tail(path, count), None)[-count:]
