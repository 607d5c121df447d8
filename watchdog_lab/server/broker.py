"""The kernel broker: connections for interactive kernels, only as granted.

A kernel the server starts holds a random token (see :mod:`.kernel_env`) and no secret. With it,
``wd.connection(name)`` asks :class:`KernelBroker`, which answers only for connections granted to
that kernel and only while the vault is unlocked. A grant needs a user act that kernel code cannot
perform on its own: the vault password, typed for it in ``%wd connect`` or in the sidebar (the
Jupyter token that authenticates the sidebar's routes is readable by kernel code, so it is no
consent). Grants name connections by id, so a rename keeps them, and live in this process's
memory, tied to one kernel id: a restart clears the kernel's memory and its grants alike, a
shutdown forgets the kernel. Grants the user asked to *remember* are kept per notebook path in
``vault.db``, but a path is only a session's label, which kernel code can change (``PATCH
api/sessions``): remembered grants are therefore only *suggested* to a later kernel of that
notebook, and applied when the user confirms them with the password. Locking the vault keeps
the grants but answers nothing until the next unlock.

Two kinds of routes, kept apart on purpose:

(The routes live in :mod:`.broker_handlers`; this module is the broker's core.)

- kernel routes under ``{base_url}watchdog-lab/broker/`` authenticate by the kernel token in a
  header and by nothing else: a Jupyter token or cookie alone gets a 403 there, so holding the
  server's credentials is not enough to pull a secret out of the broker;
- UI routes (``watchdog-lab/kernels/{id}/grants``, ``.../remembered-grants``,
  ``watchdog-lab/notebook-grants``) are ordinary Jupyter-authenticated routes that grant (with
  the password) and revoke (without) but never return a secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import SecretStr

from ..aifix.errors import VaultLocked as FixVaultLocked
from ..aifix.models import DescribeFix, DescribeFixPayload, FailingCell
from ..sdk.connection import Connection
from ..vault.audit import Event
from ..vault.errors import ConnectionNotFound, VaultError, VaultNotFound
from ..vault.models import VaultState
from .broker_errors import (
    GrantNotFound,
    KernelNotFound,
    KernelTokenInvalid,
    NoNotebook,
    NoNotebookToPromote,
    NotGranted,
    PasswordMissing,
    VaultLockedForKernel,
)
from .broker_models import (
    CreateKernelFix,
    DescribeForget,
    DescribeGrant,
    DescribeNotebookGrant,
    DescribeRevoke,
    DescribeSuggestedGrant,
    GrantSource,
    ListKernelGrants,
    ListNotebookGrants,
    PreviewKernelFix,
)

if TYPE_CHECKING:
    from jupyter_server.serverapp import ServerApp

    from ..aifix import AIFix
    from ..vault import Vault
    from .kernel_env import KernelHooks

log = logging.getLogger(__name__)

#: Connection ids are the vault's uuid4 hex strings.
_CONNECTION_ID = re.compile(r"[0-9a-f]{32}")
#: Longest token the broker will hash; real ones are 43 characters.
_MAX_TOKEN_CHARS = 256
#: Longest audit label of a kernel's fix (a notebook path and the kernel id).
_MAX_LABEL_CHARS = 4096


def _failing_cell(request: PreviewKernelFix | CreateKernelFix, name: str) -> FailingCell:
    """The core's cell for a kernel's report. The audit name is the broker's, never the
    kernel's; the versions of what the cell imports are read from the server's environment, as
    for the sidebar's fixes (the python3 kernels it starts run there; a notebook on a bot's
    kernelspec runs in the bot's venv, whose versions may differ)."""
    from ..aifix import environment_versions

    return request.cell.notebook_cell(name[:_MAX_LABEL_CHARS], versions=environment_versions())


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass
class _Grant:
    connection_id: str
    name: str | None  # the last name seen; the vault's current one wins when it is unlocked
    source: GrantSource
    granted_at: float


@dataclass
class _Kernel:
    kernel_id: str
    digest: bytes
    grants: dict[str, _Grant] = field(default_factory=dict)
    path: str | None = None  # its session's notebook as last read; decides no access by itself


