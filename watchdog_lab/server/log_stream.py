"""Reading a bot's log for the REST routes: pages, tails, and a cursor a live stream polls.

The runner is the only writer of ``logs/bot.jsonl`` and its rotated files (see
:mod:`watchdog_lab.bots.logs`, where the reading lives too, shared with the CLI); the server
only reads, so a stream survives a server restart and never slows a bot down. What keeps these
reads cheap on the server's IOLoop, however long a log grows:

- the record after a sequence number is found from the files' first records, then by
  bisecting byte offsets, not by reading from the start;
- a cursor keeps its file (by inode) and byte offset, so each poll costs one ``stat`` when
  nothing was written and otherwise reads only what was appended since the last, at most
  ``max_bytes`` of it: a burst of output is delivered over several polls instead of stalling
  every other request;
- a rotation under a cursor is followed: the renamed file is read to its end, then the next.

A line not yet ending in a newline is a record being written: it stays pending until it is
complete. Lines that do not parse (a torn line sealed by the next writer) are skipped.
"""

from __future__ import annotations

from pathlib import Path

from ..bots.logs import (
    BISECT_WINDOW,
    POLL_MAX_BYTES,
    TAIL_BLOCK,
    LogCursor,
    offset_after,
    parse_line,
    read_records,
    tail_records,
)
from ..bots.models import LogRecord

__all__ = [
    "BISECT_WINDOW",
    "POLL_MAX_BYTES",
    "TAIL_BLOCK",
    "LogCursor",
    "offset_after",
    "parse_line",
    "read_page",
    "read_tail",
]


def read_page(path: Path, *, after: int, limit: int) -> list[LogRecord]:
    """At most ``limit`` records with ``seq > after``, oldest first, across rotated files."""
    return read_records(path, after=after, limit=limit)


def read_tail(path: Path, count: int) -> list[LogRecord]:
    """The last ``count`` complete records, across rotated files."""
    return tail_records(path, count)
