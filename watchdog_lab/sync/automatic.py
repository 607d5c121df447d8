"""The server's automatic sync: pull, then push, every interval, while the vault is unlocked.

A background thread, never the IOLoop (a database round trip can take seconds). A locked vault,
a home without sync set up or an unreachable database is a skipped round, not a failure: the
next round tries again. Conflicts are never resolved here; they are logged (record ids and
versions only: the server log is not the place for connection names) and left for the user.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..vault import Vault, VaultState
from .engine import Sync
from .errors import SyncError
from .state import StateFile


@dataclass
class RoundResult:
    """What one round did (also kept as :attr:`AutomaticSync.last`)."""

    at: float
    ran: bool
    pulled: int = 0
    pushed: int = 0
    conflicts: int = 0
    error: str | None = None


class AutomaticSync:
    """Runs :meth:`run_once` every ``interval`` seconds until :meth:`stop`."""

    def __init__(
        self,
        vault: Callable[[], Vault],
        interval: float,
        *,
        log: logging.Logger | logging.LoggerAdapter[logging.Logger] | None = None,
        on_change: Callable[[], None] | None = None,
        sync: Callable[[Vault], Sync] = Sync,
    ) -> None:
        self._vault = vault
        self._interval = interval
        self._log = log or logging.getLogger(__name__)
        self._on_change = on_change
        self._sync = sync
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: RoundResult | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name="watchdog-lab-sync", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.run_once()
            except Exception:  # a bug must not end the loop, nor print a value
                self._log.exception("WatchDog Lab: automatic sync failed unexpectedly")

    def run_once(self) -> RoundResult:
        """One round: pull then push, if the vault is unlocked and sync is set up here."""
        vault = self._vault()
        now = time.time()
        if vault.state is not VaultState.UNLOCKED or not StateFile(vault.home).load().configured:
            self.last = RoundResult(now, ran=False)
            return self.last
        sync = self._sync(vault)
        result = RoundResult(now, ran=True)
        try:
            pulled = sync.pull()
            if (pulled.pulled or pulled.deleted) and self._on_change is not None:
                self._on_change()  # new values for the redactor
            pushed = sync.push()
        except SyncError as exc:
            result.error = str(exc)
            self._log.warning("WatchDog Lab: automatic sync skipped this round: %s", exc)
        else:
            result.pulled = len(pulled.pulled) + len(pulled.deleted)
            result.pushed = len(pushed.pushed)
            conflicts = pulled.conflicts + pushed.conflicts
            result.conflicts = len({c.record_id for c in conflicts})
            for conflict in conflicts:
                self._log.warning(
                    "WatchDog Lab: sync conflict on record %s (here: on top of version %d; "
                    "server: version %d); resolve with `watchdog-lab sync`",
                    conflict.record_id,
                    conflict.local_version,
                    conflict.remote_version,
                )
        self.last = result
        return result