class RememberedGrants:
    """Grants kept per notebook path in ``vault.db`` (table ``notebook_grants``).

    Paths are stored as the session names them; connections by id only (names are encrypted
    in the vault). A connection's removal removes its remembered grants (foreign key cascade).
    """

    def __init__(self, vault: Callable[[], Vault]) -> None:
        self._vault = vault

    def _exists(self) -> bool:
        return self._vault().path.exists()

    def for_path(self, path: str) -> list[str]:
        if not self._exists():
            return []
        rows = self._vault().store.query(
            "SELECT connection_id FROM notebook_grants WHERE path = ? ORDER BY created_at",
            (path,),
        )
        return [row[0] for row in rows]

    def all(self) -> list[tuple[str, str, float]]:
        if not self._exists():
            return []
        rows = self._vault().store.query(
            "SELECT path, connection_id, created_at FROM notebook_grants ORDER BY path, created_at"
        )
        return [(row[0], row[1], row[2]) for row in rows]

    def add(self, path: str, connection_id: str, now: float) -> bool:
        """Remember; ``False`` when it already was."""
        with self._vault().store.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO notebook_grants (path, connection_id, created_at) "
                "VALUES (?, ?, ?)",
                (path, connection_id, now),
            )
            return cursor.rowcount > 0

    def remove(self, path: str, connection_id: str | None = None) -> list[str]:
        """Forget one (or, without ``connection_id``, every) grant of ``path``; the ids gone."""
        if not self._exists():
            return []
        with self._vault().store.transaction() as db:
            if connection_id is None:
                rows = db.execute(
                    "SELECT connection_id FROM notebook_grants WHERE path = ?", (path,)
                ).fetchall()
                db.execute("DELETE FROM notebook_grants WHERE path = ?", (path,))
                return [row[0] for row in rows]
            gone = db.execute(
                "DELETE FROM notebook_grants WHERE path = ? AND connection_id = ?",
                (path, connection_id),
            ).rowcount
            return [connection_id] if gone else []


