"""The WatchDog Lab server extension: configuration and the objects the handlers share."""

from __future__ import annotations

from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode, default

from .._version import __version__
from ..paths import HOME_ENV, home_dir
from ..vault import Vault
from .handlers import route_table


class WatchdogLab(ExtensionApp):
    """Loaded by ``jupyter server`` / ``jupyter lab``; owns the server's one :class:`Vault`.

    One vault object per server process so that an unlock done through one request is seen by
    every later request, and a lock drops the key for all of them.
    """

    name = "watchdog_lab"
    description = "WatchDog Lab: sealed exchange keys and supervised trading bots."
    version = __version__
    load_other_extensions = True

    home = Unicode(
        help=(
            "Folder that holds the vault and the bots. Defaults to "
            f"${HOME_ENV} when set, else ~/.watchdog-lab."
        ),
    ).tag(config=True)

    @default("home")
    def _default_home(self) -> str:
        return str(home_dir())

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._vault: Vault | None = None

    @property
    def vault(self) -> Vault:
        """The server's vault; exists from settings initialisation until the extension stops."""
        if self._vault is None:
            self._vault = Vault(home_dir(self.home))
        return self._vault

    def initialize_settings(self) -> None:
        self.log.info("WatchDog Lab home: %s", home_dir(self.home))
        # Created here rather than lazily on first request so that a bad home fails at start.
        _ = self.vault

    def initialize_handlers(self) -> None:
        self.handlers.extend(route_table())

    async def stop_extension(self) -> None:
        """Drop the data key and close the database when the server shuts down."""
        if self._vault is not None:
            self._vault.close()
            self._vault = None
