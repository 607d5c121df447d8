"""REST routes of the vault: state, create, unlock, lock, password, TOTP, connections, audit.

Thin on purpose: each method authenticates, authorizes, reads its body with ``parse_body``,
makes one call on :class:`~watchdog_lab.vault.Vault` and answers a masked model. Failures are the
vault's own exceptions, answered by the base class (see :mod:`.errors`). Password work (Argon2)
runs on a worker thread so that an unlock does not stall every other request of the server.

Every route that uses the vault restarts the idle auto-lock countdown; reading the vault's state
does not (the sidebar polls it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.ioloop import IOLoop

from ..vault import (
    CreateConnection,
    ListConnectionsResponse,
    RenameConnection,
    UpdateConnection,
    VaultState,
)
from ..vault.kinds import describe_kinds, validate_name
from .errors import InvalidPathValue, PasswordRequired
from .handlers import NAMESPACE, WatchdogHandler
from .models import (
    ConfirmTotp,
    CreateTotpEnrolment,
    CreateVault,
    DeleteConnection,
    DeleteTotp,
    DescribeTotpEnrolment,
    DescribeVaultStatus,
    ListAuditResponse,
    LockVault,
    UnlockVault,
    UpdateConnectionRequest,
    UpdateVaultPassword,
)

T = TypeVar("T")

#: Audit page sizes the route accepts.
AUDIT_DEFAULT_LIMIT = 100
AUDIT_MAX_LIMIT = 500

#: Connection ids are the vault's uuid4 hex strings.
_CONNECTION_ID = re.compile(r"[0-9a-f]{32}")

#: One path segment; tornado percent-decodes it once (and refuses invalid UTF-8 with a 400).
_SEGMENT = r"([^/]+)"


class VaultRouteHandler(WatchdogHandler):
    """Shared helpers of the vault's routes."""

    def status(self) -> DescribeVaultStatus:
        described = self.vault.describe()
        unlocked = described.state is VaultState.UNLOCKED
        return DescribeVaultStatus(
            state=described.state,
            totp_enabled=described.totp_enabled,
            locks_in_seconds=self.watchdog_app.idle_lock.locks_in(unlocked),
        )

    async def in_thread(self, work: Callable[..., T], *args: object) -> T:
        """Run password work (Argon2, ~0.1-0.7 s) off the IOLoop."""
        return await IOLoop.current().run_in_executor(None, work, *args)

    def connection_name(self, raw: str) -> str:
        """A connection name from the URL, held to the same rule as a name being created."""
        return validate_name(raw)

    def refresh_redactor(self) -> None:
        self.watchdog_app.refresh_redactor()

    def on_unlock(self) -> None:
        """The app's unlock follow-up: the redactor learns the values, waiting bots start."""
        self.watchdog_app.on_unlock()


class VaultHandler(VaultRouteHandler):
    """``GET /watchdog-lab/vault``: state and two-factor status; ``POST``: create the vault."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.write_json(self.status())

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(CreateVault)
        await self.in_thread(self.vault.create, body.password.get_secret_value())
        self.touch_vault()
        self.refresh_redactor()
        self.write_json(self.status(), status=201)


class UnlockHandler(VaultRouteHandler):
    """``POST /watchdog-lab/vault/unlock`` ``{password, totp_code?}``."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(UnlockVault)
        await self.in_thread(self.vault.unlock, body.password.get_secret_value(), body.code())
        self.touch_vault()
        self.on_unlock()
        self.write_json(self.status())


class LockHandler(VaultRouteHandler):
    """``POST /watchdog-lab/vault/lock``: drop the data key now."""

    @web.authenticated
    @authorized
    def post(self) -> None:
        self.parse_body(LockVault)
        self.vault.lock()
        self.write_json(self.status())


class PasswordHandler(VaultRouteHandler):
    """``POST /watchdog-lab/vault/password`` ``{old_password, new_password}``."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(UpdateVaultPassword)
        await self.in_thread(
            self.vault.change_password,
            body.old_password.get_secret_value(),
            body.new_password.get_secret_value(),
        )
        self.touch_vault()
        self.write_json(self.status())


class TotpHandler(VaultRouteHandler):
    """``POST /watchdog-lab/vault/totp`` ``{password}``: begin enrolment; ``DELETE``
    ``{password, code}``: turn it off. The password is required: with the Jupyter token alone,
    kernel code could enrol a seed it holds and lock the owner out."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(CreateTotpEnrolment)
        if body.password is None:
            raise PasswordRequired("Turning on two-factor authentication")
        enrolment = await self.in_thread(self.vault.begin_totp, body.password.get_secret_value())
        self.touch_vault()
        self.write_json(
            DescribeTotpEnrolment(
                secret=enrolment.secret.get_secret_value(),
                provisioning_uri=enrolment.provisioning_uri.get_secret_value(),
            )
        )

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        body = self.parse_body(DeleteTotp)
        if body.password is None:
            raise PasswordRequired("Turning off two-factor authentication")
        await self.in_thread(
            self.vault.disable_totp, body.password.get_secret_value(), body.code.get_secret_value()
        )
        self.touch_vault()
        self.write_json(self.status())


