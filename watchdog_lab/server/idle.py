"""Auto-lock: drop the vault's data key after a stretch without any vault use.

A forgotten unlocked JupyterLab tab should not keep the key in memory for days. Every route that
uses the vault (and the kernel broker, and bot starts) calls :meth:`IdleLock.touch`; a periodic
callback on the server's IOLoop locks the vault once ``timeout`` seconds pass without a touch.

Polling the vault's state (the sidebar does it) is deliberately *not* a use: otherwise an open
sidebar would keep the vault unlocked forever. An unlock that did not come through a route (a
test, another face in this process) is dated to the last check that saw the vault locked: the
countdown then starts from there, not from a touch older than the unlock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from tornado.ioloop import PeriodicCallback

from ..vault import Vault, VaultState

#: Bounds of how often the checker runs: often enough to lock close to the deadline, rarely
#: enough to cost nothing.
MIN_CHECK_SECONDS = 0.05
MAX_CHECK_SECONDS = 15.0

log = logging.getLogger(__name__)


class IdleLock:
    """Locks ``vault`` after ``timeout_seconds`` without :meth:`touch`; 0 or less disables it."""

    def __init__(
        self,
        vault: Callable[[], Vault],
        timeout_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._vault = vault
        self.timeout = float(timeout_seconds)
        self._clock = clock
        self._last_use = clock()
        # The server starts with the vault locked: the key only ever lives in this process.
        self._was_unlocked = False
        self._locked_seen_at = self._last_use
        self._guard = threading.Lock()
        self._callback: PeriodicCallback | None = None

    @property
    def enabled(self) -> bool:
        return self.timeout > 0

    def touch(self) -> None:
        """A vault use just happened: restart the countdown."""
        with self._guard:
            self._last_use = self._clock()

    def seconds_left(self) -> float | None:
        """Seconds until the vault locks if nothing touches it; ``None`` when disabled."""
        if not self.enabled:
            return None
        return max(0.0, self._last_use + self.timeout - self._clock())

    def locks_in(self, unlocked: bool) -> float | None:
        """Seconds until an ``unlocked`` vault locks if nothing touches it; ``None`` when the
        vault is not unlocked or the auto-lock is off.

        Counted as :meth:`check` counts: an unlock no check has seen yet starts the countdown
        no earlier than the last check that saw the vault locked, so the sidebar shows the
        deadline the checker will act on.
        """
        if not self.enabled or not unlocked:
            return None
        with self._guard:
            last_use = self._last_use
            if not self._was_unlocked:
                last_use = max(last_use, self._locked_seen_at)
            return max(0.0, last_use + self.timeout - self._clock())

    def check(self) -> bool:
        """Lock the vault if it has been idle too long; return whether this call locked it."""
        if not self.enabled:
            return False
        vault = self._vault()
        unlocked = vault.state is VaultState.UNLOCKED
        with self._guard:
            now = self._clock()
            if not unlocked:
                self._locked_seen_at = now
            elif not self._was_unlocked:
                # Unlocked since the last check: idle time counts from then at the earliest.
                self._last_use = max(self._last_use, self._locked_seen_at)
            self._was_unlocked = unlocked
            due = unlocked and now - self._last_use >= self.timeout
        if not due:
            return False
        vault.lock()
        with self._guard:
            self._was_unlocked = False
            self._locked_seen_at = self._clock()
        log.info("WatchDog Lab locked the vault after %.0f s without use.", self.timeout)
        return True

    def _safe_check(self) -> None:
        try:
            self.check()
        except Exception:  # a failing check must not kill the periodic callback
            log.exception("WatchDog Lab's idle lock check failed")

    def start(self) -> None:
        """Run :meth:`check` periodically on the current IOLoop (idempotent)."""
        if not self.enabled or self._callback is not None:
            return
        every = min(MAX_CHECK_SECONDS, max(MIN_CHECK_SECONDS, self.timeout / 10))
        self._callback = PeriodicCallback(self._safe_check, every * 1000)
        self._callback.start()

    def stop(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
