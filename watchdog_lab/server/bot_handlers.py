"""REST routes of bots: promote (as a job), list, describe, control, logs (paged and live), runs,
grants, notebook versions and rollback.

Every call into :class:`BotManager` goes through the app's :class:`BotOperations` (see
:mod:`.jobs`): stopping a bot can take seconds and a promote builds a venv, and the server's
IOLoop must keep answering meanwhile.

The live log is a server-sent-events stream rather than a websocket: it only flows one way,
``EventSource`` in the browser reconnects by itself and resumes with ``Last-Event-ID`` (each
event's id is the record's sequence number), it is plain HTTP (the same authentication and
authorization as every other route, cookies included), and a proxy or a test needs nothing but
an HTTP client. The stream polls the bot's log file, which the runner writes: it needs no
connection to the runner, so it keeps working across a server restart while the bot runs on.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from jupyter_core.paths import is_hidden
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from ..bots.models import (
    DescribeBot,
    DescribeGrants,
    ListBotsResponse,
    ListBotVersions,
    ListRuns,
    LogRecord,
    PromoteBot,
    RollbackBot,
    UpdateGrants,
)
from ..bots.plan import DescribePromotePlan
from ..bots.runs import list_runs, read_run
from ..bots.supervisor import ACTIVE_STATES, BotManager
from ..bots.workcopy import DescribeBotNotebook, bot_notebook
from ..vault.errors import VaultLocked
from .errors import ApiError, InvalidPathValue, PasswordRequired
from .handlers import NAMESPACE, WatchdogHandler
from .log_stream import LogCursor, read_page, read_tail
from .models import (
    CreatePromotePlan,
    PromoteBotRequest,
    RollbackBotRequest,
    UpdateBotGrants,
)

if TYPE_CHECKING:
    from .jobs import BotOperations, DescribeJob

#: How often a live stream looks for new records, and how often it proves it is alive.
POLL_SECONDS = 0.05
HEARTBEAT_SECONDS = 15.0
#: What a browser waits before reconnecting a dropped stream (sent as the SSE ``retry``).
RECONNECT_MS = 2000
DEFAULT_TAIL = 100
MAX_PAGE = 5000


def resolve_notebook(root_dir: str, path: str, *, allow_hidden: bool) -> Path:
    """A Jupyter contents path (relative to the server's root, ``/``-separated, as the file
    browser shows it) as the real notebook file inside that root.

    The contents API never serves a file outside its root; a promote reads the file into a bot,
    so it must not reach further than the file browser could: no absolute path, no ``..``, no
    symbolic link leading out, no hidden file unless the server allows them.
    """
    if not path.strip() or "\x00" in path:
        raise InvalidPathValue("Give the notebook's path as the file browser shows it.")
    posix = PurePosixPath(path)
    if posix.is_absolute() or path.startswith(("~", "\\")):
        raise InvalidPathValue(
            f"{path!r} is absolute: give the notebook's path relative to the Jupyter root folder."
        )
    if ".." in posix.parts:
        raise InvalidPathValue(f"{path!r} leaves the Jupyter root folder ('..' is refused).")
    if posix.suffix != ".ipynb":
        raise InvalidPathValue(f"{path!r} is not a notebook (.ipynb).")
    root = Path(root_dir).resolve()
    try:
        real = root.joinpath(*posix.parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        raise ApiError(
            f"No notebook at {path!r} in the Jupyter root folder.",
            status=404,
            reason="notebook_not_found",
        ) from None
    if not real.is_relative_to(root):
        raise InvalidPathValue(
            f"{path!r} leads outside the Jupyter root folder (through a symbolic link)."
        )
    if not real.is_file():
        raise InvalidPathValue(f"{path!r} is not a file.")
    if not allow_hidden and is_hidden(real, root):
        raise InvalidPathValue(f"{path!r} is hidden, and this server does not serve hidden files.")
    return real


def _vault_locked_for(action: str) -> ApiError:
    return ApiError(
        f"This bot uses connections: unlock the vault to {action} it.",
        status=423,
        reason="vault_locked",
    )


class BotRouteHandler(WatchdogHandler):
    """Base of the bots' routes: the app's operations, and bot refs from the URL."""

    @property
    def ops(self) -> BotOperations:
        return self.watchdog_app.bot_ops

    def notebook_root(self) -> tuple[str, bool]:
        """The folder notebooks are found in (the contents manager's root) and whether hidden
        files count, as the file browser sees them."""
        root = getattr(self.contents_manager, "root_dir", None) or self.serverapp.root_dir
        return root, bool(getattr(self.contents_manager, "allow_hidden", False))

    async def plan(self, notebook: str, allow_packages: list[str]) -> DescribePromotePlan:
        """The promote plan of ``notebook`` (a path as the file browser shows it, found inside
        the root only), with ``allow_packages`` allowed; nothing is written or installed."""
        root, allow_hidden = self.notebook_root()

        def plan(manager: BotManager) -> DescribePromotePlan:
            found = resolve_notebook(root, notebook, allow_hidden=allow_hidden)
            return manager.plan(found, notebook, allow_packages)

        return await self.ops.call(plan)

    async def promote(self, request: PromoteBot) -> DescribeJob:
        """Check ``request`` at once (its notebook inside the root, its name, its policy),
        then start the promote job; its address goes in ``Location``. The caller has checked
        the password when the request grants connections."""
        root, allow_hidden = self.notebook_root()

        def check(manager: BotManager) -> PromoteBot:
            notebook = resolve_notebook(root, request.notebook, allow_hidden=allow_hidden)
            checked = request.model_copy(update={"notebook": str(notebook)})
            manager.check_promote(checked)
            return checked

        checked = await self.ops.call(check)
        job = self.ops.promote(checked)
        self.set_header("Location", url_path_join(self.base_url, NAMESPACE, "bots/jobs", job.id))
        return job


class BotsHandler(BotRouteHandler):
    """``GET bots``: every bot; ``POST bots``: promote a notebook (a job, answered 202).

    A promote that grants connections carries the vault password: the bot's code will hold
    those keys, and the Jupyter token alone is readable by any kernel's code.
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        bots = await self.ops.call(lambda m: m.list())
        self.write_json(ListBotsResponse(bots=bots))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(PromoteBotRequest)
        request = body.without_password(PromoteBot)
        if request.connections:
            await self.confirm_password(body.password, "Giving a bot connections")
            self.touch_vault()
        self.write_json(await self.promote(request), status=202)


class PromotePlanHandler(BotRouteHandler):
    """``POST promote/plan``: what promoting a notebook would install, each package with the
    policy's verdict, and its parameters, before anything is written or installed.

    Not under ``bots/``: a bot may be named ``plan``, and ``bots/{ref}`` must keep meaning it.
    The notebook is found like ``POST bots`` finds it, inside the Jupyter root only.
    """

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(CreatePromotePlan)
        self.write_json(await self.plan(body.notebook, body.allow_packages))


class JobHandler(BotRouteHandler):
    """``GET bots/jobs/{id}``: a promote's progress, then its bot or its error."""

    @web.authenticated
    @authorized
    def get(self, job_id: str) -> None:
        job = self.ops.job(job_id)
        if job is None:
            raise ApiError(
                "No such promote job: jobs are kept for an hour after they end, and not across "
                "server restarts. The bots list shows whether the bot exists.",
                status=404,
                reason="job_not_found",
            )
        self.write_json(job)


class BotHandler(BotRouteHandler):
    """``GET bots/{ref}`` (by id or name) and ``DELETE bots/{ref}`` (stops it first)."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        self.write_json(await self.ops.call(lambda m: m.describe(ref)))

    @web.authenticated
    @authorized
    async def delete(self, ref: str) -> None:
        await self.ops.on_bot(ref, lambda m, bot_id: m.delete(bot_id))
        self.set_status(204)
        self.finish()


class BotActionHandler(BotRouteHandler):
    """``POST bots/{ref}/start|stop|restart``: answers the bot as it is afterwards."""

    @web.authenticated
    @authorized
    async def post(self, ref: str, action: str) -> None:
        if action != "stop":
            self.touch_vault()
        try:
            if action == "start":
                bot = await self.ops.on_bot(ref, lambda m, bot_id: m.start(bot_id))
            elif action == "stop":
                bot = await self.ops.on_bot(ref, lambda m, bot_id: m.stop(bot_id))
            else:
                bot = await self.ops.on_bot(ref, lambda m, bot_id: m.restart(bot_id))
        except VaultLocked:
            raise _vault_locked_for(action) from None
        self.write_json(bot)


class BotLogsHandler(BotRouteHandler):
    """``GET bots/{ref}/logs?after=&limit=`` (a page) or ``?tail=`` (the last records)."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        after = self.query_int("after", 0, minimum=0)
        limit = self.query_int("limit", 1000, minimum=1, maximum=MAX_PAGE)
        tail = self.query_int("tail", None, minimum=0, maximum=MAX_PAGE)
        assert after is not None and limit is not None

        def read(manager: BotManager) -> list[LogRecord]:
            log_file = manager.paths(ref).log_file
            if tail is not None:
                return read_tail(log_file, tail)
            return read_page(log_file, after=after, limit=limit)

        records = await self.ops.call(read)
        next_after = records[-1].seq if records else after
        self.write_json(
            {
                "records": [r.model_dump(mode="json", exclude_none=True) for r in records],
                "next_after": next_after,
            }
        )


class BotLogStreamHandler(BotRouteHandler):
    """``GET bots/{ref}/logs/stream``: server-sent events, one per record, ``id`` = its seq.

    Starts after ``Last-Event-ID`` (a reconnecting browser) or ``?after=``, else with the last
    ``?tail=`` records (100). A comment line every 15 s keeps proxies from closing an idle
    stream; an ``end`` event says the bot was deleted. Records leave through the server's
    redactor as well as the runner's, like every other body.
    """

    _closed = False

    def on_connection_close(self) -> None:
        self._closed = True

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        after = self._resume_point()
        tail = self.query_int("tail", DEFAULT_TAIL, minimum=0, maximum=MAX_PAGE)
        assert tail is not None
        paths = await self.ops.call(lambda m: m.paths(ref))

        def open_cursor() -> LogCursor:
            if after is not None:
                return LogCursor.after_seq(paths.log_file, after)
            return LogCursor.tail(paths.log_file, tail)

        cursor = await self.ops.call(lambda _: open_cursor())
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("X-Accel-Buffering", "no")  # nginx: pass events through unbuffered
        try:
            await self._send(f"retry: {RECONNECT_MS}\n\n")
            await self._pump(cursor, paths.root)
        except StreamClosedError:
            self._closed = True
        if not self._closed:
            self.finish()

    def _resume_point(self) -> int | None:
        header = self.request.headers.get("Last-Event-ID")
        if header is None:
            return self.query_int("after", None, minimum=0)
        text = header.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 19):
            raise ApiError(
                "Last-Event-ID must be a record's sequence number.",
                status=400,
                reason="invalid_query",
            )
        return int(text)

    async def _pump(self, cursor: LogCursor, bot_root: Path) -> None:
        beat_at = time.monotonic() + HEARTBEAT_SECONDS
        while not self._closed:
            records = cursor.poll()
            if records:
                await self._send("".join(self._event(r) for r in records))
                beat_at = time.monotonic() + HEARTBEAT_SECONDS
                if cursor.behind:
                    await asyncio.sleep(0)  # let other requests in, then read on
                    continue
            elif time.monotonic() >= beat_at:
                if not bot_root.exists():
                    await self._send('event: end\ndata: {"reason": "deleted"}\n\n')
                    return
                await self._send(": keep-alive\n\n")
                beat_at = time.monotonic() + HEARTBEAT_SECONDS
            await asyncio.sleep(POLL_SECONDS)

    def _event(self, record: LogRecord) -> str:
        clean = record.model_copy(update={"text": self.redactor.redact(record.text)})
        return f"id: {record.seq}\ndata: {clean.model_dump_json(exclude_none=True)}\n\n"

    async def _send(self, text: str) -> None:
        self.write(text)
        await self.flush()


