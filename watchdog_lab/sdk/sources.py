"""Where a process's connections come from.

A :class:`Source` answers "which connections may this process use, and give me one". The bot
runner hands them over on an inherited pipe (:class:`PipeSource`); interactive kernels ask a
broker over a socket. :mod:`.lookup` asks its sources in order and does not care which is which,
so adding a source changes nothing for ``wd.connection()``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import MutableMapping
from typing import Protocol, runtime_checkable

from .connection import Connection
from .errors import InjectionError
from .injection import FD_ENV_VAR, MAX_ENCODED_CHARS, decode_connections

_READ_CHUNK = 64 * 1024


@runtime_checkable
class Source(Protocol):
    """What :class:`~.lookup.Registry` needs from a source of connections.

    ``key`` is the requested name already case-folded. ``get`` returns ``None`` when the source
    does not have the connection (the registry then asks the next source) and raises only when
    the source itself is broken. ``preload`` does any one-time work now rather than on the first
    lookup; a source with nothing to prepare does nothing.
    """

    def get(self, key: str) -> Connection | None: ...

    def names(self) -> list[str]: ...

    def preload(self) -> None: ...


class PipeSource:
    """Connections the bot runner handed over on an inherited pipe.

    The runner writes the payload into a pipe and starts the kernel with the read end open; the
    environment holds only the descriptor's number (``WATCHDOG_LAB_CONNECTIONS_FD``). Neither
    ``/proc/<pid>/environ`` nor the environment of anything the bot starts ever holds a secret,
    unlike an environment variable, whose initial value stays in ``/proc/<pid>/environ`` for
    the life of the process even after ``os.environ`` forgets it.

    The pipe is read once, to its end, on first use (a bot kernel preloads at start-up, before
    any cell runs), then the descriptor is closed and the variable removed, even when what was
    read is unusable. The decoded connections then live only in this object; a second reader
    finds nothing.
    """

    def __init__(
        self,
        environ: MutableMapping[str, str] | None = None,
        variable: str = FD_ENV_VAR,
    ) -> None:
        self._environ: MutableMapping[str, str] = os.environ if environ is None else environ
        self._variable = variable
        self._lock = threading.Lock()
        self._by_key: dict[str, Connection] | None = None
        self._problem: str | None = None

    def get(self, key: str) -> Connection | None:
        by_key = self._by_key
        if by_key is None:
            by_key = self._load()
        return by_key.get(key)

    def names(self) -> list[str]:
        by_key = self._by_key
        if by_key is None:
            by_key = self._load()
        return [conn.name for conn in by_key.values()]

    def preload(self) -> None:
        if self._by_key is None:
            self._load()

    def _load(self) -> dict[str, Connection]:
        with self._lock:
            if self._by_key is None and self._problem is None:
                self._by_key, self._problem = self._consume()
        if self._problem is not None:
            # A fresh exception each time: re-raising one object would grow its traceback.
            raise InjectionError(self._problem)
        assert self._by_key is not None
        return self._by_key

    def _consume(self) -> tuple[dict[str, Connection] | None, str | None]:
        number = self._environ.pop(self._variable, None)
        if number is None:
            return {}, None
        origin = f"the connection hand-over (file descriptor {self._variable}={number})"
        try:
            fd = int(number)
        except ValueError:
            fd = -1
        if fd < 3:  # never the standard streams
            return None, (
                f"The environment variable {self._variable} is not the number of a hand-over "
                "pipe. "
                "Restart the bot from WatchDog Lab so its connections are handed over again."
            )
        outcome = _read_all(fd)
        if isinstance(outcome, str):
            return None, (
                f"{origin[:1].upper()}{origin[1:]} cannot be read: {outcome}. Restart the bot "
                "from WatchDog Lab so its connections are handed over again."
            )
        problem = None
        try:
            # The payload is passed straight through, never held in a str local of this frame.
            decoded = decode_connections(outcome.decode("ascii", "replace").strip(), origin=origin)
        except InjectionError as error:
            problem = str(error)
            decoded = []
        finally:
            outcome[:] = bytes(len(outcome))  # best effort: no copy of the payload left here
            del outcome
        if problem is not None:
            return None, problem
        return {conn.name.casefold(): conn for conn in decoded}, None


def _read_all(fd: int) -> bytearray | str:
    """Read ``fd`` to its end and close it; return the bytes or a problem (never raising).

    Closed whatever happens, so the descriptor cannot reach a subprocess the bot starts later.
    """
    data = bytearray()
    try:
        while True:
            chunk = os.read(fd, _READ_CHUNK)
            if not chunk:
                return data
            data += chunk
            if len(data) > MAX_ENCODED_CHARS + 2:  # the payload and a newline
                data[:] = bytes(len(data))
                return f"it holds more than {MAX_ENCODED_CHARS} characters"
    except OSError as exc:
        data[:] = bytes(len(data))
        if exc.errno == errno.EBADF:
            return "it was already read, or the process that received it has closed it"
        return f"reading it failed ({type(exc).__name__})"
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
