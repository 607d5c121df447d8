"""The sync settings (``c.WatchdogLab.sync_*``), declared and checked beside the code that uses
them and composed into :class:`~watchdog_lab.settings.WatchdogLab`.

Only the server's automatic mode is configured here; what syncs and where is chosen per home
with ``watchdog-lab sync setup`` (it names a vault connection, which a config file must not)."""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Int, validate
from traitlets.config import LoggingConfigurable

from ..vault.config import in_range

__all__ = ["SyncConfig"]

#: Interval bounds: often enough to matter, rarely enough not to hammer a free-tier database.
INTERVAL_SECONDS = (30, 86_400)


class SyncConfig(LoggingConfigurable):
    """Whether the server syncs on its own while it runs, and how often."""

    sync_automatic = Bool(
        False,
        help="While the server runs and the vault is unlocked: pull then push every "
        "sync_interval_seconds, for a home set up with `watchdog-lab sync setup`. Conflicts are "
        "logged and left for `watchdog-lab sync`; nothing is overwritten.",
    ).tag(config=True)

    sync_interval_seconds = Int(300, help="Seconds between two automatic syncs (30 to 86400).").tag(
        config=True
    )

    @validate("sync_interval_seconds")
    def _valid_interval(self, proposal: Any) -> int:
        in_range("sync_interval_seconds", proposal["value"], *INTERVAL_SECONDS, " seconds")
        return int(proposal["value"])
