"""WatchDog Lab: research notebooks to live trading bots, with the exchange keys sealed.

Inside a notebook or a bot this module is the SDK (``import watchdog_lab as wd``); for Jupyter
it also names the server extension and the prebuilt lab extension. The SDK part imports nothing
of Jupyter so that a bot's venv stays small.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .sdk import Connection, connection, connections
from .sdk.errors import ConnectionNotAvailable, SdkError

__all__ = [
    "Connection",
    "ConnectionNotAvailable",
    "SdkError",
    "__version__",
    "connection",
    "connections",
]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "watchdog-lab"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import WatchdogLab

    return [{"module": "watchdog_lab.server", "app": WatchdogLab}]
