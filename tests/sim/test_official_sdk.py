"""conn.kalshi_client(): Kalshi's own SDK (``kalshi_python_sync``), pointed at the simulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import Trader

Make = Callable[..., Trader]


def test_kalshis_own_sdk_reads_the_balance_from_the_simulator(trader: Make) -> None:
    pytest.importorskip("kalshi_python_sync")  # the test extra installs it
    alice = trader(0)
    host = alice.base_url.rsplit("/trade-api", 1)[0]
    client = alice.conn.kalshi_client(host=host)
    assert client.get_balance().balance == alice.ok("GET", "/portfolio/balance")["balance"]
