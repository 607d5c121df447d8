"""Kernels started by a real test server: the server fixtures are shared."""

from __future__ import annotations

from tests.server.conftest import (  # noqa: F401 - fixtures, used by name
    jp_server_config,
    kernels,
    make_vault,
    watchdog_app,
    watchdog_home,
)
