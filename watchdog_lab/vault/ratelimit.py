"""Unlock throttling, persisted in the vault file so a restart does not reset it.

An attempt is counted *before* the password is checked and forgiven only on success: killing
the process during the Argon2 run therefore cannot be used to dodge the count, and parallel
attempts each pay.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .errors import Throttled


@dataclass(frozen=True)
class RateLimitPolicy:
    free_attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 15 * 60.0

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive unsuccessful attempts."""
        if failures < self.free_attempts:
            return 0.0
        return min(self.max_delay, self.base_delay * 2.0 ** (failures - self.free_attempts))


def count_attempt(db: sqlite3.Connection, policy: RateLimitPolicy, now: float) -> None:
    """Refuse with :class:`Throttled` while a backoff is in force, else record the attempt."""
    failures, last = db.execute(
        "SELECT failures, last_attempt FROM unlock_attempts WHERE id = 1"
    ).fetchone()
    delay = policy.delay_after(failures)
    # Without a delay in force there is nothing to wait for: another process's attempt may
    # carry a clock reading a little later than ours (it took the lock first).
    wait = last + delay - now if delay else 0.0
    if wait > 0:
        raise Throttled(wait)
    db.execute(
        "UPDATE unlock_attempts SET failures = ?, last_attempt = ? WHERE id = 1",
        (failures + 1, now),
    )


def forgive(db: sqlite3.Connection) -> None:
    db.execute("UPDATE unlock_attempts SET failures = 0 WHERE id = 1")


def failures(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT failures FROM unlock_attempts WHERE id = 1").fetchone()[0])
