"""``--reuse-kernel`` reaches the core from every face, and describe shows it."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from watchdog_lab.bots.models import BotMode, BotState, BotStatus, DescribeBot, PromoteBot
from watchdog_lab.cli import build_parser
from watchdog_lab.cli.cmd_bots import promote_request, status_text
from watchdog_lab.ipython.bot_commands import promote_options
from watchdog_lab.server.broker_models import CreateKernelPromote


def _promote(*extra: str) -> PromoteBot:
    args = build_parser().parse_args(["bots", "promote", "n.ipynb", "--name", "B", *extra])
    return promote_request(args)


def test_the_cli_promotes_with_a_kept_kernel_only_when_asked() -> None:
    assert _promote("--every", "60", "--reuse-kernel").reuse_kernel is True
    assert _promote("--every", "60").reuse_kernel is False


def test_the_magic_promotes_with_a_kept_kernel_only_when_asked() -> None:
    assert promote_options("--every 60 --reuse-kernel").reuse_kernel is True
    assert promote_options("--every 60").reuse_kernel is False


def test_the_kernel_route_passes_reuse_kernel_to_the_core() -> None:
    body = CreateKernelPromote.model_validate({"name": "B", "reuse_kernel": True})
    assert body.for_notebook("n.ipynb").reuse_kernel is True


def test_the_openapi_promote_body_documents_reuse_kernel() -> None:
    text = resources.files("watchdog_lab.server").joinpath("openapi.yaml").read_text()
    spec: dict[str, Any] = yaml.safe_load(text)
    body = spec["paths"]["/bots"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["reuse_kernel"]["type"] == "boolean"
    described = spec["components"]["schemas"]["DescribeBot"]["properties"]
    assert "reuse_kernel" in described


def test_status_says_whether_the_kernel_is_kept_across_runs() -> None:
    def bot(reuse: bool) -> DescribeBot:
        return DescribeBot(
            id="b" * 32,
            name="B",
            mode=BotMode.EVERY,
            interval=60,
            reuse_kernel=reuse,
            desired_state="stopped",
            state=BotStatus(bot_id="b" * 32).state,
            notebook_version=1,
            status=BotStatus(bot_id="b" * 32),
            folder="/nowhere",
        )

    assert "kept across runs" in status_text(bot(True))
    assert "fresh for every run" in status_text(bot(False))


def test_status_names_the_next_runs_prewarmed_kernel() -> None:
    status = BotStatus(bot_id="b" * 32, state=BotState.SLEEPING, pid=100, prewarmed_kernel_pid=200)
    bot = DescribeBot(
        id="b" * 32,
        name="B",
        mode=BotMode.EVERY,
        interval=60,
        desired_state="running",
        state=BotState.SLEEPING,
        notebook_version=1,
        status=status,
        folder="/nowhere",
    )
    assert "100 (next run's kernel 200)" in status_text(bot)
