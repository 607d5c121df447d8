"""``watchdog-lab bots fix``: a bot that failed with its key in the exception, fixed from a shell
through our own Messages API on 127.0.0.1 (``c.WatchdogLab.ai_base_url`` in the Jupyter config
the CLI reads, the real ``anthropic`` client), published as version 2, run, and rolled back.

One bot serves the module; the commands run in order, each checked by its own test.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from watchdog_lab.bots.models import PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import CreateConnection, KdfParams, Vault

from ..aifix.fake_anthropic import FakeAnthropic, error, tool_use
from ..support import wait_for, write_notebook
from .conftest import PASSWORD, Result, Terminal, clean_env
from .test_bots import BotCli, describe, library_manager

NAME = "Fixable"
API_KEY = "sk-ant-api03-Io1Pa4Sd6Fg9Hj3Kl0ZxQw7Ze2Rt5Yu8" + "Op0As3Df6Gh9JkCv2Bn5Mq8Wr1Ty4Ui7"
SECRET = "tok-CliFix-" + "Wq4eRt7Y" * 3
SETUP = "import watchdog_lab as wd\ntoken = wd.connection('Ex').token"
BROKEN = "raise RuntimeError('the exchange refused key ' + token)"
FIXED = "print('fixed', len(token))"
FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)


@dataclass
class Story:
    cli: BotCli
    fake: FakeAnthropic
    steps: dict[str, Result] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)
    declined: tuple[int, str, int] = (0, "", 0)


def _finished_on(home: Path, version: int) -> object:
    bot = describe(home, NAME)
    return bot.notebook_version == version and bot.status.reason == "finished"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> Iterator[Story]:
    base = tmp_path_factory.mktemp("fix")
    home = base / "h"
    fake = FakeAnthropic().start()
    fake.default = tool_use(FIXED, "The key was refused; print instead of raising.")
    config = base / "jupyter-config"
    config.mkdir()
    settings = {"ai_base_url": fake.url, "ai_max_retries": 0, "ai_timeout": 10.0}
    (config / "jupyter_server_config.json").write_text(json.dumps({"WatchdogLab": settings}))
    s = Story(BotCli(home, uv_cache=uv_cache), fake)
    env = {"JUPYTER_CONFIG_DIR": str(config)}

    def run(*args: str, **kwargs: object) -> Result:
        result = s.cli.run(*args, env=env, **kwargs)  # type: ignore[arg-type]
        s.sent[" ".join(args)] = len(fake.requests)
        return result

    notebook = write_notebook(base / "fixable.ipynb", SETUP, BROKEN)
    try:
        with Vault(home, kdf=FAST_KDF) as vault:
            vault.create(PASSWORD)
            vault.add_connection(
                CreateConnection(name="claude", kind="anthropic", fields={"api_key": API_KEY})
            )
            vault.add_connection(
                CreateConnection(name="Ex", kind="generic", fields={"token": SECRET})
            )
            manager = BotManager(vault, uv_cache=uv_cache)
            manager.promote(
                PromoteBot(notebook=str(notebook), name=NAME, connections=["Ex"], start=True)
            )
            wait_for(lambda: manager.describe(NAME).status.last_error, 120, "a failed run")
        s.steps["no_yes"] = run("bots", "fix", NAME)
        s.steps["preview"] = run("bots", "fix", NAME, "--preview")
        term = Terminal(
            ["bots", "fix", NAME],
            clean_env(home, WATCHDOG_LAB_PASSWORD=PASSWORD, **env, **s.cli.extra_env),
        )
        term.expect("Send to Claude? [y/N]", timeout=60)
        term.line("n")
        s.declined = (term.wait(), term.screen, len(fake.requests))
        fake.answer(error(401, "authentication_error", f"invalid x-api-key {API_KEY}"))
        s.steps["refused"] = run("bots", "fix", NAME, "--yes")
        s.versions["after_refused"] = describe(home, NAME).notebook_version
        s.steps["fix"] = run("bots", "fix", NAME, "--yes", timeout=120)
        s.versions["after_fix"] = describe(home, NAME).notebook_version
        wait_for(lambda: _finished_on(home, 2), 120, "a finished run of version 2")
        with library_manager(home) as manager:
            s.logs = [r.text for r in manager.logs(NAME)]
        s.steps["rollback"] = run("bots", "rollback", NAME, "--yes", timeout=120)
        s.versions["after_rollback"] = describe(home, NAME).notebook_version
        yield s
    finally:
        fake.stop()
        with library_manager(home) as manager:
            for bot in manager.list():
                manager.stop(bot.id, timeout=10)


def _assert_no_secret(text: str) -> None:
    for secret in (API_KEY, SECRET):
        raw = secret.encode()
        for encoded in (secret, base64.b64encode(raw).decode(), raw.hex(), quote(secret, safe="")):
            assert encoded not in text


def test_without_a_terminal_and_without_yes_nothing_is_sent(story: Story) -> None:
    result = story.steps["no_yes"]
    assert result.rc == 1 and "--yes" in result.err and "--preview" in result.err
    assert story.sent["bots fix Fixable"] == 0


def test_preview_prints_the_exact_payload_and_sends_nothing(story: Story) -> None:
    result = story.steps["preview"]
    assert result.rc == 0, result.err
    body = json.loads(result.out)
    text = body["messages"][0]["content"]
    assert "the exchange refused key" in text and "[REDACTED:Ex.token]" in text
    _assert_no_secret(result.out)
    assert story.sent["bots fix Fixable --preview"] == 0


def test_answering_no_at_the_terminal_sends_nothing(story: Story) -> None:
    rc, screen, sent = story.declined
    assert rc == 1 and "aborted; nothing was changed" in screen
    assert "sha256 " in screen and "model " in screen  # the summary came before the question
    assert sent == 0


def test_a_refused_key_is_one_clear_error_line_and_changes_nothing(story: Story) -> None:
    result = story.steps["refused"]
    assert result.rc == 1
    assert "error: Anthropic refused the API key of connection 'claude' (HTTP 401)" in result.err
    assert "Traceback" not in result.text
    _assert_no_secret(result.text)
    assert story.versions["after_refused"] == 1


def test_fix_yes_sends_the_previewed_payload_and_publishes_version_2(story: Story) -> None:
    result = story.steps["fix"]
    assert result.rc == 0, result.err
    assert "+print('fixed', len(token))" in result.out
    assert "now runs notebook version 2" in result.out
    assert story.versions["after_fix"] == 2
    sent = story.fake.requests[-1].body.decode()
    assert sent == story.steps["preview"].out.rstrip("\n")  # what --preview showed, exactly
    _assert_no_secret(sent)
    _assert_no_secret(result.text)


def test_the_bot_restarts_on_version_2_and_succeeds(story: Story) -> None:
    assert any("on notebook version 2" in t for t in story.logs)
    assert any(t.startswith("fixed ") and str(len(SECRET)) in t for t in story.logs)


def test_rollback_returns_the_bot_to_version_1(story: Story) -> None:
    result = story.steps["rollback"]
    assert result.rc == 0, result.err
    assert story.versions["after_rollback"] == 1
