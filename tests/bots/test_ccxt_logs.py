"""ccxt prints signed request headers (``verbose=True``) and logs them at DEBUG: a bot that turns
either on leaves no credential in its log file, in ``bots logs`` or in the REST logs route.

The lines are the real ones: ccxt, built by ``conn.ccxt()`` in this process, signs a request
to a local HTTPS server with ``verbose`` on and its logger at DEBUG, and what it printed and
logged is captured. The bot then writes exactly those lines, its connection's values put back
where ccxt had them, through ``print`` and through ``logging`` at DEBUG. The bot's venv does not
install ccxt itself: that would need the package index (tests never reach it) or a local copy
of ccxt's twenty dependencies, while what is under test is the path a line takes from the
bot's process to each log reader, which the same bytes take whichever library wrote them.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from traitlets.config import Config

from watchdog_lab.bots.models import BotState, PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import CreateConnection, Vault

from ..kinds.tlsserver import https_server, make_ca
from .conftest import wait_state, write_notebook

ccxt = pytest.importorskip("ccxt")

from watchdog_lab.kinds import resolve_kind  # noqa: E402
from watchdog_lab.sdk.connection import Connection  # noqa: E402

BOT = "OKX Bot"
CONNECTION = "OKX"
FIELDS = {
    "apiKey": "wdlog-apikey-5c1f0e9a8b7d6c54",
    "secret": base64.b64encode(b"wdlog-secret-4d3c2b1a09f8e7d6").decode(),
    "password": "wdlog-passphrase-27182818",
}
HOLE = "@@{}@@"


@pytest.fixture
def jp_server_config(bot_home: Path) -> Config:
    """The test server, when a test asks for one, runs on the bots' home."""
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"watchdog_lab": True}},
            "WatchdogLab": {
                "home": str(bot_home),
                "argon2_time_cost": 1,
                "argon2_memory_kib": 8192,
                "argon2_parallelism": 1,
            },
        }
    )


def ccxt_output(tmp_path: Path) -> dict[str, list[str]]:
    """What ccxt prints (verbose) and logs (DEBUG) for one signed okx request, with each
    credential replaced by a hole the bot fills from its connection."""
    spec = resolve_kind("ccxt:okx")
    conn = Connection(CONNECTION, "ccxt:okx", FIELDS, {n: spec.visibility(n) for n in FIELDS})
    ca = make_ca(tmp_path / "ca")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    printed = io.StringIO()
    logger = logging.getLogger("ccxt")
    handler, level, propagate = Keep(logging.DEBUG), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # kept here only, not in pytest's report of a failure
    try:
        with https_server(ca.issue(), {"code": "0", "data": []}) as server:
            exchange = conn.ccxt(cafile=str(ca.cafile), verbose=True)
            exchange.urls["api"] = {"rest": server.url}
            with contextlib.redirect_stdout(printed):
                exchange.privateGetAccountBalance()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    output = {"verbose": printed.getvalue().splitlines(), "debug": records}
    text = json.dumps(output)
    # ccxt really puts the key and the passphrase in both; otherwise this test proves nothing.
    assert FIELDS["apiKey"] in text and FIELDS["password"] in text
    assert "OK-ACCESS-SIGN" in text
    for name, value in FIELDS.items():
        text = text.replace(value, HOLE.format(name))
    return json.loads(text)  # type: ignore[no-any-return]


BOT_CELL = """
import json, logging, sys
import watchdog_lab as wd

c = wd.connection({connection!r})
output = json.loads({output!r})

def filled(line):
    for name in {names!r}:
        line = line.replace({hole!r}.format(name), c[name])
    return line

log = logging.getLogger("ccxt.base.exchange")
log.setLevel(logging.DEBUG)
log.addHandler(logging.StreamHandler(sys.stderr))
log.addHandler(logging.StreamHandler(sys.__stderr__))
for line in output["verbose"]:
    print(filled(line), flush=True)
for message in output["debug"]:
    log.debug(filled(message))
print("ccxt lines written", flush=True)
"""


def leaks(text: str) -> list[str]:
    return [name for name, value in FIELDS.items() if value in text]


async def test_ccxt_verbose_and_debug_lines_from_a_bot_reach_no_log_with_a_credential(
    manager: BotManager, vault: Vault, tmp_path: Path, bot_home: Path, jp_fetch
) -> None:  # type: ignore[no-untyped-def]
    output = ccxt_output(tmp_path)
    vault.add_connection(CreateConnection(name=CONNECTION, kind="ccxt:okx", fields=FIELDS))
    cell = BOT_CELL.format(
        connection=CONNECTION, output=json.dumps(output), names=list(FIELDS), hole=HOLE
    )
    notebook = write_notebook(tmp_path / "okx.ipynb", textwrap.dedent(cell))
    manager.promote(
        PromoteBot(notebook=str(notebook), name=BOT, connections=[CONNECTION], start=True)
    )
    wait_state(manager, BOT, BotState.STOPPED)
    assert manager.describe(BOT).status.reason == "finished"

    log_file = manager.paths(BOT).log_file.read_text()
    assert "ccxt lines written" in log_file
    # Both ways out were taken, each with the key and the passphrase redacted.
    for marker in ("fetch Request:", "Request: {"):
        assert marker in log_file
    for name in ("apiKey", "password"):
        assert f"[REDACTED:{CONNECTION}.{name}]" in log_file
    assert leaks(log_file) == []

    cli = subprocess.run(
        [sys.executable, "-m", "watchdog_lab.cli", "bots", "logs", BOT, "-n", "1000"],
        capture_output=True,
        text=True,
        env={"WATCHDOG_LAB_HOME": str(bot_home), "PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert "fetch Request:" in cli.stdout
    assert leaks(cli.stdout + cli.stderr) == []

    response = await jp_fetch("watchdog-lab", "bots", BOT, "logs")
    body = response.body.decode()
    assert "fetch Request:" in body
    assert leaks(body) == []