class KernelBroker:
    """Tokens of the server's kernels, their grants, and the lookups they may make.

    ``kernel_alive`` tells whether the server still runs a kernel (a token of a kernel that is
    gone is refused even if no shutdown was heard of); ``session_path`` gives the notebook path
    of a kernel's session, to remember grants under and to suggest remembered ones. Runs on the
    server's IOLoop; a lock guards the tables because the password check runs on a worker thread.
    """

    def __init__(
        self,
        vault: Callable[[], Vault],
        *,
        kernel_alive: Callable[[str], bool] | None = None,
        session_path: Callable[[str], Awaitable[str | None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._vault = vault
        self._kernel_alive = kernel_alive or (lambda kernel_id: True)
        self._session_path = session_path
        self._clock = clock
        self._lock = threading.RLock()
        self._kernels: dict[str, _Kernel] = {}
        self._by_digest: dict[bytes, _Kernel] = {}
        self.remembered = RememberedGrants(vault)
        self._hooks: KernelHooks | None = None

    @classmethod
    def for_server(cls, serverapp: ServerApp, vault: Callable[[], Vault]) -> KernelBroker:
        """A broker wired into ``serverapp``: every kernel it starts gets a token."""
        from .kernel_env import KernelHooks

        hooks = KernelHooks(serverapp)
        broker = cls(vault, kernel_alive=hooks.kernel_alive, session_path=hooks.session_path)
        hooks.install(broker)
        broker._hooks = hooks
        return broker

    def close(self) -> None:
        """Unhook from the server and forget every kernel (the server is stopping)."""
        if self._hooks is not None:
            self._hooks.uninstall()
            self._hooks = None
        with self._lock:
            self._kernels.clear()
            self._by_digest.clear()

    # ------------------------------------------------------------- kernel lifecycle

    def issue_token(self, kernel_id: str) -> str:
        """A fresh random token for a kernel about to start; only its digest is kept here."""
        token = secrets.token_urlsafe(32)
        entry = _Kernel(kernel_id, _digest(token))
        with self._lock:
            old = self._kernels.pop(kernel_id, None)
            if old is not None:
                self._by_digest.pop(old.digest, None)
            self._kernels[kernel_id] = entry
            self._by_digest[entry.digest] = entry
        return token

    def kernel_restarted(self, kernel_id: str) -> None:
        """Same kernel id and token, fresh process: its grants go (remembered ones are suggested
        again, and come back when the user confirms them)."""
        with self._lock:
            entry = self._kernels.get(kernel_id)
            if entry is None:
                return
            dropped = list(entry.grants.values())
            entry.grants.clear()
            entry.path = None
        self._audit_drops(kernel_id, dropped, "kernel restarted")

    def kernel_gone(self, kernel_id: str, *, reason: str) -> None:
        """The kernel is shut down (or never started): its token stops working."""
        with self._lock:
            entry = self._kernels.pop(kernel_id, None)
            if entry is None:
                return
            self._by_digest.pop(entry.digest, None)
            dropped = list(entry.grants.values())
        self._audit_drops(kernel_id, dropped, reason)

    # ------------------------------------------------------------- kernel routes

    def authenticate(self, token: str | None) -> str:
        """The id of the kernel holding ``token``, else :class:`KernelTokenInvalid`.

        The table is keyed by the token's SHA-256, and the stored digest is compared with
        :func:`hmac.compare_digest`: how long a lookup takes says nothing about any token.
        """
        if not token or len(token) > _MAX_TOKEN_CHARS:
            raise KernelTokenInvalid
        digest = _digest(token)
        entry = self._by_digest.get(digest)
        if entry is None or not hmac.compare_digest(entry.digest, digest):
            raise KernelTokenInvalid
        if not self._kernel_alive(entry.kernel_id):
            self.kernel_gone(entry.kernel_id, reason="kernel no longer running")
            raise KernelTokenInvalid
        return entry.kernel_id

    async def connection(self, kernel_id: str, name: str) -> Connection:
        """The connection ``name`` for ``kernel_id``: granted, and the vault unlocked.

        "Not granted" and "no such connection" are the same refusal, so kernel code cannot
        probe the vault for names.
        """
        entry = self._entry(kernel_id)
        if not entry.grants:
            raise NotGranted(name)
        vault = self._vault()
        if vault.state is not VaultState.UNLOCKED:
            raise VaultLockedForKernel
        try:
            found = vault.get_connection(name)
        except ConnectionNotFound:
            raise NotGranted(name) from None
        grant = entry.grants.get(found.id)
        if grant is None:
            del found
            raise NotGranted(name)
        grant.name = found.name
        return Connection(found.name, found.kind, found.fields, found.visibility)

    async def grant_with_password(
        self, kernel_id: str, connection: str, password: SecretStr
    ) -> tuple[DescribeGrant, bool]:
        """``%wd connect``: the vault password confirms the grant (rate limited like unlock).

        The password is checked before the connection is looked up, so a kernel cannot learn
        which names exist without it. Returns the grant and whether it is new.
        """
        await self._settle(kernel_id)
        vault = self._require_unlocked()
        await asyncio.to_thread(vault.verify_password, password.get_secret_value())
        connection_id, name = self._resolve(vault, connection)
        return self._grant(kernel_id, connection_id, name, GrantSource.PASSWORD)

    async def notebook_of(self, kernel_id: str) -> str:
        """The notebook of the kernel's session now (what ``%wd promote`` promotes), else
        :class:`NoNotebook`. A kernel with the Jupyter token can move its session; it then
        promotes another notebook it could have written anyway, never a grant."""
        entry = await self._settle(kernel_id)
        if entry.path is None:
            raise NoNotebookToPromote(kernel_id)
        return entry.path

    async def fix_preview(
        self, kernel_id: str, request: PreviewKernelFix, service: AIFix
    ) -> DescribeFixPayload:
        """``%wd fix --preview``: the exact payload for the kernel's failing cell.

        Needs no password: nothing leaves the server, and the payload is redacted with every
        value of the vault (granted to this kernel or not), so the kernel learns nothing new.
        """
        self._entry(kernel_id)
        self._require_fix_vault()
        cell = await asyncio.to_thread(_failing_cell, request, "")
        return await asyncio.to_thread(service.preview, cell)

    async def fix_with_password(
        self, kernel_id: str, request: CreateKernelFix, service: AIFix
    ) -> DescribeFix:
        """``%wd fix``: send the previewed payload, confirmed by the vault password.

        The password is checked first (rate limited like an unlock), so a wrong one sends
        nothing and a kernel cannot spend the Anthropic key by itself. The audit names the
        kernel's notebook as its session says now (a label only) and the kernel's id.
        """
        entry = await self._settle(kernel_id)
        vault = self._require_fix_vault()
        await asyncio.to_thread(vault.verify_password, request.password.get_secret_value())
        label = f"{entry.path} (kernel {kernel_id})" if entry.path else f"kernel {kernel_id}"
        cell = await asyncio.to_thread(_failing_cell, request, label)
        return await asyncio.to_thread(
            service.send, cell, sha256=request.sha256, connection=request.connection
        )

    # ----------------------------------------------------------------- UI routes

    async def grant(
        self,
        kernel_id: str,
        connection: str,
        *,
        remember: bool = False,
        password: SecretStr | None = None,
    ) -> tuple[DescribeGrant, bool]:
        """The sidebar's toggle, confirmed by the vault password (the Jupyter token that
        authenticates this route is readable by kernel code); with ``remember``, also suggested
        to later kernels of the notebook."""
        if password is None:
            raise PasswordMissing("Granting a connection to a notebook")
        entry = await self._settle(kernel_id)
        vault = self._require_unlocked()
        await asyncio.to_thread(vault.verify_password, password.get_secret_value())
        connection_id, name = self._resolve(vault, connection)
        if remember:
            if entry.path is None:
                raise NoNotebook(kernel_id)
            if self.remembered.add(entry.path, connection_id, self._clock()):
                vault.record_event(
                    Event.NOTEBOOK_GRANT_REMEMBERED,
                    subject=connection_id,
                    detail={"notebook": entry.path, "connection": name},
                )
        return self._grant(kernel_id, connection_id, name, GrantSource.UI)

    async def grants(self, kernel_id: str, *, suggest: bool = True) -> ListKernelGrants:
        """The kernel's grants and, with ``suggest``, the grants remembered for its notebook
        that it does not hold (the sidebar offers them; the kernel's own route leaves them
        out, so kernel code cannot list names by moving its session from path to path)."""
        entry = await self._settle(kernel_id)
        vault = self._vault()
        state = vault.state
        names: dict[str, str] = {}
        if state is VaultState.UNLOCKED:
            self._refresh_names(vault, entry)
            names = vault.connection_names()
        remembered = self.remembered.for_path(entry.path) if entry.path else []
        suggested = [
            DescribeSuggestedGrant(connection_id=connection_id, connection=names.get(connection_id))
            for connection_id in remembered
            if connection_id not in entry.grants
        ]
        return ListKernelGrants(
            kernel_id=kernel_id,
            path=entry.path,
            vault=state,
            grants=[
                self._describe(grant, grant.connection_id in remembered)
                for grant in entry.grants.values()
            ],
            suggested=suggested if suggest else [],
        )

    async def confirm_remembered(
        self, kernel_id: str, password: SecretStr | None
    ) -> ListKernelGrants:
        """Apply the grants remembered for the kernel's notebook, now that the user confirmed
        them with the vault password; the kernel's grants afterwards.

        The notebook is the session's path as it is now. A remembered grant is never applied
        without this: kernel code can point its own session at another notebook's path.
        """
        if password is None:
            raise PasswordMissing("Applying a notebook's remembered grants")
        entry = await self._settle(kernel_id)
        vault = self._require_unlocked()
        await asyncio.to_thread(vault.verify_password, password.get_secret_value())
        if entry.path is None:
            raise NoNotebook(kernel_id)
        names = vault.connection_names()
        for connection_id in self.remembered.for_path(entry.path):
            if connection_id in names:
                self._grant(kernel_id, connection_id, names[connection_id], GrantSource.NOTEBOOK)
        return await self.grants(kernel_id)

    async def revoke(self, kernel_id: str, connection: str) -> DescribeRevoke:
        """Withdraw a grant now (the next lookup fails) and forget it for the notebook too:
        a revoked connection must not come back with the next kernel of the same notebook."""
        entry = await self._settle(kernel_id)
        grant = self._find_grant(entry, connection)
        with self._lock:
            entry.grants.pop(grant.connection_id, None)
        forgotten = bool(entry.path and self.remembered.remove(entry.path, grant.connection_id))
        self._audit_quietly(
            Event.KERNEL_REVOKED,
            grant.connection_id,
            {"kernel_id": kernel_id, "connection": grant.name, "reason": "revoked"},
        )
        if forgotten:
            self._audit_quietly(
                Event.NOTEBOOK_GRANT_FORGOTTEN,
                grant.connection_id,
                {"notebook": entry.path, "connection": grant.name},
            )
        return DescribeRevoke(
            kernel_id=kernel_id,
            connection_id=grant.connection_id,
            connection=grant.name,
            forgotten=forgotten,
        )

    async def granted_kernels(self) -> list[tuple[str, str | None, list[str]]]:
        """Each running kernel that holds grants: its id, its session's notebook as it is now
        (a label, like every path here) and the ids of its granted connections."""
        with self._lock:
            held = [kernel_id for kernel_id, entry in self._kernels.items() if entry.grants]
        found: list[tuple[str, str | None, list[str]]] = []
        for kernel_id in held:
            if not self._kernel_alive(kernel_id):
                continue
            try:
                entry = await self._settle(kernel_id)
            except KernelNotFound:  # shut down while the paths were read
                continue
            with self._lock:
                granted = list(entry.grants)
            if granted:
                found.append((kernel_id, entry.path, granted))
        return found

    def notebook_grants(self) -> ListNotebookGrants:
        vault = self._vault()
        names = vault.connection_names() if vault.state is VaultState.UNLOCKED else {}
        return ListNotebookGrants(
            notebook_grants=[
                DescribeNotebookGrant(
                    path=path,
                    connection_id=connection_id,
                    connection=names.get(connection_id),
                    created_at=created_at,
                )
                for path, connection_id, created_at in self.remembered.all()
            ]
        )

    def forget_notebook_grants(self, path: str, connection: str | None = None) -> DescribeForget:
        """Forget what ``path`` remembers (one connection, or all); running kernels keep
        their grants until revoked or restarted."""
        connection_id = None
        if connection is not None:
            if _CONNECTION_ID.fullmatch(connection):
                connection_id = connection
            else:
                connection_id, _ = self._resolve(self._require_unlocked(), connection)
        gone = self.remembered.remove(path, connection_id)
        for forgotten_id in gone:
            self._audit_quietly(Event.NOTEBOOK_GRANT_FORGOTTEN, forgotten_id, {"notebook": path})
        return DescribeForget(forgotten=len(gone))

    # ------------------------------------------------------------------ internals

    def _entry(self, kernel_id: str) -> _Kernel:
        entry = self._kernels.get(kernel_id)
        if entry is None:
            raise KernelNotFound(kernel_id)
        return entry

    async def _settle(self, kernel_id: str) -> _Kernel:
        """The kernel's entry, with the notebook path of its session as it is now.

        Read afresh on every UI request: sessions are created after their kernel, renamed with
        their notebook, and moved by anyone holding the Jupyter token (kernel code included).
        The path only says under which notebook to remember a grant and which remembered grants
        to suggest; it never grants anything by itself.
        """
        entry = self._entry(kernel_id)
        if self._session_path is None:
            return entry
        path = await self._session_path(kernel_id)
        entry = self._entry(kernel_id)  # it may have gone while we waited
        entry.path = path
        return entry

    def _require_unlocked(self) -> Vault:
        vault = self._vault()
        state = vault.state
        if state is VaultState.ABSENT:
            raise VaultNotFound(str(vault.path))
        if state is not VaultState.UNLOCKED:
            raise VaultLockedForKernel
        return vault

    def _require_fix_vault(self) -> Vault:
        """The vault, unlocked, for AI Fix: refusals worded for a fix, not a lookup."""
        vault = self._vault()
        state = vault.state
        if state is VaultState.ABSENT:
            raise VaultNotFound(str(vault.path))
        if state is not VaultState.UNLOCKED:
            raise FixVaultLocked
        return vault

    def _resolve(self, vault: Vault, connection: str) -> tuple[str, str]:
        """(id, name) of a connection given by name or by id."""
        try:
            described = vault.describe_connection(connection)
        except ConnectionNotFound:
            if not _CONNECTION_ID.fullmatch(connection):
                raise
            found = vault.get_connection_by_id(connection)
            return found.id, found.name
        return described.id, described.name or connection

    def _grant(
        self, kernel_id: str, connection_id: str, name: str | None, source: GrantSource
    ) -> tuple[DescribeGrant, bool]:
        """Record a grant (audited first: a grant that cannot be audited is not made)."""
        entry = self._entry(kernel_id)
        existing = entry.grants.get(connection_id)
        if existing is not None:
            existing.name = name or existing.name
            return self._describe(existing, self._is_remembered(entry, connection_id)), False
        grant = _Grant(connection_id, name, source, self._clock())
        self._vault().record_event(
            Event.KERNEL_GRANTED,
            subject=connection_id,
            detail={
                "kernel_id": kernel_id,
                "connection": name,
                "source": source.value,
                "notebook": entry.path,
            },
        )
        with self._lock:
            entry.grants[connection_id] = grant
        return self._describe(grant, self._is_remembered(entry, connection_id)), True

    def _is_remembered(self, entry: _Kernel, connection_id: str) -> bool:
        return bool(entry.path) and connection_id in self.remembered.for_path(entry.path or "")

    def _describe(self, grant: _Grant, remembered: bool) -> DescribeGrant:
        return DescribeGrant(
            connection_id=grant.connection_id,
            connection=grant.name,
            source=grant.source,
            granted_at=grant.granted_at,
            remembered=remembered,
        )

    def _refresh_names(self, vault: Vault, entry: _Kernel) -> None:
        """Current names for the grants (renames show), and grants of removed connections go."""
        names = vault.connection_names()
        with self._lock:
            for connection_id in list(entry.grants):
                if connection_id in names:
                    entry.grants[connection_id].name = names[connection_id]
                else:
                    del entry.grants[connection_id]

    def _find_grant(self, entry: _Kernel, connection: str) -> _Grant:
        """The grant named by ``connection`` (id or name; names resolve while unlocked, else
        match the last name seen)."""
        if connection in entry.grants:
            return entry.grants[connection]
        vault = self._vault()
        if vault.state is VaultState.UNLOCKED:
            try:
                connection_id, _ = self._resolve(vault, connection)
            except (ConnectionNotFound, VaultError):
                connection_id = None
            if connection_id in entry.grants:
                return entry.grants[connection_id]
        wanted = connection.casefold()
        for grant in entry.grants.values():
            if grant.name is not None and grant.name.casefold() == wanted:
                return grant
        raise GrantNotFound(connection)

    def _audit_drops(self, kernel_id: str, dropped: list[_Grant], reason: str) -> None:
        for grant in dropped:
            self._audit_quietly(
                Event.KERNEL_REVOKED,
                grant.connection_id,
                {"kernel_id": kernel_id, "connection": grant.name, "reason": reason},
            )

    def _audit_quietly(self, event: Event, subject: str, detail: dict[str, object]) -> None:
        """Audit a withdrawal; a failure is logged, never allowed to stop the withdrawal."""
        try:
            self._vault().record_event(event, subject=subject, detail=detail)
        except Exception:
            log.warning("WatchDog Lab could not audit %s for connection %s", event.value, subject)
