"""``bots fix NAME``: the bot's failing cell to Claude and back, as a diff to publish.

The flow asks twice, because two different things leave the user's hands: first the payload
(shown by size, SHA-256 and model; ``--preview`` prints it whole) goes to Anthropic, then the
proposed cell becomes the bot's next notebook version and runs with its connections. ``--yes``
answers both for automation; without it and without a terminal nothing is sent.

The vault is unlocked even for ``--preview``: the payload is redacted with every value it
holds, so it cannot be built, let alone shown, without them.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..aifix import DescribeFixPayload
from ..aifix.bot_cell import BotFailure, bot_failure
from .errors import Aborted
from .session import Context

if TYPE_CHECKING:
    from ..bots.models import DescribeBot
    from ..bots.supervisor import BotManager


def run_fix(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.existing_vault() as vault:
        manager = ctx.settings.bot_manager(vault)
        failure = bot_failure(manager, args.name)  # before any prompt: is there anything to fix?
        if not (args.yes or args.preview):
            ctx.console.require_interactive(
                "a confirmation",
                "Add --yes to send the payload and publish the fix without being asked, or "
                "--preview to see the payload only.",
            )
        ctx.unlock(vault)
        aifix = ctx.settings.ai_fix(vault)
        try:
            payload = aifix.preview(failure.cell)
            if args.preview:
                ctx.console.out(payload.body)
                return 0
            ctx.console.note(_summary(failure, payload))
            if not args.yes and not ctx.console.confirm("Send to Claude?"):
                raise Aborted
            fix = aifix.send(failure.cell, sha256=payload.sha256, connection=args.connection)
        finally:
            aifix.close()
        if fix.explanation:
            ctx.console.out(fix.explanation)
        fixed = fix.require_fix()  # "no fix" ends here, as an error that says why
        ctx.console.out(fix.diff.rstrip("\n"))
        if fix.source_redacted:
            ctx.console.warn(
                "the cell held a secret, sent as a [REDACTED:...] marker; the fix has the "
                "marker in its place. Edit the new version before relying on it."
            )
        if not args.yes and not ctx.console.confirm(_publish_question(manager, failure)):
            raise Aborted
        bot = manager.publish_cell_fix(
            failure.bot.id,
            failure.cell_index,
            fixed,
            expected_version=failure.notebook_version,
            detail={"payload_sha256": payload.sha256},
        )
    ctx.console.out(_published_text(bot, failure.notebook_version))
    return 0


def _summary(failure: BotFailure, payload: DescribeFixPayload) -> str:
    cut = ", traceback cut in the middle" if payload.traceback_cut else ""
    return (
        f"AI Fix of bot {failure.bot.name!r}, cell {failure.cell_index + 1} of notebook "
        f"version {failure.notebook_version} ({failure.cell.ename}):\n"
        f"  payload {payload.size} bytes, sha256 {payload.sha256}\n"
        f"  model {payload.model}; {payload.redactions} secret(s) redacted{cut}\n"
        "  (`--preview` prints the exact payload; only it is sent)"
    )


def _publish_question(manager: BotManager, failure: BotFailure) -> str:
    latest = max(v.version for v in manager.versions(failure.bot.id).versions)
    restart = " and restart the bot" if failure.bot.desired_state == "running" else ""
    return f"Publish as version {latest + 1}{restart}?"


def _published_text(bot: DescribeBot, previous: int) -> str:
    shown = f'"{bot.name}"' if " " in bot.name else bot.name
    state = (
        f", restarted ({bot.state.value})"
        if bot.desired_state == "running"
        else "; start it with `watchdog-lab bots start`"
    )
    return (
        f"Bot {bot.name!r} now runs notebook version {bot.notebook_version}{state}. "
        f"Undo with `watchdog-lab bots rollback {shown} --to {previous}`."
    )


def register(
    bsub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: dict[str, argparse.ArgumentParser],
) -> None:
    """Add ``fix`` to the ``bots`` group."""
    fix = bsub.add_parser(
        "fix",
        parents=[parents["home"], parents["password"]],
        help="send a bot's failing cell to Claude and publish the fix as a new version",
        description=(
            "AI Fix: the cell that failed in the notebook version the bot runs, its error and "
            "traceback, the Python version and the versions of the packages it imports "
            "(read from the bot's venv), redacted with every value of the vault, are sent to "
            "the Messages API (c.WatchdogLab.ai_model, ai_base_url); nothing else leaves. "
            "It asks before sending and again before publishing the proposed cell as the next "
            "notebook version (restarting the bot if it should be running). Needs the vault "
            "password and a connection of kind 'anthropic'."
        ),
    )
    fix.add_argument("name", metavar="NAME")
    fix.add_argument(
        "--preview", action="store_true", help="print the exact payload and exit; send nothing"
    )
    fix.add_argument(
        "--yes", action="store_true", help="send and publish without asking (for automation)"
    )
    fix.add_argument(
        "--connection", metavar="C", help="the anthropic connection to use (default: the only one)"
    )
    fix.set_defaults(handler=run_fix)