class TotpConfirmHandler(VaultRouteHandler):
    """``POST /watchdog-lab/vault/totp/confirm`` ``{password, secret, code}``: turn it on."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(ConfirmTotp)
        if body.password is None:
            raise PasswordRequired("Turning on two-factor authentication")
        await self.in_thread(
            self.vault.enable_totp,
            body.password.get_secret_value(),
            body.secret.get_secret_value(),
            body.code.get_secret_value(),
        )
        self.touch_vault()
        self.write_json(self.status())


class ConnectionsHandler(VaultRouteHandler):
    """``GET /watchdog-lab/connections`` (masked list), ``POST`` (create)."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        listing = ListConnectionsResponse(connections=self.vault.list_connections())
        self.touch_vault()
        self.write_json(listing)

    @web.authenticated
    @authorized
    def post(self) -> None:
        body = self.parse_body(CreateConnection)
        created = self.vault.add_connection(body)
        self.touch_vault()
        self.refresh_redactor()
        self.write_json(created, status=201)


class ConnectionHandler(VaultRouteHandler):
    """``GET|PATCH|DELETE /watchdog-lab/connections/{name}``; ``DELETE`` takes ``{password}``."""

    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        described = self.vault.describe_connection(self.connection_name(name))
        self.touch_vault()
        self.write_json(described)

    @web.authenticated
    @authorized
    async def patch(self, name: str) -> None:
        name = self.connection_name(name)
        body = self.parse_body(UpdateConnectionRequest)
        await self.confirm_password(body.password, "Changing a connection's values")
        updated = self.vault.update_connection(name, body.without_password(UpdateConnection))
        self.touch_vault()
        self.refresh_redactor()
        self.write_json(updated)

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        name = self.connection_name(name)
        body = self.parse_body(DeleteConnection)
        await self.confirm_password(body.password, "Removing a connection")
        self.vault.remove_connection(name)
        self.touch_vault()
        self.set_status(204)
        self.finish()


class ConnectionRenameHandler(VaultRouteHandler):
    """``POST /watchdog-lab/connections/{name}/rename`` ``{new_name}``."""

    @web.authenticated
    @authorized
    def post(self, name: str) -> None:
        name = self.connection_name(name)
        body = self.parse_body(RenameConnection)
        old_name = self.vault.describe_connection(name).name
        renamed = self.vault.rename_connection(name, body.new_name)
        self.touch_vault()
        # Markers name the connection: learn the values under the new name first, then drop
        # the old name (in this order no value is ever unknown in between).
        self.refresh_redactor()
        if old_name is not None and old_name != renamed.name:
            self.redactor.forget_connection(old_name)
        self.write_json(renamed)


class ConnectionByIdHandler(VaultRouteHandler):
    """``DELETE /watchdog-lab/connections/by-id/{id}`` ``{password}``: remove a record that no
    longer decrypts (its name is unknowable, so it cannot be removed by name)."""

    @web.authenticated
    @authorized
    async def delete(self, connection_id: str) -> None:
        if not _CONNECTION_ID.fullmatch(connection_id):
            raise InvalidPathValue(
                "A connection id is 32 lowercase hex characters, as listed by "
                "GET connections (field 'id')."
            )
        body = self.parse_body(DeleteConnection)
        await self.confirm_password(body.password, "Removing a connection")
        self.vault.remove_connection_by_id(connection_id)
        self.touch_vault()
        self.set_status(204)
        self.finish()


class AuditHandler(VaultRouteHandler):
    """``GET /watchdog-lab/audit?limit=&before=``: newest first, paged by ``next_before``."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        limit = self.query_int("limit", AUDIT_DEFAULT_LIMIT, minimum=1, maximum=AUDIT_MAX_LIMIT)
        before = self.query_int("before", None, minimum=1)
        assert limit is not None
        # One extra event tells whether an older page exists without a second query.
        events = self.vault.audit_log(limit=limit + 1, before=before)
        page, more = events[:limit], len(events) > limit
        self.touch_vault()
        self.write_json(ListAuditResponse(events=page, next_before=page[-1].seq if more else None))


class KindsHandler(WatchdogHandler):
    """``GET /watchdog-lab/kinds``: the connection kinds and their fields, for forms.

    No vault needed and no value in it: a kernel that reads it learns only field names.
    """

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.write_json(describe_kinds())


def routes() -> list[tuple[str, type[WatchdogHandler]]]:
    base = rf"/{NAMESPACE}"
    return [
        (rf"{base}/vault/?", VaultHandler),
        (rf"{base}/vault/unlock/?", UnlockHandler),
        (rf"{base}/vault/lock/?", LockHandler),
        (rf"{base}/vault/password/?", PasswordHandler),
        (rf"{base}/vault/totp/?", TotpHandler),
        (rf"{base}/vault/totp/confirm/?", TotpConfirmHandler),
        (rf"{base}/connections/?", ConnectionsHandler),
        (rf"{base}/connections/by-id/{_SEGMENT}/?", ConnectionByIdHandler),
        (rf"{base}/connections/{_SEGMENT}/rename/?", ConnectionRenameHandler),
        (rf"{base}/connections/{_SEGMENT}/?", ConnectionHandler),
        (rf"{base}/audit/?", AuditHandler),
        (rf"{base}/kinds/?", KindsHandler),
    ]
