"""examples/spread_scanner_broken.ipynb: a realistic bug, found by papermill, fixed by AI Fix.

The research run (papermill) fails in the scan cell with ``KeyError: 'asks'``. Promoted as a
bot, it fails the same way; ``watchdog-lab bots fix`` then builds the payload, sends it to our
own Messages API on 127.0.0.1 (the real ``anthropic`` client, ``c.WatchdogLab.ai_base_url``),
and publishes the proposed cell as version 2, which the bot runs. The proposal is scripted (the
server is ours): the product applies it through its own path, and papermill runs the published
notebook again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ..aifix.fake_anthropic import FakeAnthropic, tool_use
from .conftest import CONNECTION, EXAMPLES, Demo, Result, cell_text, run_papermill, wait_until

NOTEBOOK = EXAMPLES / "spread_scanner_broken.ipynb"
NAME = "scanner"
BUG_CELL = "scan-spreads"
BUG_LINE = 'best_ask = book["asks"][0][0]'
FIX_LINE = 'best_ask = 100 - book["no"][-1][0]  # a YES ask is a NO bid: 100 - the best NO bid'
API_KEY = "sk-ant-api03-Zx8Cv2Bn5Mq8Wr1Ty4Ui7Op0As3Df6Gh9Jk" + "Qw7Ze2Rt5Yu8Io1Pa4Sd6Fg9Hj3Kl0"
BOT_SECONDS = 120


@dataclass
class Story:
    research: Any = None
    research_error: Any = None
    failed_run: Any = None
    preview: Result | None = None
    fix: Result | None = None
    sent: list[bytes] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    version: int = 0
    logs: list[str] = field(default_factory=list)
    fixed: Any = None
    fixed_error: Any = None


def bug_cell_source() -> str:
    (cell,) = [c for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.id == BUG_CELL]
    assert BUG_LINE in cell.source
    return str(cell.source)


def finished_on_version_2(demo: Demo) -> bool:
    bot = demo.bot(NAME)
    return bot.notebook_version == 2 and bot.status.reason == "finished"


@pytest.fixture(scope="module")
def story(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    s = Story()
    base: Path = tmp_path_factory.mktemp("scanner")
    params = {"sim_url": demo.sim_url}
    s.research, s.research_error = run_papermill(NOTEBOOK, base / "research.ipynb", params)

    fake = FakeAnthropic().start()
    fake.default = tool_use(
        bug_cell_source().replace(BUG_LINE, FIX_LINE),
        "Kalshi's order book lists bids only; the YES ask is 100 minus the best NO bid.",
    )
    try:
        demo.configure(ai_base_url=fake.url, ai_max_retries=0, ai_timeout=10.0)
        key = json.dumps({"fields": {"api_key": API_KEY}})
        demo.cli(
            "connections", "add", "claude", "--kind", "anthropic", "--from-json", "-", stdin=key
        )
        demo.cli(
            "bots", "promote", str(NOTEBOOK), "--name", NAME, "--connection", CONNECTION,
            "--once", "--param", f'sim_url="{demo.sim_url}"', "--start", timeout=300,
        )  # fmt: skip
        wait_until(lambda: demo.bot(NAME).status.last_error, BOT_SECONDS, "the failed run")
        s.failed_run = demo.bot(NAME).status.last_error
        s.preview = demo.cli("bots", "fix", NAME, "--preview")
        s.fix = demo.cli("bots", "fix", NAME, "--yes")
        s.sent = [r.body for r in fake.requests]
        wait_until(lambda: finished_on_version_2(demo), BOT_SECONDS, "a green run of version 2")
        s.version = demo.bot(NAME).notebook_version
        s.logs = demo.bot_logs(NAME)
        published = Path(demo.bot(NAME).folder) / "notebook" / "v2.ipynb"
        s.fixed, s.fixed_error = run_papermill(published, base / "fixed.ipynb", params)
        pem = demo.connection()["private_key_pem"]
        s.secrets = [demo.password, API_KEY, demo.connection()["api_key_id"]]
        s.secrets += [line for line in pem.splitlines() if line and "-----" not in line]
        yield s
    finally:
        fake.stop()


def test_the_research_run_fails_in_the_scan_cell_with_a_key_error(story: Story) -> None:
    error = story.research_error
    assert error is not None
    assert (error.ename, error.evalue) == ("KeyError", "'asks'")
    failed = [
        cell.id
        for cell in story.research.cells
        if any(output.output_type == "error" for output in cell.get("outputs", []))
    ]
    assert failed == [BUG_CELL]
    assert cell_text(story.research, BUG_CELL) == ""  # it failed before printing anything


def test_the_bot_records_the_same_failing_cell(story: Story) -> None:
    failed = story.failed_run
    assert (failed.ename, failed.evalue) == ("KeyError", "'asks'")
    assert BUG_LINE in failed.source and failed.notebook_version == 1


def test_the_payload_sent_is_the_previewed_one_with_the_cell_and_no_secret(story: Story) -> None:
    assert story.preview is not None and story.fix is not None
    (sent,) = story.sent
    text = sent.decode()
    assert text == story.preview.out.rstrip("\n")
    user_message = json.loads(text)["messages"][0]["content"]
    assert BUG_LINE.replace('"', '\\"') in json.dumps(user_message) and "KeyError" in text
    for secret in story.secrets:
        assert secret not in text
        assert secret not in story.fix.out + story.fix.err


def test_the_fix_is_published_as_version_2_and_the_bot_runs_it_green(story: Story) -> None:
    assert story.fix is not None and "now runs notebook version 2" in story.fix.out
    assert f"+    {FIX_LINE}" in story.fix.out
    assert story.version == 2
    text = "".join(story.logs)
    assert "tightest: " in text and "order " in text and "resting" in text


def test_papermill_runs_the_published_notebook_green(story: Story) -> None:
    assert story.fixed_error is None
    assert "tightest: " in cell_text(story.fixed, "scan-trade")
