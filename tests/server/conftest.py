"""Server-extension fixtures: a real Jupyter server with WatchDog Lab enabled on a temp home."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.serverapp import ServerApp
from tornado.httpclient import HTTPClientError
from tornado.httputil import HTTPHeaders
from traitlets.config import Config

from watchdog_lab.server.app import WatchdogLab
from watchdog_lab.vault import KdfParams, Vault

#: Real Argon2id, at a cost small enough for tests.
FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)

#: The same cost for vaults the test server creates (``c.WatchdogLab.argon2_*``).
FAST_KDF_CONFIG = {
    "argon2_time_cost": FAST_KDF.time_cost,
    "argon2_memory_kib": FAST_KDF.memory_kib,
    "argon2_parallelism": FAST_KDF.parallelism,
}


@pytest.fixture
def watchdog_home(tmp_path: Path) -> Path:
    return tmp_path / "watchdog-home"


@pytest.fixture
def jp_server_config(watchdog_home: Path) -> Config:
    return server_config(watchdog_home)


def server_config(home: Path, **settings: Any) -> Config:
    """A test server with WatchDog Lab on ``home``, a fast KDF, and ``settings`` (traits of
    ``c.WatchdogLab``) on top."""
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"watchdog_lab": True}},
            "WatchdogLab": {"home": str(home), **FAST_KDF_CONFIG, **settings},
        }
    )


@pytest.fixture
def watchdog_app(jp_serverapp: ServerApp) -> WatchdogLab:
    """The extension instance the running test server loaded."""
    apps = jp_serverapp.extension_manager.extension_apps["watchdog_lab"]
    (app,) = apps
    assert isinstance(app, WatchdogLab)
    return app


@pytest.fixture
def make_vault(watchdog_home: Path) -> Iterator[Callable[[str], Vault]]:
    """Create the vault from outside the server, as another process (the CLI) would."""
    opened: list[Vault] = []

    def create(password: str) -> Vault:
        vault = Vault(watchdog_home, kdf=FAST_KDF)
        vault.create(password)
        opened.append(vault)
        return vault

    yield create
    for vault in opened:
        vault.close()


@dataclass(frozen=True)
class ApiResponse:
    """One answer of the extension, whatever its status (a 4xx is data here, not an error)."""

    code: int
    text: str
    headers: HTTPHeaders

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class WatchdogApi:
    """A small client for ``{base_url}watchdog-lab/``: JSON in, :class:`ApiResponse` out.

    ``path`` is sent as given (escape names yourself with ``quote(name, safe="")``), so tests
    control the exact URL; ``auth=False`` sends no token.
    """

    def __init__(self, client: Any, base_url: str, auth_header: dict[str, str]) -> None:
        self.client = client
        self.base_url = base_url
        self.auth_header = auth_header

    def url(self, path: str) -> str:
        return f"{self.base_url}watchdog-lab/{path}"

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> ApiResponse:
        sent = {**(self.auth_header if auth else {}), **(headers or {})}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is None and method in ("POST", "PATCH", "PUT"):
            data = b""
        try:
            response = await self.client.fetch(
                self.url(path),
                method=method,
                body=data,
                headers=sent,
                allow_nonstandard_methods=True,
                raise_error=False,
                request_timeout=30,
            )
        except HTTPClientError as exc:  # pragma: no cover - raise_error=False keeps 4xx here
            response = exc.response
        return ApiResponse(response.code, (response.body or b"").decode(), response.headers)

    async def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return await self.call("POST", path, body, **kwargs)

    async def patch(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return await self.call("PATCH", path, body, **kwargs)

    async def delete(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return await self.call("DELETE", path, body, **kwargs)


@pytest.fixture
def api(
    jp_serverapp: ServerApp, http_server_client, jp_base_url: str, jp_auth_header
) -> WatchdogApi:  # type: ignore[no-untyped-def]
    """The extension's REST API on the running test server."""
    return WatchdogApi(http_server_client, jp_base_url, dict(jp_auth_header))


