"""The part of WatchDog Lab that runs inside bots and kernels.

It uses the standard library only (plus ``cryptography``, imported lazily, for request signing)
and nothing else of ``watchdog_lab`` but the connection kinds (``watchdog_lab.kinds``, imported
on first use of a kind's helper), nor of Jupyter, so a bot's environment stays small and its
imports cannot pull in the server.
"""

from __future__ import annotations

from .connection import Connection
from .errors import (
    ConnectionConfigError,
    ConnectionKindError,
    ConnectionNotAvailable,
    InjectionError,
    SdkError,
    UnknownField,
)
from .lookup import Registry, connection, connections, preload, register_source
from .masking import mask_value
from .sources import PipeSource, Source

__all__ = [
    "Connection",
    "ConnectionConfigError",
    "ConnectionKindError",
    "ConnectionNotAvailable",
    "InjectionError",
    "PipeSource",
    "Registry",
    "SdkError",
    "Source",
    "UnknownField",
    "connection",
    "connections",
    "mask_value",
    "preload",
    "register_source",
]
