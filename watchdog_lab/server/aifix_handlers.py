"""REST routes of AI Fix: preview, send and (for bots) publish a fix of a failing cell.

Two kinds of failing cell:

- a notebook cell, described by the front end (``ai-fix/preview``, ``ai-fix``); the versions
  of the packages it imports are read from the server's environment;
- a bot's last failing cell, read from its status (``bots/{ref}/ai-fix/...``); the versions
  are read from the bot's venv, as files.

Sending a payload to a third party takes the vault password in the same request, as a grant
does: kernel code can read the Jupyter token, and the token alone must not be able to send
anything to Anthropic. So does publishing a fixed version of a bot that holds connections (the
new code runs with their keys). The preview needs none: it sends nothing.

Thin like the other services' handlers: every call into the core runs off the IOLoop through
the app's :class:`~.jobs.BotOperations` (a request to the API can take minutes), and failures
are the core's own errors, answered by the one table in :mod:`.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..aifix import DescribeFix, DescribeFixPayload, environment_versions
from ..aifix.bot_cell import bot_failure
from ..bots.models import DescribeBot
from .errors import PasswordRequired
from .handlers import NAMESPACE, WatchdogHandler
from .models import CreateBotFix, CreateBotFixVersion, CreateCellFix, CreateCellFixPreview

if TYPE_CHECKING:
    from ..aifix import AIFix
    from ..bots.supervisor import BotManager
    from .jobs import BotOperations

SEND_ACTION = "Sending a cell to Anthropic"
PUBLISH_ACTION = "Publishing a new version of a bot with connections"


class AIFixRouteHandler(WatchdogHandler):
    """Base of the AI Fix routes: the app's AI Fix service and its worker threads."""

    @property
    def aifix(self) -> AIFix:
        return self.watchdog_app.aifix

    @property
    def ops(self) -> BotOperations:
        return self.watchdog_app.bot_ops


class CellFixPreviewHandler(AIFixRouteHandler):
    """``POST ai-fix/preview``: the exact body a fix of this notebook cell would send."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(CreateCellFixPreview)
        aifix = self.aifix

        def preview(_: BotManager) -> DescribeFixPayload:
            return aifix.preview(body.failing_cell(environment_versions()))

        payload = await self.ops.call(preview)
        self.touch_vault()
        self.write_json(payload)


class CellFixHandler(AIFixRouteHandler):
    """``POST ai-fix``: send the previewed payload (its ``sha256``), with the vault password."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(CreateCellFix)
        await self.confirm_password(body.password, SEND_ACTION)
        self.touch_vault()
        aifix = self.aifix

        def send(_: BotManager) -> DescribeFix:
            cell = body.failing_cell(environment_versions())
            return aifix.send(cell, sha256=body.sha256, connection=body.connection)

        self.write_json(await self.ops.call(send))


class BotFixPreviewHandler(AIFixRouteHandler):
    """``GET bots/{ref}/ai-fix/preview``: the exact body a fix of the bot's failing cell would
    send."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        aifix = self.aifix

        def preview(manager: BotManager) -> DescribeFixPayload:
            return aifix.preview(bot_failure(manager, ref).cell)

        payload = await self.ops.call(preview)
        self.touch_vault()
        self.write_json(payload)


class BotFixHandler(AIFixRouteHandler):
    """``POST bots/{ref}/ai-fix``: send the previewed payload of the bot's failing cell."""

    @web.authenticated
    @authorized
    async def post(self, ref: str) -> None:
        body = self.parse_body(CreateBotFix)
        await self.confirm_password(body.password, SEND_ACTION)
        self.touch_vault()
        aifix = self.aifix

        def send(manager: BotManager) -> DescribeFix:
            cell = bot_failure(manager, ref).cell
            return aifix.send(cell, sha256=body.sha256, connection=body.connection)

        self.write_json(await self.ops.call(send))


class BotFixApplyHandler(AIFixRouteHandler):
    """``POST bots/{ref}/ai-fix/apply``: publish the failing cell's new source as version N+1
    and restart the bot on it if it should be running.

    For a bot with connections it carries the vault password; whether the bot has some is
    decided again under the bot's lock, so a grant made meanwhile cannot skip it.
    """

    @web.authenticated
    @authorized
    async def post(self, ref: str) -> None:
        body = self.parse_body(CreateBotFixVersion)
        consented = body.password is not None
        if consented:
            await self.confirm_password(body.password, PUBLISH_ACTION)
        self.touch_vault()
        detail: dict[str, object] | None = (
            {"payload_sha256": body.payload_sha256} if body.payload_sha256 else None
        )

        def apply(manager: BotManager, bot_id: str) -> DescribeBot:
            if manager.registry.get(bot_id).grants and not consented:
                raise PasswordRequired(PUBLISH_ACTION)
            failure = bot_failure(manager, bot_id)
            return manager.publish_cell_fix(
                bot_id,
                failure.cell_index,
                body.fixed_source,
                expected_version=body.expected_version,
                detail=detail,
                confirmed=consented,  # the token alone publishes, but never seals
            )

        self.write_json(await self.ops.on_bot(ref, apply))


def routes() -> list[tuple[str, type[WatchdogHandler]]]:
    fix = rf"/{NAMESPACE}/ai-fix"
    bot = rf"/{NAMESPACE}/bots/([^/]+)/ai-fix"
    return [
        (rf"{fix}/?", CellFixHandler),
        (rf"{fix}/preview/?", CellFixPreviewHandler),
        (rf"{bot}/?", BotFixHandler),
        (rf"{bot}/preview/?", BotFixPreviewHandler),
        (rf"{bot}/apply/?", BotFixApplyHandler),
    ]
