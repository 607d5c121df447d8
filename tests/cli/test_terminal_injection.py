"""What a bot prints reaches the user's terminal as data, never as terminal control.

A real bot (real uv venv, runner and kernel) prints the sequences an attacker would use on the
terminal of whoever reads its log: a clipboard write (OSC 52), a planted link (OSC 8), a window
title, cursor moves, a ``\\r`` that overprints its own line with a forged ``system`` record, a C1
CSI (U+009B), and a newline followed by a copied record prefix; then it fails with an exception
whose class name and message carry more of them. Every CLI view of that text (``bots logs``,
``--follow``, ``--json``, ``bots status``, ``bots list --json``) must hold no control character
(but newline and tab) and show each one escaped.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from watchdog_lab.bots.models import DescribeBot, LogRecord
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.cli.cmd_bots import ACTIVE, UV_CACHE_ENV
from watchdog_lab.vault import Vault

from ..support import wait_for, write_notebook
from .conftest import CLI, FAST_KDF, Cli, Result, clean_env

FORGED = "1999-01-01 00:00:00 system  notebook finished"
END = "END-OF-HOSTILE-OUTPUT"
PRINTS = (
    "ESC, BEL, ST = chr(27), chr(7), chr(27) + chr(92)\n"
    "print('clip' + ESC + ']52;c;cHduZWQ=' + BEL, flush=True)\n"
    "print('link ' + ESC + ']8;;https://evil.example/' + ST + 'here' + ESC + ']8;;' + ST)\n"
    "print('title' + ESC + ']0;pwned-title' + BEL, flush=True)\n"
    "print('cursor' + ESC + '[2A' + ESC + '[10C' + ESC + '[2K', flush=True)\n"
    f"print('harmless' + chr(13) + {FORGED!r}, flush=True)\n"
    "print('c1' + chr(0x9b) + '31m', flush=True)\n"
    f"print('first' + chr(10) + {FORGED!r}, flush=True)\n"
    f"print({END!r}, flush=True)"
)
RAISES = (
    "class Evil(Exception):\n"
    "    pass\n"
    "Evil.__name__ = 'Evil' + chr(27) + ']0;t' + chr(7)\n"
    f"raise Evil('boom' + chr(27) + '[2J' + chr(13) + {FORGED!r} + chr(0x9b))"
)
# Each hostile sequence as the user must see it: visible text.
SHOWN = [
    "clip\\x1b]52;c;cHduZWQ=\\x07",
    "link \\x1b]8;;https://evil.example/\\x1b\\here\\x1b]8;;\\x1b\\",
    "title\\x1b]0;pwned-title\\x07",
    "cursor\\x1b[2A\\x1b[10C\\x1b[2K",
    f"harmless\\r{FORGED}",
    "c1\\x9b31m",
]


def controls(text: str) -> list[str]:
    """Characters a terminal acts on (newline and tab are layout)."""
    return [
        ch for ch in text if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Zl", "Zp")
    ]


def describe(home: Path) -> DescribeBot:
    """The bot as the core sees it (to know when its run ended; never the thing under test)."""
    with Vault(home) as vault:
        return BotManager(vault).describe("Hostile")


def run_ended(home: Path) -> bool:
    bot = describe(home)
    return bot.status.last_error is not None and bot.state not in ACTIVE


@dataclass
class Views:
    cli: Cli
    results: dict[str, Result]
    follow: str


def follow_until(home: Path, uv_cache: Path, started: threading.Event) -> tuple[str, int]:
    """``bots logs Hostile --follow`` while the bot runs, until its last line, then Ctrl-C.

    ``-n 100``: whatever the bot wrote before the command read the log is shown too, so the
    output is complete however the two race."""
    proc = subprocess.Popen(
        [*CLI, "bots", "logs", "Hostile", "--follow", "-n", "100"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(home, **{UV_CACHE_ENV: str(uv_cache)}),
    )
    out = b""
    done = threading.Event()

    def read() -> None:
        nonlocal out
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            out += raw
            if END.encode() in raw:
                done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        time.sleep(1.0)  # most records then arrive while the command follows the log
        started.set()
        done.wait(120)
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    return out.decode(), proc.returncode


@pytest.fixture(scope="module")
def views(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> Iterator[Views]:
    base = tmp_path_factory.mktemp("inject")
    home = base / "h"  # short: the runner keeps sockets near it
    cli = Cli(home)
    env = {UV_CACHE_ENV: str(uv_cache)}
    notebook = write_notebook(base / "hostile.ipynb", PRINTS, RAISES)
    cli.run("init", *FAST_KDF)
    promoted = cli.run("bots", "promote", str(notebook), "--name", "Hostile", "--once", env=env)
    assert promoted.rc == 0, promoted.err
    started = threading.Event()
    followed: dict[str, tuple[str, int]] = {}
    follower = threading.Thread(
        target=lambda: followed.update(f=follow_until(home, uv_cache, started)), daemon=True
    )
    follower.start()
    try:
        started.wait(30)
        assert cli.run("bots", "start", "Hostile", env=env).rc == 0
        wait_for(lambda: run_ended(home), 120, "the hostile bot's run to end")
        follower.join(150)
        views = {
            "logs": ["bots", "logs", "Hostile", "-n", "100"],
            "logs_json": ["bots", "logs", "Hostile", "-n", "100", "--json"],
            "status": ["bots", "status", "Hostile"],
            "status_json": ["bots", "status", "Hostile", "--json"],
            "list_json": ["bots", "list", "--json"],
        }
        results = {name: cli.run(*argv, password=None) for name, argv in views.items()}
        out, rc = followed.get("f", ("", -1))
        assert rc == 130, f"--follow ended with {rc}"
        yield Views(cli, results, out)
    finally:
        cli.run("bots", "stop", "Hostile", password=None)


def test_the_bot_really_wrote_raw_controls_to_its_log(views: Views) -> None:
    """The threat is real: the log file holds the bytes a terminal would obey."""
    (log,) = (views.cli.home / "bots").glob("*/logs/bot.jsonl")
    records = [LogRecord.model_validate_json(line) for line in log.read_text().splitlines()]
    text = "".join(r.text for r in records)
    assert "\x1b]52;c;" in text and "\r" + FORGED in text and "\x9b" in text


@pytest.mark.parametrize("view", ["logs", "logs_json", "status", "status_json", "list_json"])
def test_no_view_prints_a_control_character(views: Views, view: str) -> None:
    result = views.results[view]
    assert result.rc == 0, result.err
    assert controls(result.out) == []
    assert controls(result.err) == []


def test_logs_follow_prints_no_control_character(views: Views) -> None:
    assert END in views.follow
    assert controls(views.follow) == []


@pytest.mark.parametrize("view", ["logs", "follow"])
@pytest.mark.parametrize("shown", SHOWN)
def test_logs_show_each_hostile_sequence_as_visible_text(
    views: Views, view: str, shown: str
) -> None:
    out = views.follow if view == "follow" else views.results["logs"].out
    assert shown in out


@pytest.mark.parametrize("view", ["logs", "follow"])
def test_an_embedded_newline_cannot_start_a_forged_record_line(views: Views, view: str) -> None:
    out = views.follow if view == "follow" else views.results["logs"].out
    lines = out.splitlines()
    continuation = [line for line in lines if line.strip() == FORGED]
    assert continuation, "the copied prefix is shown, indented under its record"
    assert all(line.startswith(" ") for line in continuation)
    assert not any(line.startswith("1999") for line in lines)


def test_status_shows_the_exception_name_and_message_escaped_on_one_line(views: Views) -> None:
    out = views.results["status"].out
    error = next(line for line in out.splitlines() if line.startswith("last error:"))
    assert "Evil\\x1b]0;t\\x07: boom\\x1b[2J" in error
    assert all(re.match(r"[a-z ]+: ", line) for line in out.splitlines())
    assert "1999" not in out


@pytest.mark.parametrize("view", ["logs_json", "status_json", "list_json"])
def test_json_views_still_carry_the_exact_text(views: Views, view: str) -> None:
    out = views.results[view].out
    if view == "logs_json":
        texts = "".join(json.loads(line)["text"] for line in out.splitlines())
        assert "\x1b]52;c;cHduZWQ=\x07" in texts and "\x9b31m" in texts
    else:
        data = json.loads(out)
        bot = data["bots"][0] if view == "list_json" else data
        assert bot["status"]["last_error"]["evalue"].endswith(FORGED + "\x9b")
