"""``bots promote|list|status|start|stop|restart|delete|logs|versions|rollback``: the bots
core, from a shell.

Everything a bot does is decided by :class:`~watchdog_lab.bots.supervisor.BotManager`; this
module only turns arguments into its calls and its answers into text. The vault password is
asked for only when connections must be decrypted (granting them at promote, handing them to a
runner at start): listing, reading logs, stopping and deleting never need it, so a headless
machine can be watched and stopped without the password anywhere near it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from pydantic import ValidationError

from ..bots.models import (
    MAX_CELL_TIMEOUT,
    BotMode,
    BotState,
    DescribeBot,
    ListBotsResponse,
    ListBotVersions,
    LogRecord,
    PromoteBot,
    parameter_name,
)
from ..settings import UV_CACHE_ENV
from . import cmd_fix, render
from .console import Console
from .errors import EXIT_INTERRUPTED, Aborted, UsageError
from .session import Context

if TYPE_CHECKING:
    from ..bots.supervisor import BotManager
    from ..vault import Vault


DEFAULT_LOG_LINES = 20
SPIN_SECONDS = 0.1
FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_FRAMES = "|/-\\"
ACTIVE = (BotState.STARTING, BotState.RUNNING, BotState.SLEEPING)
UNSANDBOXED_WARNING = (
    "UNSANDBOXED: the bot runs with your user's full access (every file you can read, the "
    "network, your other processes)"
)


# ------------------------------------------------------------------------ the core


def _manager(ctx: Context, vault: Vault) -> BotManager:
    """The bots core over this vault, configured as the server's (``c.WatchdogLab.*``)."""
    return ctx.settings.bot_manager(vault)


@contextlib.contextmanager
def _bots(ctx: Context) -> Iterator[tuple[Vault, BotManager]]:
    """The bots core, with or without a vault.

    The registry shares ``vault.db`` but needs no vault: a bot without connections is promoted,
    started and listed with no vault ever created (as the server does). A command that needs a
    connection asks for the unlock, and that is where a missing vault is reported.
    """
    with ctx.vault() as vault:
        yield vault, _manager(ctx, vault)


# -------------------------------------------------------------------- arguments


def _param_value(raw: str) -> object:
    """JSON when the text is JSON (``10``, ``true``, ``[1, 2]``, ``"quoted"``), else the text.

    ``NaN`` and ``Infinity`` stay text: Python's JSON reader accepts them, but a ticker named
    ``NaN`` becoming a float would surprise anyone.
    """

    def no_constants(name: str) -> object:
        raise ValueError(name)

    try:
        return json.loads(raw, parse_constant=no_constants)
    except (ValueError, RecursionError):
        return raw


def _shown_key(key: str) -> str:
    return repr(key) if len(key) <= 40 and key.isprintable() else "(a long or unprintable key)"