class BotRunsHandler(BotRouteHandler):
    """``GET bots/{ref}/runs``: the executed notebooks kept, newest first."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        runs = await self.ops.call(lambda m: list_runs(m.paths(ref)))
        self.write_json(ListRuns(runs=runs))


class BotRunHandler(BotRouteHandler):
    """``GET bots/{ref}/runs/{name}``: one executed notebook, outputs redacted."""

    @web.authenticated
    @authorized
    async def get(self, ref: str, name: str) -> None:
        self.write_json(await self.ops.call(lambda m: read_run(m.paths(ref), name)))


class BotNotebookHandler(BotRouteHandler):
    """``GET bots/{ref}/notebook``: the bot's current notebook version with its kernel set to
    the bot's kernelspec, for the client to save as a new file and open: the sealed version
    itself is never handed out for editing."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        def read(manager: BotManager) -> DescribeBotNotebook:
            record = manager.registry.get(ref)
            return bot_notebook(record, manager.paths(record.id))

        self.write_json(await self.ops.call(read))


class BotGrantsHandler(BotRouteHandler):
    """``GET|PUT bots/{ref}/grants``: the connections a bot may use, by name.

    Names are encrypted in the vault, so both need it unlocked (a bot without grants answers
    an empty list either way). A change applies from the bot's next start. ``PUT`` carries the
    vault password unless it empties the list: it hands keys to the bot's code.
    """

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        def grants(manager: BotManager) -> list[str]:
            return manager.granted_names(ref)

        try:
            names = await self.ops.call(grants)
        except VaultLocked:
            raise _vault_locked_for("see the connections of") from None
        self.touch_vault()
        self.write_json(DescribeGrants(connections=names))

    @web.authenticated
    @authorized
    async def put(self, ref: str) -> None:
        body = self.parse_body(UpdateBotGrants)
        request = body.without_password(UpdateGrants)
        if request.connections:
            await self.confirm_password(body.password, "Giving a bot connections")
        self.touch_vault()
        try:
            bot = await self.ops.on_bot(
                ref, lambda m, bot_id: m.set_grants(bot_id, request.connections)
            )
        except VaultLocked:
            raise _vault_locked_for("change the connections of") from None
        self.write_json(
            DescribeGrants(connections=bot.connections, restart_needed=bot.state in ACTIVE_STATES)
        )


