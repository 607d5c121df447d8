"""WatchDog Lab: research notebooks to live trading bots, with the exchange keys sealed.

Inside a notebook or a bot this module is the SDK (``import watchdog_lab as wd``); for Jupyter
it also names the server extension and the prebuilt lab extension. The SDK part imports nothing
of Jupyter so that a bot's venv stays small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .sdk import Connection, connection, connections
    from .sdk.errors import ConnectionNotAvailable, SdkError

__all__ = [
    "Connection",
    "ConnectionNotAvailable",
    "SdkError",
    "__version__",
    "connection",
    "connections",
    "panel",
]


#: The SDK's names, imported on first use: the exec wrapper in front of every bot kernel lives
#: in this package too, and runs twice per bot (outside and as init of its PID namespace), where
#: the SDK's imports would cost megabytes of memory for nothing.
_SDK_NAMES = {
    "Connection": "sdk",
    "connection": "sdk",
    "connections": "sdk",
    "ConnectionNotAvailable": "sdk.errors",
    "SdkError": "sdk.errors",
}


def __getattr__(name: str) -> Any:
    """The SDK's names on first use; ``wd.bot``, ``wd.state`` and ``wd.log`` inside the bot."""
    if name in _SDK_NAMES:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_SDK_NAMES[name]}"), name)
        globals()[name] = value
        return value
    if name == "bot":
        from .sdk.bot import current_bot

        return current_bot()
    if name == "panel":
        return _panel()
    if name == "state":
        return _state()
    if name == "log":
        from .sdk.log import get_logger

        return get_logger()
    raise AttributeError(f"module 'watchdog_lab' has no attribute {name!r}")


def _panel() -> Any:
    """``wd.panel``: the notebook panel; in a bot, a no-op, so that a promoted notebook's panel
    cell runs headless without ipywidgets (which a bot's venv does not carry)."""
    from .sdk.bot import current_bot

    if current_bot() is not None:
        return _no_panel
    # Not imported for type checkers at module level either: the copy of the SDK in a bot's
    # venv has no ipython package, and a module-level import of it would fail there.
    from .ipython.panel import panel

    return panel


def _no_panel() -> None:
    """The panel inside a bot: nothing to show, nobody to show it to."""


_STATE: Any = None


def _state() -> Any:
    global _STATE
    if _STATE is None:
        from .sdk.bot import current_bot
        from .sdk.state import State, StateError

        bot = current_bot()
        if bot is None:
            raise StateError(
                "wd.state keeps a bot's state between runs; it is available when this notebook "
                "runs as a bot (promote it with `watchdog-lab bots promote`)."
            )
        _STATE = State(bot.state_dir)
    return _STATE


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext watchdog_lab``: the ``%wd`` magics (IPython is imported only here)."""
    from .ipython import load_ipython_extension as load

    load(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "watchdog-lab"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import WatchdogLab

    return [{"module": "watchdog_lab.server", "app": WatchdogLab}]