def parse_params(items: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` options as the notebook's parameters.

    Names are judged by the core's rule (which :class:`PromoteBot` enforces for every caller);
    asking it here names the offending option as the user typed it.
    """
    params: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise UsageError("--param takes KEY=VALUE (like --param size=10); one has no '='.")
        try:
            parameter_name(key)
        except ValueError as exc:
            raise UsageError(f"--param {_shown_key(key)}: {exc}.") from None
        if key in params:
            raise UsageError(f"--param {key!r} is given twice.")
        params[key] = _param_value(raw)
    return params


def _interval(text: str | None) -> float:
    try:
        seconds = float(text or "")
    except ValueError:
        raise UsageError("--every takes a number of seconds, like --every 60.") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError("--every takes a number of seconds greater than 0, like --every 60.")
    return seconds


def _cell_timeout(text: str | None) -> float | None:
    """``--cell-timeout``: seconds, 0 for no limit; None (not given) leaves the default."""
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise UsageError(
            "--cell-timeout takes a number of seconds, like --cell-timeout 300."
        ) from None
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_CELL_TIMEOUT:
        raise UsageError(
            f"--cell-timeout takes 0 (no limit) to {MAX_CELL_TIMEOUT} seconds, like "
            "--cell-timeout 300."
        )
    return seconds


def _lines(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def promote_request(args: argparse.Namespace) -> PromoteBot:
    """The promote's arguments as the core's request; every refusal is a usage error."""
    params = parse_params(args.param or [])
    mode = BotMode.EVERY if args.every is not None else BotMode(args.mode or "once")
    interval = _interval(args.every) if mode is BotMode.EVERY else None
    try:
        return PromoteBot(
            notebook=str(Path(args.notebook).expanduser()),
            name=args.name,
            connections=args.connection or [],
            mode=mode,
            interval=interval,
            parameters=params,
            allow_packages=args.allow_package or [],
            allow_startup_code=args.allow_startup_code or [],
            cell_timeout=_cell_timeout(args.cell_timeout),
            reuse_kernel=args.reuse_kernel,
        )
    except ValidationError as exc:
        # Field names and pydantic's own words; never the input values.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
        )
        raise UsageError(f"the bot's settings were refused ({problems}).") from None


# ----------------------------------------------------------------------- output


def is_unsandboxed(level: str | None) -> bool:
    return level is not None and level.strip().lower().startswith("unsandboxed")


def sandbox_text(level: str | None) -> str:
    if level is None:
        return "not known until the bot first runs"
    if is_unsandboxed(level):
        return UNSANDBOXED_WARNING
    if level.strip().lower().startswith("refused"):
        return f"REFUSED, the bot does not run: {level.split(':', 1)[-1].strip()}"
    return level


def _sandbox_short(level: str | None) -> str:
    if is_unsandboxed(level):
        return "UNSANDBOXED"
    if level is not None and level.strip().lower().startswith("refused"):
        return "REFUSED"
    return level or "-"


def _mode_text(bot: DescribeBot) -> str:
    if bot.mode is BotMode.EVERY and bot.interval:
        return f"every {bot.interval:g}s"
    return bot.mode.value


def _state_text(bot: DescribeBot) -> str:
    reason = bot.status.reason
    return f"{bot.state.value} ({reason})" if reason else bot.state.value


def _pid_text(bot: DescribeBot) -> str:
    s = bot.status
    if bot.state not in ACTIVE or s.pid is None:
        return "-"
    kernels = [f"kernel {s.kernel_pid}"] if s.kernel_pid else []
    if s.prewarmed_kernel_pid:  # the next run's, started while the bot waits
        kernels.append(f"next run's kernel {s.prewarmed_kernel_pid}")
    return f"{s.pid} ({', '.join(kernels)})" if kernels else str(s.pid)


def _params_text(params: dict[str, object]) -> str:
    return "  ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in params.items()) or "-"


def _error_text(bot: DescribeBot) -> str:
    error = bot.status.last_error
    if error is None:
        return "-"
    first = (error.evalue.splitlines() or [""])[0]
    if len(first) > 200:
        first = first[:197] + "..."
    where = f" (cell {error.cell_index}, {render.when(error.at)})" if error.at else ""
    return f"{error.ename}: {first}{where}" if first else f"{error.ename}{where}"


def status_text(bot: DescribeBot) -> str:
    """``bots status`` for a person; the sandbox line shouts when there is no sandbox."""
    s = bot.status
    rows = [
        ("name", bot.name),
        ("id", bot.id),
        ("state", _state_text(bot)),
        ("desired state", bot.desired_state),
        ("mode", _mode_text(bot)),
        ("kernel", "kept across runs" if bot.reuse_kernel else "fresh for every run"),
        ("pid", _pid_text(bot)),
        ("runs", str(s.runs)),
        ("restarts", str(s.restarts)),
        ("sandbox", sandbox_text(s.sandbox)),
        ("containment", s.containment or "-"),
        ("connections", ", ".join(bot.connections) or "-"),
        ("parameters", _params_text(bot.parameters)),
        ("notebook", f"version {bot.notebook_version}"),
        ("started", render.when(s.started_at)),
        ("heartbeat", render.when(s.heartbeat_at)),
        *([("next run", render.when(s.next_run_at))] if s.next_run_at else []),
        ("last error", _error_text(bot)),
        ("folder", bot.folder),
    ]
    width = max(len(label) for label, _ in rows) + 1
    # Each value is one line: a newline in a reason or an error must not forge a field.
    return "\n".join(f"{(label + ':').ljust(width)}  {render.line(value)}" for label, value in rows)


def bots_table(bots: list[DescribeBot]) -> str:
    rows = [
        [
            b.name,
            b.state.value,
            b.desired_state,
            _mode_text(b),
            str(b.status.runs),
            str(b.status.restarts),
            _sandbox_short(b.status.sandbox),
        ]
        for b in bots
    ]
    return render.table(["NAME", "STATE", "DESIRED", "MODE", "RUNS", "RESTARTS", "SANDBOX"], rows)


def versions_table(listed: ListBotVersions) -> str:
    rows = [
        [
            f"v{v.version}" + (" *" if v.current else ""),
            render.when(v.created_at),
            "yes" if v.sealed else "no",
            v.reason or "promoted",
        ]
        for v in listed.versions
    ]
    return render.table(["VERSION", "WRITTEN", "SEALED", "WHY"], rows)


def log_lines(record: LogRecord) -> list[str]:
    """One record as lines: the first prefixed with its time and stream, the rest indented.

    A record line always starts with its time and a continuation line with spaces, so a bot's
    own newline cannot start what looks like a record: a copied prefix such as
    ``... system  notebook finished`` stays indented under the record that printed it. Every
    line is terminal-safe.
    """
    prefix = f"{render.when(record.ts)} {render.line(record.stream):<7}"
    text = record.text.replace("\r\n", "\n")
    text = text[:-1] if text.endswith("\n") else text
    first, *rest = text.split("\n")
    indent = " " * len(prefix)
    return [
        f"{prefix} {render.line(first)}".rstrip(),
        *(f"{indent} {render.line(line)}".rstrip() for line in rest),
    ]


def _print_record(console: Console, record: LogRecord, as_json: bool) -> None:
    if as_json:
        console.json(record.model_dump(exclude_none=True), indent=None)
    else:
        console.out("\n".join(log_lines(record)))


def _warn_if_unsandboxed(ctx: Context, bot: DescribeBot) -> None:
    if is_unsandboxed(bot.status.sandbox):
        ctx.console.warn(f"bot {bot.name!r} runs {UNSANDBOXED_WARNING}.")


def _started_text(bot: DescribeBot) -> str:
    sandbox = _sandbox_short(bot.status.sandbox)
    return f"state {bot.state.value}, pid {_pid_text(bot)}, sandbox {sandbox}"


class Steps:
    """The ``progress`` sink of a promote: every step named, on standard error.

    On a terminal the current step spins in place until the next one begins, then stays as a
    finished line; anywhere else each step is one plain line (logs and CI want no ``\\r``).
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.tty = console.terminal_out
        encoding = (getattr(console.stderr, "encoding", None) or "").lower()
        self.frames = FRAMES if encoding.startswith("utf") else ASCII_FRAMES
        self.done_mark, self.failed_mark = ("✓", "✗") if self.frames is FRAMES else ("+", "x")
        self._current: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Steps:
        if self.tty:
            self._thread = threading.Thread(target=self._spin, name="spinner", daemon=True)
            self._thread.start()
        return self

    def __call__(self, message: str) -> None:
        text = self.console.clean(" ".join(str(message).split()))
        if not text:
            return
        if not self.tty:
            self.console.stderr.write(f"  {text}\n")
            self.console.stderr.flush()
            return
        with self._lock:
            self._finish_line(self.done_mark)
            self._current = text

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.tty:
            with self._lock:
                self._finish_line(self.done_mark if exc_type is None else self.failed_mark)

    def _width(self) -> int:
        """A line longer than the terminal wraps, and ``\r`` then redraws only its tail."""
        try:
            columns = os.get_terminal_size(self.console.stderr.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        return max(20, (columns or shutil.get_terminal_size().columns) - 1)

    def _draw(self, mark: str, end: str = "") -> None:
        assert self._current is not None
        line = f"{mark} {self._current}"[: self._width()]
        self.console.stderr.write(f"\r{line}\x1b[K{end}")
        self.console.stderr.flush()

    def _finish_line(self, mark: str) -> None:
        if self._current is not None:
            self._draw(mark, "\n")
            self._current = None

    def _spin(self) -> None:
        frame = 0
        while not self._stop.wait(SPIN_SECONDS):
            with self._lock:
                if self._current is not None:
                    self._draw(self.frames[frame % len(self.frames)])
                    frame += 1


# --------------------------------------------------------------------- commands


def run_promote(ctx: Context, args: argparse.Namespace) -> int:
    request = promote_request(args)
    with _bots(ctx) as (vault, manager):
        if request.connections:  # grants are resolved by name, inside the unlocked vault
            ctx.unlock(vault)
        ctx.console.note(f"Promoting {Path(request.notebook).name} as bot {request.name!r}:")
        with Steps(ctx.console) as steps:
            bot = manager.promote(request, steps)
            if args.start:
                steps("starting the bot")
                bot = manager.start(bot.id)
    if args.start:
        ctx.console.out(f"Promoted and started bot {bot.name!r}: {_started_text(bot)}.")
        _warn_if_unsandboxed(ctx, bot)
    else:
        ctx.console.out(
            f"Promoted bot {bot.name!r} (id {bot.id}, {_mode_text(bot)}, "
            f"{len(request.connections)} connection(s)). "
            f"Start it with `watchdog-lab bots start {_quote(bot.name)}`."
        )
    return 0


def _quote(name: str) -> str:
    return f'"{name}"' if " " in name else name


def run_list(ctx: Context, args: argparse.Namespace) -> int:
    with _bots(ctx) as (_, manager):
        bots = manager.list()
    if args.json:
        ctx.console.json(ListBotsResponse(bots=bots).model_dump(mode="json"))
    elif not bots:
        ctx.console.out(
            "No bots yet. Promote a notebook with `watchdog-lab bots promote NOTEBOOK --name NAME`."
        )
    else:
        ctx.console.out(bots_table(bots))
        if any(is_unsandboxed(b.status.sandbox) for b in bots):
            ctx.console.warn("bots marked UNSANDBOXED run with your user's full access.")
    return 0


def run_status(ctx: Context, args: argparse.Namespace) -> int:
    with _bots(ctx) as (_, manager):
        bot = manager.describe(args.name)
    if args.json:
        ctx.console.json(bot.model_dump(mode="json"))
    else:
        ctx.console.out(status_text(bot))
        _warn_if_unsandboxed(ctx, bot)
    return 0


def run_start(ctx: Context, args: argparse.Namespace) -> int:
    with _bots(ctx) as (vault, manager):
        running = manager.describe(args.name).state in ACTIVE
        if manager.needs_unlock_to_start(args.name):  # not when running or without grants
            ctx.unlock(vault)
        bot = manager.start(args.name)
    if running:
        ctx.console.out(f"Bot {bot.name!r} is already {bot.state.value}; nothing changed.")
    else:
        ctx.console.out(f"Started bot {bot.name!r}: {_started_text(bot)}.")
    _warn_if_unsandboxed(ctx, bot)
    return 0


def run_stop(ctx: Context, args: argparse.Namespace) -> int:
    with _bots(ctx) as (_, manager):
        bot = manager.stop(args.name)
    ctx.console.out(f"Stopped bot {bot.name!r}: {_state_text(bot)}.")
    return 0


def run_restart(ctx: Context, args: argparse.Namespace) -> int:
    with _bots(ctx) as (vault, manager):
        if manager.needs_unlock_to_start(args.name, restart=True):
            ctx.unlock(vault)  # the runner will need them; ask before stopping anything
        bot = manager.restart(args.name)
    ctx.console.out(f"Restarted bot {bot.name!r}: {_started_text(bot)}.")
    _warn_if_unsandboxed(ctx, bot)
    return 0


def run_delete(ctx: Context, args: argparse.Namespace) -> int:
    with _bots(ctx) as (_, manager):
        bot = manager.describe(args.name)
        if not args.yes:
            ctx.console.require_interactive(
                "a confirmation", "Add --yes to delete without being asked."
            )
            question = (
                f"Delete bot {bot.name!r}? It will be stopped, and its notebook versions, state, "
                "logs and environment removed. This cannot be undone."
            )
            if not ctx.console.confirm(question):
                raise Aborted
        manager.delete(bot.id)
    ctx.console.out(f"Deleted bot {bot.name!r} and its folder.")
    return 0


def run_versions(ctx: Context, args: argparse.Namespace) -> int:
    with _bots(ctx) as (_, manager):
        listed = manager.versions(args.name)
    if args.json:
        ctx.console.json(listed.model_dump(mode="json"))
    else:
        ctx.console.out(versions_table(listed))
        ctx.console.note("* the version the bot runs from its next start")
    return 0


def run_rollback(ctx: Context, args: argparse.Namespace) -> int:
    with _bots(ctx) as (vault, manager):
        bot = manager.describe(args.name)
        target = bot.notebook_version - 1 if args.to is None else args.to
        if not args.yes:
            ctx.console.require_interactive(
                "a confirmation", "Add --yes to roll back without being asked."
            )
            restarts = " It restarts on it." if bot.desired_state == "running" else ""
            question = (
                f"Switch bot {bot.name!r} from notebook version {bot.notebook_version} to "
                f"version {target}?{restarts}"
            )
            if not ctx.console.confirm(question):
                raise Aborted
        # A bot with connections: the version's seal is checked, and its restart hands them
        # over; the password is asked for before anything changes.
        if manager.needs_unlock_to_start(bot.id, restart=True):
            ctx.unlock(vault)
        bot = manager.rollback(bot.id, target)
    state = f": {_started_text(bot)}" if bot.desired_state == "running" else ""
    ctx.console.out(f"Bot {bot.name!r} now runs notebook version {bot.notebook_version}{state}.")
    return 0


def run_logs(ctx: Context, args: argparse.Namespace) -> int:
    with _bots(ctx) as (_, manager):
        # One record more than shown, so that --follow -n 0 knows where "new" starts.
        records = manager.tail(args.name, max(args.lines, 1))
        after = records[-1].seq if records else 0
        following = manager.follow(args.name, after=after) if args.follow else None
    shown = records[-args.lines :] if args.lines else []
    for record in shown:
        _print_record(ctx.console, record, args.json)
    if following is None:
        if not records and not args.json:
            ctx.console.note("No log records yet.")
        return 0
    try:  # like `tail -f`: until interrupted (the vault is closed by now; only the file is read)
        for record in following:
            _print_record(ctx.console, record, args.json)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0


# ---------------------------------------------------------------------- parser


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: dict[str, argparse.ArgumentParser],
) -> None:
    pw = [parents["home"], parents["password"]]
    home = [parents["home"]]
    group = sub.add_parser(
        "bots",
        help="promote notebooks to bots; start, stop, watch them",
        description=(
            "Bots are notebooks promoted to supervised processes, each with its own venv, "
            "kernel and folders, and only the connections granted to it. The vault password "
            "is needed only to grant connections (promote --connection) and to start, restart "
            "or roll back a bot that has some; such a bot is refused its connections if its "
            "notebook or packages changed outside WatchDog Lab since it was promoted (its seal, "
            f"checked at every start). {UV_CACHE_ENV} sets the shared uv cache folder (default: "
            "cache/uv in the data folder)."
        ),
    )
    bsub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    json_help = "print the result as JSON"

    promote = bsub.add_parser(
        "promote",
        parents=pw,
        help="turn a notebook into a bot",
        description=(
            "Freeze the notebook, check its dependencies against the install policy, build its "
            "own environment and register it. Parameters are injected like papermill's; a "
            'VALUE that is valid JSON (10, true, [1, 2], "text") is used as such, anything '
            "else as text."
        ),
    )
    promote.add_argument("notebook", metavar="NOTEBOOK", help="the .ipynb file to promote")
    promote.add_argument("--name", required=True, metavar="NAME", help="the bot's name")
    promote.add_argument(
        "--connection",
        action="append",
        metavar="NAME",
        help="grant this connection to the bot (repeatable; asks for the vault password)",
    )
    modes = promote.add_mutually_exclusive_group()
    modes.add_argument(
        "--once", dest="mode", action="store_const", const="once", help="run once (default)"
    )
    modes.add_argument(
        "--every",
        metavar="SECONDS",
        help="run again SECONDS after each successful run",
    )
    modes.add_argument(
        "--continuous",
        dest="mode",
        action="store_const",
        const="continuous",
        help="a notebook that runs until stopped (restarted if it fails)",
    )
    promote.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="a notebook parameter (repeatable)",
    )
    promote.add_argument(
        "--allow-package",
        action="append",
        metavar="NAME",
        help="accept a package the typosquat check flags (repeatable)",
    )
    promote.add_argument(
        "--allow-startup-code",
        action="append",
        metavar="NAME",
        help="trust a package that runs code at every Python start, e.g. a .pth import line "
        "(repeatable; refused otherwise)",
    )
    promote.add_argument(
        "--cell-timeout",
        metavar="SECONDS",
        help="fail a run whose cell runs longer than SECONDS (0: no limit, the default); a "
        "continuous bot's last cell, its loop, is never limited",
    )
    promote.add_argument(
        "--reuse-kernel",
        action="store_true",
        help="keep one kernel across runs: in-memory state survives between runs (a failed "
        "run restarts it fresh); default: a fresh kernel for every run",
    )
    promote.add_argument("--start", action="store_true", help="start the bot once promoted")
    promote.set_defaults(handler=run_promote, mode=None, every=None)

    lst = bsub.add_parser("list", parents=home, help="list bots and their states")
    lst.add_argument("--json", action="store_true", help=json_help)
    lst.set_defaults(handler=run_list)

    status = bsub.add_parser(
        "status",
        parents=home,
        help="one bot's state, runs, last error and sandbox",
    )
    status.add_argument("name", metavar="NAME")
    status.add_argument("--json", action="store_true", help=json_help)
    status.set_defaults(handler=run_status)

    start = bsub.add_parser(
        "start",
        parents=pw,
        help="start a bot",
        description=(
            "Start a bot's runner. A bot with connections needs the vault password (from "
            "--password-file, WATCHDOG_LAB_PASSWORD or a prompt) to hand them over."
        ),
    )
    start.add_argument("name", metavar="NAME")
    start.set_defaults(handler=run_start)

    stop = bsub.add_parser("stop", parents=home, help="stop a bot (and its kernel)")
    stop.add_argument("name", metavar="NAME")
    stop.set_defaults(handler=run_stop)

    restart = bsub.add_parser(
        "restart", parents=pw, help="stop, then start a bot (password if it has connections)"
    )
    restart.add_argument("name", metavar="NAME")
    restart.set_defaults(handler=run_restart)

    delete = bsub.add_parser(
        "delete", parents=home, help="stop a bot and remove it with its folder"
    )
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(handler=run_delete)

    versions = bsub.add_parser(
        "versions",
        parents=home,
        help="a bot's notebook versions, the current one marked",
        description=(
            "Version 1 is the notebook as promoted; each published fix writes the next one. "
            "Versions never change once written; rollback chooses which one the bot runs."
        ),
    )
    versions.add_argument("name", metavar="NAME")
    versions.add_argument("--json", action="store_true", help=json_help)
    versions.set_defaults(handler=run_versions)

    rollback = bsub.add_parser(
        "rollback",
        parents=pw,
        help="run an earlier notebook version (password if the bot has connections)",
        description=(
            "Switch the bot to another notebook version (by default the one before the "
            "current) and restart it if it should be running. Its seal is checked as at a "
            "start; no version is deleted, so a rollback can be undone with --to."
        ),
    )
    rollback.add_argument("name", metavar="NAME")
    rollback.add_argument(
        "--to", type=int, metavar="N", help="the version to run (default: the current one - 1)"
    )
    rollback.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rollback.set_defaults(handler=run_rollback)

    logs = bsub.add_parser(
        "logs",
        parents=home,
        help="show a bot's (redacted) log",
        description="The last records of a bot's log; --follow keeps printing new ones (Ctrl-C).",
    )
    logs.add_argument("name", metavar="NAME")
    logs.add_argument(
        "-n",
        "--lines",
        type=_lines,
        default=DEFAULT_LOG_LINES,
        metavar="N",
        help=f"show the last N records (default {DEFAULT_LOG_LINES})",
    )
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new records")
    logs.add_argument("--json", action="store_true", help="one JSON object per record and line")
    logs.set_defaults(handler=run_logs)

    cmd_fix.register(bsub, parents)
