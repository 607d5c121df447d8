"""``%wd bots | promote | start | stop | restart | delete | logs``: the bots, from a notebook.

They print what the ``watchdog-lab bots`` commands print (the same tables and log lines), over
the kernel's broker token. ``promote`` asks the front end to save this notebook, then promotes
the saved file (its path comes from the kernel's session, never from the line): it shows the
dependencies with the policy's verdicts before anything installs, and follows the promote job
step by step. Deleting a bot and giving one connections need the vault password.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from IPython.core.error import UsageError

from ..bots.models import DescribeBot, LogRecord
from ..cli import errors as cli_errors
from ..cli.cmd_bots import bots_table, log_lines, parse_params
from ..sdk.broker import BOT_ACTIONS, BrokerClient
from ..sdk.errors import BrokerError
from .commands import Magics, call, command, one_name, words
from .consent import Act, with_password

PROMOTE = (
    "%wd promote [--name NAME] [--once | --every SECONDS | --continuous] [--connection NAME]... "
    "[--param KEY=VALUE]... [--allow-package NAME]... [--reuse-kernel] [--no-start]"
)
LOGS = "%wd logs BOT [-n N] [--follow]"
#: How often a promote job and a followed log are asked for news.
POLL_SECONDS = 0.25
#: How long ``%wd promote`` waits for the front end to save the notebook, and how often it
#: looks (the lab extension saves in well under a second).
SAVE_WAIT_SECONDS = 3.0
SAVE_POLL_SECONDS = 0.1
# The broker's reason for a file that does not read as a notebook (see _plan_while_saving).
INVALID_NOTEBOOK = "invalid_notebook"
#: Lines ``%wd logs`` shows without ``-n``.
DEFAULT_LOG_LINES = 20
#: Records asked for at once while following (the server's page limit is larger).
FOLLOW_PAGE = 500


@command("bots", "%wd bots", "every bot with its state, mode, runs, restarts and sandbox")
def bots(magics: Magics, line: str) -> None:
    listed = [DescribeBot.model_validate(b) for b in call(magics.client().bots).get("bots", [])]
    if not listed:
        print("No bots yet. %wd promote turns this notebook into one.")
        return
    print(bots_table(listed))


@dataclass
class PromoteOptions:
    name: str | None = None
    mode: str = "once"
    interval: float | None = None
    connections: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    allow_packages: list[str] = field(default_factory=list)
    reuse_kernel: bool = False
    start: bool = True


def promote_options(line: str) -> PromoteOptions:
    rest = words(line, PROMOTE)
    options = PromoteOptions()
    modes = 0

    def value(flag: str) -> str:
        if not rest or rest[0].startswith("--"):
            raise UsageError(f"{flag} needs a value. Usage: {PROMOTE}")
        return rest.pop(0)

    while rest:
        word = rest.pop(0)
        flag, eq, inline = word.partition("=")
        if eq:
            rest.insert(0, inline)
        if flag == "--name":
            options.name = value(flag)
        elif flag == "--once" and not eq:
            options.mode, modes = "once", modes + 1
        elif flag == "--continuous" and not eq:
            options.mode, modes = "continuous", modes + 1
        elif flag == "--every":
            options.mode, options.interval, modes = "every", _seconds(value(flag)), modes + 1
        elif flag == "--connection":
            options.connections.append(value(flag))
        elif flag == "--param":
            options.params.append(value(flag))
        elif flag == "--allow-package":
            options.allow_packages.append(value(flag))
        elif flag == "--reuse-kernel" and not eq:
            options.reuse_kernel = True
        elif flag == "--no-start" and not eq:
            options.start = False
        else:
            raise UsageError(f"Unknown option {word!r}. Usage: {PROMOTE}")
    if modes > 1:
        raise UsageError("Give one of --once, --every SECONDS and --continuous.")
    return options


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise UsageError("--every takes a number of seconds greater than 0, like --every 60.")
    return seconds


@command(
    "promote",
    PROMOTE,
    "promote this notebook, as last saved, to a live bot",
    "Shows the dependencies and the policy's verdict on each before anything installs; a "
    "flagged name needs --allow-package NAME. Connections need the vault password. The job's "
    "steps are shown as they happen; an interrupt stops watching, not the promote.",
)
def promote(magics: Magics, line: str) -> None:
    options = promote_options(line)
    try:
        parameters = parse_params(options.params)
    except cli_errors.UsageError as error:
        raise UsageError(str(error)) from None
    client = magics.client()
    plan, saved = _plan_after_saving(client, options.allow_packages)
    notebook = str(plan.get("notebook", ""))
    if saved:
        print(f"Saved {notebook}; promoting it as it is now.")
    else:
        print(
            f"Promoting {notebook} as last saved: the front end did not save it (the WatchDog "
            "Lab lab extension saves it first; elsewhere, save before promoting)."
        )
    _print_dependencies(plan)
    if not plan.get("ok", False):
        raise UsageError(_refusal(plan))
    name = options.name or PurePosixPath(notebook).stem

    def send(password: str | None) -> dict[str, Any]:
        return client.promote(
            name,
            mode=options.mode,
            interval=options.interval,
            parameters=parameters,
            connections=options.connections,
            allow_packages=options.allow_packages,
            reuse_kernel=options.reuse_kernel,
            start=options.start,
            password=password,
        )

    if options.connections:
        act = Act(
            prompt=f"Vault password (gives bot {name!r} {', '.join(options.connections)}): ",
            no_stdin="This frontend cannot ask for a password. Promote from the notebook "
            "toolbar in JupyterLab to give the bot connections.",
            cancelled="No password was given; nothing was promoted.",
            interrupted="Interrupted; %wd bots shows whether the promote started.",
            failed="The promote could not start",
        )
        job = with_password(magics.ask_password, act, send)
        if isinstance(job, str):
            raise UsageError(job)
    else:
        job = call(lambda: send(None))
    _follow_job(client, job)


def _plan_after_saving(
    client: BrokerClient, allow_packages: list[str]
) -> tuple[dict[str, Any], bool]:
    """Ask the front end to save this notebook, then the plan of the saved file; and whether
    the save happened.

    The answer to the save request comes as a message on the shell channel, which the kernel
    reads only once this cell ends, so it cannot be waited for here. What can be watched is the
    file: the plan says when it was last written, and a save shows as that time moving past the
    moment of asking. Without the lab extension nothing moves, and after
    :data:`SAVE_WAIT_SECONDS` the last saved version is what gets promoted.
    """
    from .panel.bridge import FrontendBridge

    asked = time.time()
    absent = threading.Event()

    def answered(answer: dict[str, Any]) -> None:
        if answer.get("absent"):
            absent.set()

    FrontendBridge().save(answered)
    deadline = time.monotonic() + SAVE_WAIT_SECONDS
    plan = _plan_while_saving(client, allow_packages)
    while not _written_since(plan, asked) and not absent.is_set():
        if time.monotonic() >= deadline:
            break
        time.sleep(SAVE_POLL_SECONDS)
        plan = _plan_while_saving(client, allow_packages)
    if plan is None:  # still no notebook once the wait is over: say why
        plan = call(lambda: client.plan(allow_packages))
    return plan, _written_since(plan, asked)


def _plan_while_saving(client: BrokerClient, allow_packages: list[str]) -> dict[str, Any] | None:
    """The plan, or None while the file does not read as a notebook.

    JupyterLab's save is written in place (jupyter_server's atomic writing keeps a backup copy
    rather than renaming a new file over the old), and the file's time moves when the writing
    starts: a plan asked for during the save can read half a notebook. That is a save still
    under way, so the wait goes on; any other refusal ends it.
    """
    try:
        return client.plan(allow_packages)
    except BrokerError as error:
        if error.reason == INVALID_NOTEBOOK:
            return None
        raise UsageError(str(error)) from None


def _written_since(plan: dict[str, Any] | None, moment: float) -> bool:
    saved_at = plan.get("saved_at") if plan is not None else None
    return isinstance(saved_at, int | float) and saved_at >= moment


def _print_dependencies(plan: dict[str, Any]) -> None:
    dependencies = plan.get("dependencies") or []
    if not dependencies:
        print("Dependencies: none beyond the standard library.")
    for dependency in dependencies:
        verdict = dependency.get("verdict", "?")
        why = f" ({dependency['reason']})" if dependency.get("reason") else ""
        print(f"  {dependency.get('spec', '?')}: {verdict}{why}")
    for warning in plan.get("warnings") or []:
        print(f"  note: {warning}")


def _refusal(plan: dict[str, Any]) -> str:
    flagged = [
        d.get("spec", "?") for d in plan.get("dependencies") or [] if d.get("verdict") == "flagged"
    ]
    refused = [
        d.get("spec", "?") for d in plan.get("dependencies") or [] if d.get("verdict") == "refused"
    ]
    parts = []
    if refused:
        parts.append(f"refused whatever you allow: {', '.join(refused)}")
    if flagged:
        allow = " ".join(f"--allow-package {name}" for name in flagged)
        parts.append(f"flagged: {', '.join(flagged)} (if you mean them, add {allow})")
    return "Nothing was promoted; " + "; ".join(parts) + "."


def _follow_job(client: BrokerClient, job: dict[str, Any]) -> None:
    shown = 0
    job_id = str(job["id"])
    try:
        while True:
            steps = job.get("steps") or []
            for step in steps[shown:]:
                print(f"  {step}")
            shown = len(steps)
            if job.get("state") != "running":
                break
            time.sleep(POLL_SECONDS)
            job = call(lambda: client.job(job_id))
    except KeyboardInterrupt:
        print("Stopped watching; the promote goes on. %wd bots shows when it is done.")
        return
    if job.get("state") != "done" or not job.get("bot"):
        raise UsageError(f"The promote failed: {job.get('error') or 'no reason given'}")
    bot = DescribeBot.model_validate(job["bot"])
    print(
        f"Bot {bot.name!r} is {bot.state.value}. "
        f"%wd logs {_quoted(bot.name)} --follow shows its output."
    )


def _action(name: str) -> Callable[[Magics, str], None]:
    usage = f"%wd {name} BOT"

    def run(magics: Magics, line: str) -> None:
        ref = one_name(line, usage)
        bot = DescribeBot.model_validate(call(lambda: magics.client().bot_action(ref, name)))
        reason = f" ({bot.status.reason})" if bot.status.reason else ""
        print(f"{bot.name}: {bot.state.value}{reason}")

    return run


for _name, _summary in (
    ("start", "start a bot (one with connections needs the vault unlocked)"),
    ("stop", "stop a bot and its kernel"),
    ("restart", "stop a bot, then start it again"),
):
    assert _name in BOT_ACTIONS
    command(_name, f"%wd {_name} BOT", _summary)(_action(_name))


@command("delete", "%wd delete BOT", "stop and delete a bot with its versions and state (password)")
def delete(magics: Magics, line: str) -> None:
    ref = one_name(line, "%wd delete BOT")
    client = magics.client()
    act = Act(
        prompt=f"Vault password (deletes bot {ref!r} for good): ",
        no_stdin="This frontend cannot ask for a password. Delete the bot from the sidebar.",
        cancelled="No password was given; nothing was deleted.",
        interrupted="Interrupted; %wd bots shows whether the bot is gone.",
        failed="Deleting failed; the bot is still there",
    )
    outcome = with_password(magics.ask_password, act, lambda p: client.delete_bot(ref, p))
    if isinstance(outcome, str):
        raise UsageError(outcome)
    print(f"Bot {ref!r} is deleted.")


@dataclass(frozen=True)
class LogOptions:
    bot: str
    lines: int = DEFAULT_LOG_LINES
    follow: bool = False


def log_options(line: str) -> LogOptions:
    rest = words(line, LOGS)
    bot: str | None = None
    lines, follow = DEFAULT_LOG_LINES, False
    while rest:
        word = rest.pop(0)
        if word in ("-n", "--lines") and rest:
            try:
                lines = int(rest.pop(0))
            except ValueError:
                lines = -1
            if lines < 0:
                raise UsageError("-n takes a number of lines, like -n 50.")
        elif word in ("-f", "--follow"):
            follow = True
        elif bot is None and not word.startswith("-"):
            bot = word
        else:
            raise UsageError(f"Usage: {LOGS}")
    if bot is None:
        raise UsageError(f"Usage: {LOGS}")
    return LogOptions(bot, lines, follow)


@command(
    "logs",
    LOGS,
    "the last lines of a bot's log (redacted); --follow keeps printing until interrupted",
)
def logs(magics: Magics, line: str) -> None:
    options = log_options(line)
    client = magics.client()
    page = call(lambda: client.logs(options.bot, tail=options.lines))
    after = _print_records(page)
    if not options.follow:
        return
    try:
        while True:
            time.sleep(POLL_SECONDS)
            page = call(partial(client.logs, options.bot, after=after, limit=FOLLOW_PAGE))
            after = max(after, _print_records(page))
    except KeyboardInterrupt:
        print("(stopped following)")


def _print_records(page: dict[str, Any]) -> int:
    """Print a page; the last sequence number seen (the page's ``next_after``)."""
    for raw in page.get("records") or []:
        for text in log_lines(LogRecord.model_validate(raw)):
            print(text)
    return int(page.get("next_after") or 0)


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name
