"""The server's log carries no secret (watchdog_lab/server/serverlog.py and the app's install).

Checked twice: inside the pytest-jupyter server (which moves the server's log handlers to the
root logger, where pytest's capture handler is added after the extension started), and in a
real ``jupyter server`` process whose stderr is read back.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import quote

import pytest

from watchdog_lab.redact import Redactor
from watchdog_lab.server.serverlog import RedactingRecordFactory, install_record_redaction
from watchdog_lab.vault import CreateConnection, Vault

from .conftest import FAST_KDF

PASSWORD = "correct horse battery staple"
SECRET = "sk-test-5f0c1a9e8b7d6c4e3a2b1908f7e6d5c4"
MARKER = "[REDACTED:Exchange.api_key]"


@pytest.fixture
def known_secret(watchdog_app) -> None:  # type: ignore[no-untyped-def]
    watchdog_app.vault.create(PASSWORD)
    watchdog_app.vault.add_connection(
        CreateConnection(name="Exchange", kind="generic", fields={"api_key": SECRET})
    )
    watchdog_app.refresh_redactor()


def assert_clean(text: str) -> None:
    assert SECRET not in text
    assert quote(SECRET, safe="") not in text


async def test_a_secret_in_a_request_url_is_redacted_in_the_access_log(
    api, known_secret, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert (await api.get(f"connections/{SECRET}")).code == 404
    assert (await api.get(f"audit?note={quote(SECRET)}")).code == 200
    assert_clean(caplog.text)
    logged = [r.getMessage() for r in caplog.records]
    assert any("connections/" + MARKER in line for line in logged)
    assert any("note=" + MARKER in line for line in logged)


async def test_a_server_log_line_with_a_secret_is_redacted(
    jp_serverapp, known_secret, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    jp_serverapp.log.warning("connecting with %s", SECRET)
    logging.getLogger("tornado.access").warning("GET /?key=%s", quote(SECRET, safe=""))
    assert_clean(caplog.text)
    assert caplog.text.count(MARKER) == 2


async def test_a_handler_added_after_start_also_gets_redacted_text(
    jp_serverapp, known_secret
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    jp_serverapp.log.addHandler(handler)
    try:
        jp_serverapp.log.error("plain %s", SECRET)
        try:
            raise ValueError(f"refused key {SECRET}")
        except ValueError:
            jp_serverapp.log.exception("with a traceback")
    finally:
        jp_serverapp.log.removeHandler(handler)
    written = stream.getvalue()
    assert_clean(written)
    assert written.count(MARKER) == 2
    assert "ValueError: refused key " + MARKER in written


def test_record_redaction_survives_arguments_that_do_not_fit() -> None:
    factory = RedactingRecordFactory(logging.LogRecord, Redactor([("E", "k", SECRET)]))
    record = factory("x", logging.INFO, __file__, 1, "%d items of " + SECRET, ("nan",), None)
    assert SECRET not in record.getMessage()
    assert "[REDACTED:E.k]" in record.getMessage()


def test_installing_twice_keeps_one_factory_with_the_newest_redactor() -> None:
    before = logging.getLogRecordFactory()
    try:
        first = install_record_redaction(Redactor())
        second = install_record_redaction(Redactor([("E", "k", SECRET)]))
        assert first is second
        assert logging.getLogRecordFactory() is second
        assert (
            SECRET
            not in logging.getLogger("t")
            .makeRecord("t", logging.INFO, "f", 1, SECRET, (), None)
            .getMessage()
        )
    finally:
        logging.setLogRecordFactory(before)


async def test_stopping_the_extension_restores_the_record_factory(watchdog_app) -> None:
    assert isinstance(logging.getLogRecordFactory(), RedactingRecordFactory)
    await watchdog_app.stop_extension()
    assert not isinstance(logging.getLogRecordFactory(), RedactingRecordFactory)


# --- a real server -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(url: str, token: str, method: str = "GET", body: object = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(  # noqa: S310 - a local test server
        url, data=data, method=method, headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except HTTPError as exc:
        return int(exc.code)


def wait_until_up(url: str, token: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "jupyter server exited at start"
        try:
            if request(url, token) == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("jupyter server did not come up")


def test_a_real_jupyter_server_keeps_secrets_out_of_its_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Vault(home, kdf=FAST_KDF) as vault:
        vault.create(PASSWORD)
        vault.add_connection(
            CreateConnection(name="Exchange", kind="generic", fields={"api_key": SECRET})
        )
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    token = "t" + os.urandom(12).hex()
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {"jpserver_extensions": {"watchdog_lab": True}},
                "IdentityProvider": {"token": token},
                "WatchdogLab": {"home": str(home)},
            }
        )
    )
    root = tmp_path / "root"
    root.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                f"--port={port}",
                "--ip=127.0.0.1",
                "--no-browser",
                "--allow-root",
                "--ServerApp.log_level=DEBUG",
                f"--ServerApp.root_dir={root}",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}/"
        try:
            wait_until_up(base + "api/status", token, process)
            unlock = request(
                base + "watchdog-lab/vault/unlock", token, "POST", {"password": PASSWORD}
            )
            assert unlock == 200
            assert request(base + f"watchdog-lab/connections/{SECRET}", token) == 404
            assert request(base + f"watchdog-lab/audit?note={quote(SECRET)}", token) == 200
        finally:
            process.terminate()
            process.wait(timeout=30)
    written = log_path.read_text(errors="replace")
    assert "watchdog-lab/connections/" + MARKER in written
    assert_clean(written)
