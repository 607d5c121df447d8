"""A bot's log: redacted, sequenced JSON lines in ``logs/bot.jsonl``, rotated by size.

**Writing.** Only the runner writes (one writer per file, so sequence numbers are simply
counted, under a lock: the notebook's messages and the drains of the kernel's descriptors
arrive on different threads). Each record is one ``write()`` of one complete line on an
``O_APPEND`` descriptor, so a killed runner leaves at most a torn last line, which readers skip
and the next writer seals. A record the disk refuses (full: an error, or a short write that
tears the line) takes no sequence number, so the numbers stay gapless; the next record written
is preceded by a ``system`` record saying how many were lost and why.

**Rotating.** Before a record that would take the file past ``max_bytes``, the writer starts a
new file: it creates ``bot.jsonl.next``, deletes the files beyond ``keep_files``, renames
``bot.jsonl.N`` to ``N+1`` (the highest first), ``bot.jsonl`` to ``bot.jsonl.1`` and
``bot.jsonl.next`` to ``bot.jsonl``. Each step is one rename or unlink, under the writer's lock,
and a file is never written again once renamed: a runner killed between two steps leaves every
record it wrote in exactly one file, the suffixes still in order (a gap at most), and the next
writer takes the highest sequence number from the newest file holding a record. Sequence
numbers go on across files. Every record is shorter than the smallest file allowed
(:data:`~.models.MIN_LOG_MAX_BYTES`), so no file exceeds ``max_bytes`` and a bot's log takes at
most ``keep_files * max_bytes``.

**Reading.** Readers (the CLI, the server's pages and live streams) take no lock. A
:class:`LogCursor` knows the file it reads by inode and first bytes, not by name: when a
rotation renames that file under it, it reads the renamed file to its end, then goes on with
the next newer one, so a follower neither misses nor repeats a record. A reader so far behind
that its file was deleted resumes at the oldest record kept (the sequence numbers show the
gap). Files hold records in sequence order, oldest file first, so the record after a sequence
number is found from the files' first records and then by bisecting byte offsets, never by
reading from the start.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..redact import Redactor
from .models import LogRecord, LogRotation

MAX_TEXT = 64 * 1024
TRUNCATED = "\n[... truncated: output longer than 64 KiB]"
#: What one poll of a cursor reads at most: a burst of output is delivered over several polls
#: instead of stalling a server's IOLoop.
POLL_MAX_BYTES = 256 * 1024
#: Below this window, bisecting stops and the scan goes line by line.
BISECT_WINDOW = 64 * 1024
TAIL_BLOCK = 64 * 1024
#: The suffix of the file a rotation prepares before it renames anything.
NEXT_SUFFIX = ".next"


def _numbered(path: Path, number: int) -> Path:
    return path.with_name(f"{path.name}.{number}")


def rotated_files(path: Path) -> dict[int, Path]:
    """``{n: bot.jsonl.n}`` for every rotated file of the log at ``path`` (any order)."""
    prefix = path.name + "."
    found: dict[int, Path] = {}
    try:
        entries = os.scandir(path.parent)
    except FileNotFoundError:
        return found
    with entries:
        for entry in entries:
            suffix = entry.name[len(prefix) :]
            if entry.name.startswith(prefix) and suffix.isascii() and suffix.isdigit():
                found[int(suffix)] = Path(entry.path)
    return found


def log_files(path: Path) -> list[Path]:
    """The log's files, oldest first: ``bot.jsonl.N`` ... ``bot.jsonl.1``, then ``bot.jsonl``
    (listed whether or not it exists yet)."""
    rotated = rotated_files(path)
    return [rotated[n] for n in sorted(rotated, reverse=True)] + [path]


class LogWriter:
    """Appends records, redacting their text, with a sequence that continues across restarts
    and rotations.

    A record that cannot be written (a full disk) is counted in :attr:`dropped`, not given a
    sequence number: the numbers stay gapless, and the first record written afterwards is
    preceded by a ``system`` record saying how many were lost and why.
    """

    def __init__(self, path: Path, redactor: Redactor, rotation: LogRotation | None = None) -> None:
        self.path = path
        self.redactor = redactor
        self.rotation = rotation or LogRotation()
        self.seq = last_seq(path)
        #: Records lost to write errors since this writer opened (reported in the log).
        self.dropped = 0
        self._unreported = 0
        self._failure = ""
        self._lock = threading.Lock()
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)  # reads its last byte
        self._size = os.fstat(self._fd).st_size
        # A torn line left by a killed writer (or a short write on a full disk): the next
        # record starts on a line of its own.
        self._torn = bool(self._size) and os.pread(self._fd, 1, self._size - 1) != b"\n"
        with contextlib.suppress(OSError):  # a full disk: the next record written seals it
            if self._torn:
                self._append(b"")
            if self._size >= self.rotation.max_bytes:  # the setting shrank since last time
                self._rotate()

    def write(
        self, stream: str, text: str, *, cell: int | None = None, run: int | None = None
    ) -> LogRecord:
        """Append one record; after :meth:`close` nothing is written (a late drain thread of a
        process the bot left behind must not write into a descriptor number reused since)."""
        clean = _encodable(self.redactor.redact(text))
        if len(clean) > MAX_TEXT:
            clean = clean[:MAX_TEXT] + TRUNCATED
        with self._lock:
            if self._fd >= 0 and (not self._unreported or self._report_losses()):
                record = self._next(stream, clean, cell, run)
                if self._put(record):
                    return record
            elif self._fd < 0:  # closed: the record is numbered, as before, but goes nowhere
                record = self._next(stream, clean, cell, run)
                self.seq = record.seq
                return record
            self._unreported += 1
            self.dropped += 1
            return self._next(stream, clean, cell, run)

    def _next(self, stream: str, text: str, cell: int | None, run: int | None) -> LogRecord:
        return LogRecord(
            seq=self.seq + 1, ts=time.time(), stream=stream, text=text, cell=cell, run=run
        )

    def _report_losses(self) -> bool:
        """Write the note on the records lost since the last one; whether it was written."""
        note = f"{self._unreported} log record(s) could not be written: {self._failure}"
        if not self._put(self._next("system", note, None, None)):
            return False
        self._unreported = 0
        return True

    def _put(self, record: LogRecord) -> bool:
        """Write one record (under the lock), rotating first if it would overflow the file;
        whether it is in the file, its sequence number then taken."""
        line = (record.model_dump_json(exclude_none=True) + "\n").encode("utf-8")
        try:
            grown = self._size + len(line) + self._torn  # a seal's newline included
            if self._size and grown > self.rotation.max_bytes:
                self._rotate()
            written = self._append(line)
        except OSError as exc:
            self._failure = (exc.strerror or type(exc).__name__).lower()
            return False
        if not written:
            self._failure = os.strerror(errno.ENOSPC).lower()  # a short write: the disk filled
            return False
        self.seq = record.seq
        return True

    def _append(self, line: bytes) -> bool:
        """Write ``line`` after sealing a torn last line; whether all of its record (the line
        but perhaps its newline, which the next write adds) reached the file."""
        sealing = self._torn
        data = b"\n" + line if sealing else line
        written = os.write(self._fd, data)
        self._size += written
        if written == len(data):
            self._torn = False
            return True
        # A short write (a full disk): what follows must start on a line of its own.
        self._torn = data[written - 1 : written] != b"\n"
        return bool(line) and written >= len(data) - 1

    def _rotate(self) -> None:
        """Start a new file (under the lock). Nothing is renamed until the new file exists, so
        a failure to create it leaves the log as it was, and the record goes to the old file."""
        next_path = self.path.with_name(self.path.name + NEXT_SUFFIX)
        try:
            fd = os.open(next_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError:
            return
        keep_rotated = self.rotation.keep_files - 1
        rotated = rotated_files(self.path)
        for number, file in rotated.items():
            if number >= keep_rotated:  # beyond what is kept once everything moves up one
                file.unlink(missing_ok=True)
        for number in sorted((n for n in rotated if n < keep_rotated), reverse=True):
            os.rename(rotated[number], _numbered(self.path, number + 1))
        with contextlib.suppress(FileNotFoundError):  # removed by hand: still start anew
            os.rename(self.path, _numbered(self.path, 1))
        os.rename(next_path, self.path)
        os.close(self._fd)
        self._fd, self._size, self._torn = fd, 0, False

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def _encodable(text: str) -> str:
    """``text`` with lone surrogates (which JSON escapes can carry into a kernel message)
    replaced: a record that cannot be encoded would take the writer down with it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def parse_line(line: bytes) -> LogRecord | None:
    try:
        return LogRecord.model_validate_json(line)
    except ValueError:
        return None