class BotVersionsHandler(BotRouteHandler):
    """``GET bots/{ref}/versions``: the bot's notebook versions, the current one marked."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        listed: ListBotVersions = await self.ops.call(lambda m: m.versions(ref))
        self.write_json(listed)


class BotRollbackHandler(BotRouteHandler):
    """``POST bots/{ref}/rollback``: run another notebook version (``to``; by default the one
    before the current), restarting the bot if it should be running.

    For a bot with connections it carries the vault password: it changes which code runs with
    the keys, and kernel code can read the Jupyter token. Whether the bot has connections is
    decided again under the bot's lock, so a grant made meanwhile cannot skip the password.
    """

    @web.authenticated
    @authorized
    async def post(self, ref: str) -> None:
        body = self.parse_body(RollbackBotRequest)
        request = body.without_password(RollbackBot)
        consented = body.password is not None
        if consented:
            await self.confirm_password(body.password, "Rolling back a bot with connections")
        self.touch_vault()

        def rollback(manager: BotManager, bot_id: str) -> DescribeBot:
            if manager.registry.get(bot_id).grants and not consented:
                raise PasswordRequired("Rolling back a bot with connections")
            return manager.rollback(bot_id, request.to)

        try:
            bot = await self.ops.on_bot(ref, rollback)
        except VaultLocked:
            raise _vault_locked_for("roll back") from None
        self.write_json(bot)


def routes() -> list[tuple[str, type[WatchdogHandler]]]:
    bots = rf"/{NAMESPACE}/bots"
    ref = r"([^/]+)"
    return [
        (rf"{bots}/?", BotsHandler),
        (rf"/{NAMESPACE}/promote/plan/?", PromotePlanHandler),
        (rf"{bots}/jobs/([0-9a-f]{{32}})/?", JobHandler),
        (rf"{bots}/{ref}/?", BotHandler),
        (rf"{bots}/{ref}/(start|stop|restart)/?", BotActionHandler),
        (rf"{bots}/{ref}/logs/?", BotLogsHandler),
        (rf"{bots}/{ref}/logs/stream/?", BotLogStreamHandler),
        (rf"{bots}/{ref}/runs/?", BotRunsHandler),
        (rf"{bots}/{ref}/runs/([^/]+)", BotRunHandler),
        (rf"{bots}/{ref}/notebook/?", BotNotebookHandler),
        (rf"{bots}/{ref}/grants/?", BotGrantsHandler),
        (rf"{bots}/{ref}/versions/?", BotVersionsHandler),
        (rf"{bots}/{ref}/rollback/?", BotRollbackHandler),
    ]
