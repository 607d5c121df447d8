"""What the bots' REST tests share: notebooks, promote-and-wait, a server-sent-events client.

The SSE client speaks HTTP/1.1 over a plain asyncio connection so a test decides exactly when
the stream closes (an HTTP library's streaming callback cannot be told to hang up while the
server is quiet). :func:`start_server` runs a real ``jupyter server`` process, for what only a
separate process shows (a restart). The log-stream benchmark uses both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from ..support import write_notebook  # noqa: F401 - re-exported for the route tests

#: The ``api`` fixture's client (``tests/server/conftest.py``), or anything with its methods.
Api = Any

LOOP_FOREVER = (
    "import itertools, time\n"
    "for i in itertools.count():\n"
    "    print('tick', i, flush=True)\n"
    "    time.sleep(0.1)"
)


def bot_path(ref: str, *rest: str) -> str:
    return "/".join(["bots", quote(ref, safe=""), *rest])


async def wait_job(api: Api, job_id: str, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Poll a promote job until it ends; every answer seen, in order."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await api.get(f"bots/jobs/{job_id}")
        assert response.code == 200, response.text
        seen.append(response.json)
        if response.json["state"] != "running":
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"promote job still running after {timeout}s: {seen[-1]}")


async def promote(api: Api, **request: Any) -> dict[str, Any]:
    """Promote through REST and wait: the bot, or an AssertionError with the job's error."""
    response = await api.post("bots", request)
    assert response.code == 202, response.text
    final = (await wait_job(api, response.json["id"]))[-1]
    assert final["state"] == "done", final.get("error")
    return final["bot"]


async def describe(api: Api, ref: str) -> dict[str, Any]:
    response = await api.get(bot_path(ref))
    assert response.code == 200, response.text
    return response.json


async def wait_bot(
    api: Api,
    ref: str,
    predicate: Callable[[dict[str, Any]], object],
    timeout: float = 90.0,
    what: str = "",
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    bot: dict[str, Any] = {}
    while time.monotonic() < deadline:
        bot = await describe(api, ref)
        if predicate(bot):
            return bot
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or predicate}: {bot.get('status')}")


@dataclass
class Event:
    id: str | None = None
    event: str = "message"
    data: str = ""
    received_at: float = 0.0

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseStream:
    """One open ``text/event-stream`` response."""

    status: int
    headers: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    comments: list[str] = field(default_factory=list)
    _buffer: str = ""
    _chunked: bool = True

    async def next_event(self, timeout: float = 10.0) -> Event:
        """The next event (comments are collected in ``comments``)."""
        deadline = time.monotonic() + timeout
        while True:
            if "\n\n" in self._buffer:
                block, self._buffer = self._buffer.split("\n\n", 1)
                event = _parse_block(block, self.comments)
                if event is not None:
                    return event
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no event in time")
            data = await asyncio.wait_for(self._read_chunk(), remaining)
            if not data:
                raise EOFError("the server ended the stream")
            self._buffer += data.decode("utf-8")

    async def _read_chunk(self) -> bytes:
        if not self._chunked:
            return await self.reader.read(65536)
        size_line = await self.reader.readline()
        if not size_line:
            return b""
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await self.reader.readline()
            return b""
        data = await self.reader.readexactly(size)
        await self.reader.readexactly(2)
        return data

    async def body(self) -> bytes:
        """The whole body of a response that is not a stream (an error)."""
        if not self._chunked:
            length = int(self.headers.get("content-length", "0"))
            return await asyncio.wait_for(self.reader.readexactly(length), 10)
        out = b""
        while chunk := await asyncio.wait_for(self._read_chunk(), 10):
            out += chunk
        return out

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


def _parse_block(block: str, comments: list[str]) -> Event | None:
    event = Event(received_at=time.time())
    data: list[str] = []
    seen = False
    for line in block.split("\n"):
        if line.startswith(":"):
            comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
            seen = True
        elif name == "id":
            event.id = value
            seen = True
        elif name == "event":
            event.event = value
            seen = True
    event.data = "\n".join(data)
    return event if seen and data else None


async def open_stream(url: str, headers: dict[str, str] | None = None) -> SseStream:
    """GET ``url`` (http://host:port/path?query) and read up to the body."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Accept: text/event-stream",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    status_line = (await reader.readline()).decode()
    status = int(status_line.split()[1])
    response_headers: dict[str, str] = {}
    while (line := (await reader.readline()).decode().strip()) != "":
        key, _, value = line.partition(":")
        response_headers[key.strip().lower()] = value.strip()
    chunked = response_headers.get("transfer-encoding", "").lower() == "chunked"
    return SseStream(status, response_headers, reader, writer, _chunked=chunked)


# ------------------------------------------------------------------- a real server process


@dataclass
class ServerProcess:
    """A ``jupyter server`` subprocess with WatchDog Lab, in throw-away Jupyter folders."""

    url: str
    token: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def api_url(self, path: str) -> str:
        return f"{self.url}watchdog-lab/{path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, as a service manager or Ctrl-C would stop it; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    root: Path, home: Path, notebooks: Path, *, uv_cache: Path | None = None, name: str = "server"
) -> ServerProcess:
    """Start ``jupyter server`` on a free port and wait until it answers."""
    root.mkdir(parents=True, exist_ok=True)
    notebooks.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "WATCHDOG_LAB_"))}
    env.update(
        HOME=str(root / "home"),
        JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
        JUPYTER_DATA_DIR=str(root / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(root / "jupyter-runtime"),
        WATCHDOG_LAB_HOME=str(home),
    )
    (root / "home").mkdir(exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={notebooks}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_root=True",
        "--ServerApp.jpserver_extensions=watchdog_lab=True",
        "--ServerApp.jpserver_extensions=jupyterlab=False",
    ]
    if uv_cache is not None:
        command.append(f"--WatchdogLab.uv_cache_dir={uv_cache}")
    log_path = root / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(f"http://127.0.0.1:{port}/", token, process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter server exited with {process.returncode}:\n{server.log()}")
        try:
            status_url = server.url + "api/status"
            request = urllib.request.Request(status_url, headers=server.headers)  # noqa: S310
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"jupyter server did not answer within 60s:\n{server.log()}")


def http_json(server: ServerProcess, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """A blocking REST call to a server process: (status, JSON body or None)."""
    data = json.dumps(body).encode() if body is not None else (b"" if method != "GET" else None)
    url = server.api_url(path)
    request = urllib.request.Request(url, data=data, method=method, headers=server.headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None