def _last_in(path: Path) -> int | None:
    """The last complete record's sequence number in one file (reads only its tail)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    with handle:
        size = handle.seek(0, os.SEEK_END)
        chunk = 64 * 1024
        while True:
            start = max(0, size - chunk)
            handle.seek(start)
            lines = handle.read(size - start).splitlines()
            for line in reversed(lines if start == 0 else lines[1:]):
                record = parse_line(line)
                if record is not None:
                    return record.seq
            if start == 0:
                return None
            chunk *= 4


def last_seq(path: Path) -> int:
    """The highest sequence number written: the last record of the newest file holding one
    (the current file may be empty, or missing, right after a rotation)."""
    for file in reversed(log_files(path)):
        seq = _last_in(file)
        if seq is not None:
            return seq
    return 0


# ------------------------------------------------------------------------------ reading


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


def _offset_after(handle: BinaryIO, after: int) -> int:
    """A line start at or before the first record of the file with ``seq > after``.

    Only records known to have ``seq <= after`` are skipped, so reading on from the returned
    offset and dropping ``seq <= after`` gives exactly the records wanted, even if the order
    assumption were ever broken (then the scan is merely longer).
    """
    low, high = 0, os.fstat(handle.fileno()).st_size
    if after <= 0:
        return 0
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


def offset_after(path: Path, after: int) -> int:
    """:func:`_offset_after` in the file at ``path`` (0 if it does not exist)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return 0
    with handle:
        return _offset_after(handle, after)


