"""Automatic backups while the server runs: after vault changes (debounced) and once a day.

No polling of ``vault.db``: the server tells :meth:`AutomaticBackups.notify` whenever the vault
is used (every route that touches it, an unlock), and a worker thread sleeps until a deadline.
Whether anything changed since the last snapshot is read from the audit trail, which records
every change to connections, the password, two-factor and the bots, from any process (a change
made with the CLI is backed up at the server's next vault use). A snapshot needs the data key:
while the vault is locked nothing is written, ``last_error`` says so, and the next unlock (a
vault use) catches up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..vault.audit import Event
from .errors import BackupError, RestoreBusy
from .keys import BackupKey
from .manager import DAY_SECONDS, BackupManager

__all__ = ["CHANGE_EVENTS", "AutomaticBackups", "change_marker"]

#: Audit events that change what a snapshot holds (an unlock or a bot start does not).
CHANGE_EVENTS: tuple[str, ...] = tuple(
    e.value
    for e in (
        Event.VAULT_CREATED,
        Event.PASSWORD_CHANGED,
        Event.TOTP_ENABLED,
        Event.TOTP_DISABLED,
        Event.CONNECTION_ADDED,
        Event.CONNECTION_UPDATED,
        Event.CONNECTION_RENAMED,
        Event.CONNECTION_REMOVED,
        Event.BOT_PROMOTED,
        Event.BOT_DELETED,
        Event.BOT_GRANTS_CHANGED,
        Event.BOT_VERSION_PUBLISHED,
        Event.BOT_ROLLED_BACK,
        Event.NOTEBOOK_GRANT_REMEMBERED,
        Event.NOTEBOOK_GRANT_FORGOTTEN,
    )
)
#: How long a daily backup that could not be made (vault locked) waits before trying
#: again on its own; any vault use (an unlock) tries at once.
RETRY_SECONDS = 3600.0
LOCKED_MESSAGE = "The vault was locked: the automatic backup waits for the next unlock."


class AutomaticBackups:
    """The worker: ``key()`` gives the backup key or None while locked; ``marker()`` the
    newest change's audit sequence number (None without a vault)."""

    def __init__(
        self,
        manager: BackupManager,
        key: Callable[[], BackupKey | None],
        marker: Callable[[], int | None],
        *,
        debounce_seconds: float,
        log: logging.Logger | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.manager = manager
        self._key = key
        self._marker = marker
        self.debounce_seconds = debounce_seconds
        self._log = log or logging.getLogger(__name__)
        self._clock = clock
        self._wake = threading.Condition()
        self._due: float | None = None  # when the debounced check runs
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._backed_up: int | None = None
        self.last_automatic_at: str | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        try:
            self._backed_up = self._marker()
        except Exception:  # no vault yet, or unreadable: the first change is backed up
            self._backed_up = None
        self._thread = threading.Thread(target=self._run, name="watchdog-lab-backups", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """The vault was used: check for changes once things are quiet for the debounce."""
        with self._wake:
            self._due = time.monotonic() + self.debounce_seconds
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        retry_at = 0.0  # after a daily backup that could not be made (locked): not before
        while True:
            with self._wake:
                while not self._stopped:
                    now = time.monotonic()
                    daily_at = max(now + self.daily_due_in(), retry_at)
                    deadline = daily_at if self._due is None else min(self._due, daily_at)
                    if now >= deadline:
                        break
                    self._wake.wait(deadline - now)
                if self._stopped:
                    return
                self._due = None
            try:
                self.check()
            except Exception as exc:  # never let the worker die; say what failed
                self.last_error = f"The automatic backup failed: {type(exc).__name__}."
                self._log.warning("WatchDog Lab: automatic backup failed (%s)", type(exc).__name__)
            if self.daily_due_in() <= 0:
                retry_at = time.monotonic() + RETRY_SECONDS

    def check(self) -> str | None:
        """Back up now if the vault changed since the last snapshot or no snapshot is a day
        old; returns the new snapshot's id (None: nothing to do, or locked)."""
        marker = self._marker()
        if marker is None:  # no vault yet: nothing to back up, nothing to report
            return None
        newest = self.manager.newest_at()
        daily = newest is None or self._clock() - newest >= DAY_SECONDS
        if not daily and marker == self._backed_up:
            return None
        key = self._key()
        if key is None:
            self.last_error = LOCKED_MESSAGE
            return None
        try:
            created = self.manager.create(key, "daily" if daily else "automatic", exclusive=True)
        except RestoreBusy:
            return None
        except BackupError as exc:
            self.last_error = str(exc)
            return None
        self._backed_up = marker
        self.last_automatic_at = created.created_at
        self.last_error = None
        self.manager.prune()
        self._log.info("WatchDog Lab: %s backup %s written", created.reason, created.id)
        return created.id

    def daily_due_in(self) -> float:
        newest = self.manager.newest_at()
        return 0.0 if newest is None else max(0.0, newest + DAY_SECONDS - self._clock())


def change_marker(query: Callable[[str, tuple[object, ...]], object]) -> int | None:
    """The newest change's audit sequence number, through ``query(sql, params)``."""
    marks = ",".join("?" for _ in CHANGE_EVENTS)  # placeholders only; the values are bound
    row = query(f"SELECT MAX(seq) FROM audit WHERE event IN ({marks})", CHANGE_EVENTS)  # noqa: S608
    value = row[0] if isinstance(row, tuple) else None
    return int(value) if isinstance(value, int) else None
