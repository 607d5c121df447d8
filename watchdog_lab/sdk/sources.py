"""Where a process's connections come from.

A :class:`Source` answers "which connections may this process use, and give me one". The bot
runner injects them through the environment (:class:`EnvSource`); interactive kernels will ask a
broker over a socket. :mod:`.lookup` asks its sources in order and does not care which is which,
so adding a source changes nothing for ``wd.connection()``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import MutableMapping
from typing import Protocol, runtime_checkable

from .connection import Connection
from .errors import InjectionError
from .injection import ENV_VAR, decode_connections


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


class EnvSource:
    """Connections the bot runner put in the process environment.

    The variable is read once, on first use, and removed from the environment at that moment
    (even if it is malformed) so that processes the bot starts afterwards do not inherit the
    secrets. The decoded connections then live only in this object.
    """

    def __init__(
        self,
        environ: MutableMapping[str, str] | None = None,
        variable: str = ENV_VAR,
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
        if self._variable not in self._environ:
            return {}, None
        problem = None
        try:
            # The payload is passed straight through, never held in a local of this frame.
            decoded = decode_connections(
                self._environ.pop(self._variable),
                origin=f"the environment variable {self._variable}",
            )
        except InjectionError as error:
            problem = str(error)
            decoded = []
        if problem is not None:
            return None, problem
        return {conn.name.casefold(): conn for conn in decoded}, None