def _tail_offset(handle: BinaryIO, count: int) -> tuple[int, int]:
    """(the line start ``count`` complete lines before the end of the file, or 0; how many
    complete lines lie after it)."""
    size = os.fstat(handle.fileno()).st_size
    # Newlines to pass going backwards: one per complete line, plus the one ending the line
    # before the first wanted (a torn last line has no newline and is not counted).
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
                return start + index + 1, count
        position = start
    return 0, seen


def _first_seq(handle: BinaryIO) -> int | None:
    """The sequence number of the file's first complete record (None: it holds none yet)."""
    handle.seek(0)
    for line in handle:
        if not line.endswith(b"\n"):
            return None
        record = parse_line(line)
        if record is not None:
            return record.seq
    return None


def _open_file(path: Path) -> tuple[BinaryIO, int] | None:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    return handle, os.fstat(handle.fileno()).st_ino


#: How many of a file's first bytes tell it from another that got its inode number: the
#: first record's sequence number and time are in them.
SIGNATURE_BYTES = 64


def _head(handle: BinaryIO) -> bytes:
    return os.pread(handle.fileno(), SIGNATURE_BYTES, 0)


class LogCursor:
    """A reader's position in one bot's log, across its files: records come out once each, in
    order.

    The file read is known by its inode (``inode``; None: find the place by sequence number)
    and its first bytes: a deleted file's inode number can be reused at once, by the very next
    file, and only its content tells the two apart. While fewer bytes than
    :data:`SIGNATURE_BYTES` are known, the cursor's offset is within them, so a file beginning
    with the same bytes continues exactly where the other stopped.
    """

    def __init__(
        self, path: Path, *, offset: int = 0, after: int = 0, inode: int | None = None
    ) -> None:
        self.path = path
        self.offset = offset
        self.after = after
        self.inode = inode
        self._signature = b""
        self._pending = b""

    @classmethod
    def after_seq(cls, path: Path, after: int) -> LogCursor:
        cursor = cls(path, after=after)
        cursor._seek()
        return cursor

    @classmethod
    def tail(cls, path: Path, count: int) -> LogCursor:
        """Before the last ``count`` complete records, in whichever files they are."""
        cursor = cls(path)
        remaining = count
        for file in reversed(log_files(path)):
            opened = _open_file(file)
            if opened is None:
                continue
            handle, inode = opened
            with handle:
                offset, found = _tail_offset(handle, remaining)
                cursor._attach(inode, offset, _head(handle))
            remaining -= found
            if remaining <= 0:
                break
        return cursor

    def _attach(self, inode: int | None, offset: int, signature: bytes) -> None:
        self.inode, self.offset, self._signature, self._pending = inode, offset, signature, b""

    def _seek(self) -> None:
        """Place the cursor at the first record with ``seq > after``: in the newest file whose
        first record is at most ``after + 1``, else in the oldest file holding any."""
        self._attach(None, 0, b"")
        for file in reversed(log_files(self.path)):
            opened = _open_file(file)
            if opened is None:
                continue
            handle, inode = opened
            with handle:
                first = _first_seq(handle)
                if first is None:
                    if self.inode is None:  # empty: the place to wait if nothing is older
                        self._attach(inode, 0, b"")
                    continue
                self._attach(inode, _offset_after(handle, self.after), _head(handle))
            if first <= self.after + 1:
                return

    def _locate(self) -> tuple[BinaryIO, int | None, bool] | None:
        """The open file the cursor reads, the inode of the next newer file (None: none yet)
        and whether it is the current file."""
        for _ in range(3):  # the file moved or was replaced between two looks: look again
            if self.inode is None:
                self._seek()
                if self.inode is None:
                    return None
            opened = _open_file(self.path)
            if opened is not None:  # the common case, the current file: no listing needed
                if opened[1] == self.inode and self._same_file(opened[0]):
                    return opened[0], None, True
                opened[0].close()
                if opened[1] == self.inode:  # another file got the inode number
                    self._seek()
                    continue
            files = log_files(self.path)
            inodes: list[int | None] = []
            for file in reversed(files):  # newest first: the current file is the usual one
                try:
                    inodes.insert(0, os.stat(file).st_ino)
                except FileNotFoundError:
                    inodes.insert(0, None)
                if inodes[0] == self.inode:
                    break
            if self.inode not in inodes:  # deleted under a reader that fell that far behind
                self._seek()
                continue
            index = len(files) - len(inodes)
            opened = _open_file(files[index])
            if opened is None or opened[1] != self.inode:
                if opened is not None:
                    opened[0].close()
                continue
            handle = opened[0]
            if not self._same_file(handle):  # another file got the inode number
                handle.close()
                self._seek()
                continue
            newer = next((i for i in inodes[1:] if i is not None), None)
            return handle, newer, index == len(files) - 1
        return None

    def _same_file(self, handle: BinaryIO) -> bool:
        """Whether ``handle`` begins as the cursor's file did (learning more of its start)."""
        head = _head(handle)
        if not head.startswith(self._signature):
            return False
        if len(head) > len(self._signature):
            self._signature = head
        return True

    def poll(self, max_bytes: int = POLL_MAX_BYTES) -> list[LogRecord]:
        """What was appended since the last poll (up to ``max_bytes`` of it)."""
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        if current is not None and (current.st_ino, current.st_size) == (self.inode, self.offset):
            return []  # the common case: nothing new
        out: list[LogRecord] = []
        budget = max_bytes
        while budget > 0:
            located = self._locate()
            if located is None:
                break
            handle, newer, is_current = located
            with handle:
                size = os.fstat(handle.fileno()).st_size
                if size < self.offset:  # truncated in place: start over, sequence still rules
                    self._attach(self.inode, 0, b"")
                handle.seek(self.offset)
                data = handle.read(min(budget, size - self.offset))
            self.offset += len(data)
            budget -= len(data)
            out.extend(self._records(data))
            if is_current or self.offset < size:
                break
            # A rotated file read to its end: it is never written again; go on with the next.
            self._attach(newer, 0, b"")
            if newer is None:
                break
        return out

    def _records(self, data: bytes) -> list[LogRecord]:
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
        """True when more has been written than polled (a poll stops at ``max_bytes``, and a
        rotated file is read before the next)."""
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return False
        return current.st_ino != self.inode or current.st_size > self.offset


