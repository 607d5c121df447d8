"""Reading a file whose path a user (or a kernel, through the server) gave: bounded, and only
if it is what it claims to be.

``stat`` before ``open`` is not enough: the size of ``/dev/zero`` or of a FIFO is 0, the file
can change between the two calls, and ``open`` on a FIFO blocks until a writer comes. So the
file is opened without blocking, the *opened* file is checked with ``fstat``, and at most one
byte more than the limit is read, whatever the file turns out to be.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Callable

from .errors import InputFileTooLarge, NotARegularFile

_CHUNK = 64 * 1024


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something else"


def read_regular_file(
    path: str | os.PathLike[str],
    limit: int,
    what: str,
    *,
    allow_pipe: bool = False,
    check: Callable[[os.stat_result], None] | None = None,
) -> bytes:
    """The bytes of the regular file at ``path``, refused beyond ``limit`` bytes.

    ``what`` names the file in errors ("notebook", "--password-file"). ``allow_pipe`` also
    accepts a pipe (``<(pass show vault)``): it is read until its writer closes it, still never
    past ``limit``; a FIFO nobody writes to reads as empty instead of blocking. ``check`` sees
    the opened file's ``fstat`` before anything is read (to warn about its mode, say).

    Raises :class:`NotARegularFile`, :class:`InputFileTooLarge`, or the ``OSError`` of the
    failed ``open`` (missing file, permission denied), for the caller to word.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    before = os.stat(path)  # refuse a device before opening it: opening some has effects
    _accept(path, before.st_mode, what, allow_pipe)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        _accept(path, info.st_mode, what, allow_pipe)
        if check is not None:
            check(info)
        if stat.S_ISFIFO(info.st_mode):
            # Opened without blocking so a FIFO without a writer cannot hang the open; read
            # blocking, so a writer that has not written yet is waited for.
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return _read_at_most(fd, limit, path, what)
    finally:
        os.close(fd)


def _accept(path: str | os.PathLike[str], mode: int, what: str, allow_pipe: bool) -> None:
    if stat.S_ISREG(mode) or (allow_pipe and stat.S_ISFIFO(mode)):
        return
    raise NotARegularFile(what, os.fspath(path), _kind(mode))


def _read_at_most(fd: int, limit: int, path: str | os.PathLike[str], what: str) -> bytes:
    chunks: list[bytes] = []
    remaining = limit + 1
    while remaining > 0:
        chunk = os.read(fd, min(_CHUNK, remaining))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    if remaining <= 0:
        raise InputFileTooLarge(what, os.fspath(path), limit)
    return b"".join(chunks)
