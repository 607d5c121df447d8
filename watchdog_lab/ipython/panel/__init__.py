"""``wd.panel()`` and ``%wd panel``: WatchDog Lab as ipywidgets tabs inside the notebook.

Each tab is a thin view over the core, reached through this kernel's broker token like ``%wd``:
Vault, Connections, Bots (with *Promote this notebook*), Logs and AI Fix. Every act that makes
a secret reachable or weakens the vault asks for the vault password in that same act.

Imported only when the panel is asked for: ipywidgets is a notebook's dependency, never a bot's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ...sdk.broker import BrokerClient
from .. import failures
from .aifix import AIFixTab
from .bots import BotsTab
from .bridge import FrontendBridge
from .common import NO_BROKER, BusyNotice, Context, css_class, status_html
from .connections import ConnectionsTab
from .logs import LogsTab
from .vault import VaultTab

__all__ = ["Panel", "panel", "show_panel"]


class Panel(widgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """The tabs, the busy-kernel notice, and the background threads that keep them current.

    ``close()`` stops the threads and unhooks the cell events.
    """

    def __init__(
        self,
        shell: Any = None,
        client_factory: Callable[[], BrokerClient | None] = BrokerClient.from_environ,
        bridge: FrontendBridge | None = None,
    ) -> None:
        self.shell = shell
        self.context = Context(shell, client_factory)
        self.bridge = bridge or FrontendBridge()
        self.busy = BusyNotice(shell)
        self.tabs = widgets.Tab()
        self.tabs.add_class(css_class("tabs"))
        recorder = _recorder(shell)
        self.vault = VaultTab(self.context)
        self.connections = ConnectionsTab(self.context)
        self.bots = BotsTab(self.context, self.bridge, is_shown=lambda: self._shown(2))
        self.logs = LogsTab(self.context, bot_names=lambda: list(self.bots.names))
        self.aifix = AIFixTab(self.context, self.bridge, recorder)
        parts = (self.vault, self.connections, self.bots, self.logs, self.aifix)
        self.tabs.children = [part.widget for part in parts]
        self.tabs.titles = [part.title for part in parts]
        header = widgets.HTML(value="")
        if client_factory() is None:
            header.value = status_html(NO_BROKER, kind="error")
        super().__init__([header, self.busy.widget, self.tabs])
        self.add_class(css_class("root"))
        self.busy.install()
        self.aifix.install(shell)
        self.aifix.show_failure()
        if client_factory() is not None:
            self.vault.start()
            self.connections.start()
            self.bots.start()
            self.logs.start()

    def _shown(self, index: int) -> bool:
        return bool(self.tabs.selected_index == index)

    def close(self) -> None:
        self.context.close()
        self.busy.uninstall()
        self.aifix.uninstall(self.shell)
        self.bridge.close()
        super().close()


def _recorder(shell: Any) -> failures.FailureRecorder:
    """The recorder ``%load_ext watchdog_lab`` installed, or a new one (the panel works without
    the magics; failures from before it are read from IPython's own history)."""
    return failures.recorder_for(shell)


#: The kernel's panel: a new one closes it, so that running the panel cell again does not
#: leave the old one's threads polling the server.
_CURRENT: list[Panel] = []


def panel() -> Panel:
    """The WatchDog Lab panel for this notebook's kernel (``wd.panel()``); it replaces the
    panel made before it, which stops."""
    from IPython import get_ipython

    while _CURRENT:
        _CURRENT.pop().close()
    made = Panel(shell=get_ipython())
    _CURRENT.append(made)
    return made


def show_panel() -> Panel:
    """Display a new panel in the running cell and return it (``%wd panel``)."""
    from IPython.display import display

    shown = panel()
    display(shown)
    return shown
