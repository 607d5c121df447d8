"""The backups' settings (``c.WatchdogLab.backup_*``), declared and checked beside the code that
uses them and composed into :class:`~watchdog_lab.settings.WatchdogLab`, so the server and the
CLI read the same values from the same files."""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Float, Int, validate
from traitlets.config import LoggingConfigurable

from ..vault.config import in_range

__all__ = ["DEFAULT_RETENTION_DAYS", "BackupConfig"]

#: Longest wait after a vault change before the automatic backup: an hour. Longer and a
#: change could be lost to a crash before any backup holds it.
DEBOUNCE_MAX_SECONDS = 3600.0
#: Longest pause between two manual backups asked for through the REST API: an hour.
MIN_INTERVAL_MAX_SECONDS = 3600.0
#: Retention bounds: at least a day (the daily backup must survive its own prune), at most
#: ten years.
RETENTION_DAYS = (1, 3650)
DEFAULT_RETENTION_DAYS = 30


class BackupConfig(LoggingConfigurable):
    """When the server backs up on its own, and how long snapshots are kept."""

    backup_automatic = Bool(
        True,
        help="While the server runs: back up after every vault change (debounced) and once a "
        "day, whenever the vault is unlocked. Manual backups work either way.",
    ).tag(config=True)

    backup_debounce_seconds = Float(
        30.0,
        help="Wait this long after a vault change before the automatic backup, so that a burst "
        "of changes makes one snapshot.",
    ).tag(config=True)

    @validate("backup_debounce_seconds")
    def _valid_debounce(self, proposal: Any) -> float:
        seconds = float(proposal["value"])
        in_range("backup_debounce_seconds", seconds, 0, DEBOUNCE_MAX_SECONDS, " seconds")
        return seconds

    backup_min_interval_seconds = Float(
        60.0,
        help="Through the REST API (the sidebar's Back up now), a manual backup is refused this "
        "soon after the last manual one: kernel code can read the server's token, and must not "
        "be able to fill the disk with snapshots. The CLI is not paced; 0 turns pacing off.",
    ).tag(config=True)

    @validate("backup_min_interval_seconds")
    def _valid_min_interval(self, proposal: Any) -> float:
        seconds = float(proposal["value"])
        in_range("backup_min_interval_seconds", seconds, 0, MIN_INTERVAL_MAX_SECONDS, " seconds")
        return seconds

    backup_retention_days = Int(
        DEFAULT_RETENTION_DAYS,
        help="Delete snapshots older than this many days (after each backup and on `backup "
        "prune`). The newest snapshot is always kept.",
    ).tag(config=True)

    @validate("backup_retention_days")
    def _valid_retention(self, proposal: Any) -> int:
        in_range("backup_retention_days", proposal["value"], *RETENTION_DAYS, " days")
        return int(proposal["value"])
