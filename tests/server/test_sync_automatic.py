"""The server extension runs automatic sync only when configured, and stops it with itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from .conftest import server_config


@pytest.fixture
def jp_server_config(watchdog_home: Path) -> Config:
    return server_config(watchdog_home, sync_automatic=True, sync_interval_seconds=30)


async def test_configured_automatic_sync_runs_with_the_server_and_stops_with_it(
    watchdog_app,
) -> None:
    auto = watchdog_app.automatic_sync
    assert auto is not None and auto._thread is not None and auto._thread.is_alive()
    thread = auto._thread
    await watchdog_app.stop_extension()
    assert watchdog_app.automatic_sync is None and not thread.is_alive()
