"""A bot's log: redacted, sequenced JSON lines in ``logs/bot.jsonl``.

Only the runner writes (one writer per file, so sequence numbers are simply counted, under a
lock: the notebook's messages and the drains of the kernel's descriptors arrive on different
threads); every
reader — the CLI, the server's stream — reads the file. Each record is one ``write()`` of one
complete line on an ``O_APPEND`` descriptor, so a killed runner leaves at most a torn last line,
which readers skip and the next writer repairs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ..redact import Redactor
from .models import LogRecord

MAX_TEXT = 64 * 1024
TRUNCATED = "\n[... truncated: output longer than 64 KiB]"


class LogWriter:
    """Appends records, redacting their text, with a sequence that continues across restarts."""

    def __init__(self, path: Path, redactor: Redactor) -> None:
        self.path = path
        self.redactor = redactor
        self.seq = last_seq(path)
        self._lock = threading.Lock()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if path.stat().st_size and not _ends_with_newline(path):
            os.write(self._fd, b"\n")  # seal a torn line left by a killed writer

    def write(
        self, stream: str, text: str, *, cell: int | None = None, run: int | None = None
    ) -> LogRecord:
        """Append one record; after :meth:`close` nothing is written (a late drain thread of a
        process the bot left behind must not write into a descriptor number reused since)."""
        clean = self.redactor.redact(text)
        if len(clean) > MAX_TEXT:
            clean = clean[:MAX_TEXT] + TRUNCATED
        with self._lock:
            self.seq += 1
            record = LogRecord(
                seq=self.seq, ts=time.time(), stream=stream, text=clean, cell=cell, run=run
            )
            if self._fd >= 0:
                line = record.model_dump_json(exclude_none=True) + "\n"
                os.write(self._fd, line.encode("utf-8"))
        return record

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _parse(line: bytes) -> LogRecord | None:
    try:
        return LogRecord.model_validate(json.loads(line))
    except ValueError:
        return None


def last_seq(path: Path) -> int:
    """The last complete record's sequence number (reads only the file's tail)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            chunk = 64 * 1024
            while True:
                start = max(0, size - chunk)
                handle.seek(start)
                lines = handle.read(size - start).splitlines()
                for line in reversed(lines if start == 0 else lines[1:]):
                    record = _parse(line)
                    if record is not None:
                        return record.seq
                if start == 0:
                    return 0
                chunk *= 4
    except FileNotFoundError:
        return 0


def read_records(path: Path, *, after: int = 0, limit: int | None = None) -> list[LogRecord]:
    """Records with ``seq > after``, oldest first, at most ``limit``."""
    out: list[LogRecord] = []
    for record in iter_records(path):
        if record.seq > after:
            out.append(record)
            if limit is not None and len(out) >= limit:
                break
    return out


def tail_records(path: Path, count: int) -> list[LogRecord]:
    last = last_seq(path)
    return read_records(path, after=max(0, last - count))


def iter_records(path: Path) -> Iterator[LogRecord]:
    try:
        with path.open("rb") as handle:
            for line in handle:
                if line.endswith(b"\n"):
                    record = _parse(line)
                    if record is not None:
                        yield record
    except FileNotFoundError:
        return


def follow(
    path: Path, *, after: int = 0, poll: float = 0.1, stop: object = None
) -> Iterator[LogRecord]:
    """Yield records as they are appended; ``stop`` is a callable that ends the wait."""
    offset = 0
    pending = b""
    while True:
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            data = b""
        if data:
            offset += len(data)
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                record = _parse(line)
                if record is not None and record.seq > after:
                    after = record.seq
                    yield record
        elif callable(stop) and stop():
            return
        else:
            time.sleep(poll)
