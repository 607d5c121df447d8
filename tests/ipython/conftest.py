"""The magics run in real kernels of a real test server: the server fixtures are shared."""

from __future__ import annotations

from tests.server.conftest import (  # noqa: F401 - fixtures, used by name
    api,
    jp_server_config,
    kalshi,
    kernels,
    make_vault,
    watchdog_app,
    watchdog_home,
)