def _until_newest(cursor: LogCursor) -> Iterator[LogRecord]:
    """Poll up to the newest record written when called: a log growing meanwhile cannot keep a
    page request reading forever."""
    newest = last_seq(cursor.path)
    while True:
        before = (cursor.inode, cursor.offset)
        batch = cursor.poll()
        yield from batch
        if batch and batch[-1].seq >= newest:
            return
        if not batch and (not cursor.behind or (cursor.inode, cursor.offset) == before):
            return


def drain(cursor: LogCursor, limit: int | None = None) -> list[LogRecord]:
    """The records up to the newest written when called, at most ``limit``."""
    out: list[LogRecord] = []
    for record in _until_newest(cursor):
        out.append(record)
        if limit is not None and len(out) >= limit:
            break
    return out


def read_records(path: Path, *, after: int = 0, limit: int | None = None) -> list[LogRecord]:
    """Records with ``seq > after``, oldest first, at most ``limit``."""
    return drain(LogCursor.after_seq(path, after), limit)


def tail_records(path: Path, count: int) -> list[LogRecord]:
    """The last ``count`` complete records."""
    if count <= 0:
        return []
    return drain(LogCursor.tail(path, count))[-count:]


def iter_records(path: Path) -> Iterator[LogRecord]:
    """Every record kept, oldest first."""
    yield from _until_newest(LogCursor.after_seq(path, 0))


def follow(
    path: Path, *, after: int = 0, poll: float = 0.1, stop: Callable[[], bool] | None = None
) -> Iterator[LogRecord]:
    """Yield records as they are appended, across rotations; ``stop`` ends the wait."""
    cursor = LogCursor.after_seq(path, after)
    while True:
        records = cursor.poll()
        yield from records
        if records or cursor.behind:
            continue
        if stop is not None and stop():
            return
        time.sleep(poll)
