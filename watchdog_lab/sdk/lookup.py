"""``wd.connection(name)``: find a granted connection by name, whichever source holds it.

Bots look connections up inside trading loops, so the path after the first load is a case fold
and one dict lookup per source, with no lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .broker import BrokerSource
from .connection import Connection
from .errors import ConnectionNotAvailable
from .sources import PipeSource, Source


class Registry:
    """An ordered set of sources; the first one that has a name answers for it."""

    def __init__(self, sources: Iterable[Source] = ()) -> None:
        # A tuple replaced as a whole, so lookups running in other threads never see it
        # half-updated and need no lock.
        self._sources: tuple[Source, ...] = tuple(sources)

    @property
    def sources(self) -> tuple[Source, ...]:
        return self._sources

    def register(self, source: Source, *, first: bool = False) -> None:
        """Add a source, asked after the existing ones unless ``first``."""
        if not isinstance(source, Source):
            raise TypeError(
                f"{type(source).__name__} is not a connection source "
                "(it needs get(key), names() and preload())."
            )
        if source in self._sources:
            return
        self._sources = (source, *self._sources) if first else (*self._sources, source)

    def connection(self, name: str) -> Connection:
        """The connection called ``name`` (ignoring case), or :class:`ConnectionNotAvailable`."""
        if not isinstance(name, str):
            raise TypeError(f"A connection name is a string, not {type(name).__name__}.")
        key = name.casefold()
        for source in self._sources:
            try:
                conn = source.get(key)
            except ConnectionNotAvailable as refusal:
                # A source that refuses itself (the kernel broker) saw only the case-folded key;
                # its message names the connection as the caller spelled it.
                refusal.requested = name
                raise
            if conn is not None:
                return conn
        raise ConnectionNotAvailable(name, self.names())

    def names(self) -> list[str]:
        """Names of every available connection, first source first, without repeats."""
        seen: set[str] = set()
        result: list[str] = []
        for source in self._sources:
            for name in source.names():
                key = name.casefold()
                if key not in seen:
                    seen.add(key)
                    result.append(name)
        return result

    def preload(self) -> None:
        for source in self._sources:
            source.preload()


def _default_sources() -> list[Source]:
    """Connections handed over by a bot's runner first, then the kernel broker if this is an
    interactive kernel that a Jupyter server with WatchDog Lab started."""
    sources: list[Source] = [PipeSource()]
    broker = BrokerSource.from_environ()
    if broker is not None:
        sources.append(broker)
    return sources


_default = Registry(_default_sources())


def default_registry() -> Registry:
    """The process-wide registry ``wd.connection()`` asks."""
    return _default


def connection(name: str) -> Connection:
    """The connection granted to this process under ``name`` (case-insensitive).

    Raises :class:`~watchdog_lab.sdk.errors.ConnectionNotAvailable` listing the names that are
    available, and :class:`~watchdog_lab.sdk.errors.InjectionError` if what the platform handed
    over cannot be read.
    """
    return _default.connection(name)


def connections() -> list[str]:
    """Names of the connections this process may use (names only, never values)."""
    return _default.names()


def register_source(source: Source, *, first: bool = False) -> None:
    """Make another source of connections available to :func:`connection`."""
    _default.register(source, first=first)


def preload() -> None:
    """Read injected connections now instead of on first use.

    A bot kernel calls this at start-up (an ``exec_lines`` of its kernel) so the hand-over pipe
    is read and closed before user code runs: no subprocess the bot starts inherits it. A
    process about to hold handed-over secrets is first made non-dumpable, so other processes of
    the user cannot read its memory.
    """
    from .injection import FD_ENV_VAR

    if FD_ENV_VAR in os.environ:
        from .hardening import make_undumpable

        make_undumpable()
    _default.preload()
