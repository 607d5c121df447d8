"""REST routes of bots."""

from __future__ import annotations

from .handlers import WatchdogHandler


def routes() -> list[tuple[str, type[WatchdogHandler]]]:
    return []
