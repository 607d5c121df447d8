"""The kernel broker: connections for interactive kernels, only as granted."""

from __future__ import annotations

from .handlers import WatchdogHandler


def routes() -> list[tuple[str, type[WatchdogHandler]]]:
    return []