#: Methods a route can implement; a handler implements one when it overrides tornado's default.
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class RouteSample:
    """One route of the extension, a concrete path it matches, and the methods it implements."""

    pattern: str
    handler: type
    path: str
    methods: tuple[str, ...]

    @property
    def api_path(self) -> str:
        """The path below ``watchdog-lab/``, as :class:`WatchdogApi` takes it."""
        return self.path.removeprefix("/watchdog-lab/")


def implemented_methods(handler: type) -> tuple[str, ...]:
    from tornado import web

    return tuple(
        m.upper() for m in HTTP_METHODS if getattr(handler, m) is not getattr(web.RequestHandler, m)
    )


def concrete_path(pattern: str, value: str = "sample-1") -> str:
    """A path that ``pattern`` (a route regex) matches, each group filled with ``value`` or,
    when the group refuses it, digits, a UUID or the group's first literal alternative."""
    import re

    group = re.compile(r"\((?:\?P<\w+>|\?:)?([^()]*)\)")

    def fill(match: re.Match[str]) -> str:
        inner = match.group(1)
        uuid = "00000000-0000-4000-8000-000000000000"
        for candidate in (value, "1", "0" * 32, uuid, *inner.split("|")):
            if re.fullmatch(inner, candidate):
                return candidate
        raise AssertionError(f"no sample value fits the group {match.group(0)!r} of {pattern!r}")

    sample = pattern.lstrip("^").rstrip("$")
    while True:
        filled = group.sub(fill, sample)
        if filled == sample:
            break
        sample = filled
    sample = re.sub(r"/\?$", "", sample).replace("\\", "")
    assert re.fullmatch(pattern, sample), f"cannot build a sample path for route {pattern!r}"
    return sample


def route_samples() -> list[RouteSample]:
    """Every route of the extension except the catch-all 404, with a path to call it on."""
    from watchdog_lab.server.handlers import NotFoundHandler
    from watchdog_lab.server.routes import route_table

    return [
        RouteSample(pattern, handler, concrete_path(pattern), implemented_methods(handler))
        for pattern, handler in route_table()
        if handler is not NotFoundHandler
    ]


@pytest.fixture(scope="session")
def bot_uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache for every bot the session builds (the folder tests/bots uses too), on the
    same filesystem as the bots' venvs so they hardlink from it."""
    path = tmp_path_factory.getbasetemp() / "uv-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def bots_server_config(watchdog_home: Path, bot_uv_cache: Path) -> Config:
    """A test server whose bots build from the shared uv cache and restart quickly."""
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"watchdog_lab": True}},
            "WatchdogLab": {
                "home": str(watchdog_home),
                "uv_cache_dir": str(bot_uv_cache),
                "restart_backoff_initial": 0.2,
                "restart_backoff_max": 1.0,
                **FAST_KDF_CONFIG,
            },
        }
    )


@pytest.fixture
def stop_bots(watchdog_home: Path) -> Iterator[None]:
    """After the test, stop every bot of the home: no runner outlives a test."""
    yield
    if not (watchdog_home / "vault.db").exists():
        return
    from watchdog_lab.bots.supervisor import BotManager

    vault = Vault(watchdog_home, kdf=FAST_KDF)
    try:
        manager = BotManager(vault)
        for bot in manager.list():
            manager.stop(bot.id, timeout=10)
    finally:
        vault.close()


@pytest.fixture
def kernels(jp_fetch, jp_serverapp: ServerApp, jp_asyncio_loop) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Starts real kernels through the test server's REST API (see tests/server/kernels.py)."""
    from .kernels import KernelFactory

    factory = KernelFactory(jp_fetch, jp_serverapp)
    yield factory
    jp_asyncio_loop.run_until_complete(factory.close())


@pytest.fixture
def kalshi(make_vault, watchdog_app) -> str:  # type: ignore[no-untyped-def]
    """An unlocked server vault holding 'Kalshi' (a generic connection); its id."""
    from watchdog_lab.vault import CreateConnection

    from .kernels import GRANT_PASSWORD, GRANT_SECRET

    make_vault(GRANT_PASSWORD)
    vault = watchdog_app.vault
    vault.unlock(GRANT_PASSWORD)
    return vault.add_connection(
        CreateConnection(name="Kalshi", kind="generic", fields={"api_secret": GRANT_SECRET})
    ).id
