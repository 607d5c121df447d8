"""Push, pull and status: this home's vault against the sync database.

Versions, not clocks, decide. Every record has a version on the server; a push writes version
``n + 1`` only where the row is still at ``n`` (one ``UPDATE ... WHERE id = ? AND version = ?``),
so a home that missed another's write is refused, and the record is reported with both
versions for the user to choose (``pull --theirs`` or ``push --mine``). Nothing is overwritten
silently, and a deletion is a tombstone (a sealed, versioned row), never a missing row.

Every write of a push is one database transaction: the database applies all of it or none.
This home's state file is saved only after the commit; when the answer to the commit is lost
(the connection cut right after it), the next run finds the server one version ahead with
exactly this home's content, recognises it by its keyed fingerprint, and takes it as agreed.
A pull decrypts every row before it applies any: one row that fails authentication stops the
pull and is named.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..vault import (
    ConnectionNotFound,
    CreateConnection,
    DuplicateConnection,
    UpdateConnection,
    Vault,
    VaultError,
    VaultState,
)
from ..vault.audit import Event
from ..vault.crypto import DecryptionFailed
from ..vault.manager import WrappedKey
from .botfiles import (
    archived_files,
    collection_of_local,
    own_files,
    remove_archived,
    write_archived,
)
from .errors import (
    Conflict,
    NotConfigured,
    RecordRolledBack,
    SyncError,
    TamperedRecord,
    UnknownRecord,
    VaultMismatch,
    WrongSyncConnection,
)
from .records import (
    DIGEST_KEY_PURPOSE,
    RECORD_KEY_PURPOSE,
    Body,
    ConnectionRecord,
    FileRecord,
    RecordCipher,
    Sealed,
    collection_of,
)
from .remote import Remote, RemoteHeader
from .state import COLLECTIONS, RecordState, StateFile, SyncState

SYNC_KIND = "postgres"
BOOTSTRAP_CONNECTION_NAME = "sync-database"


@dataclass(frozen=True, repr=False)
class Target:
    """Where to sync: the connection string (secret) and the owner uuid."""

    dsn: str
    owner: str

    def __repr__(self) -> str:
        return f"Target(owner={self.owner!r}, dsn=<hidden>)"


RemoteFactory = Callable[[Target], Remote]


def _default_remote(target: Target) -> Remote:
    return Remote(target.dsn, target.owner)


@dataclass
class Report:
    """What one push or pull did; ``conflicts`` were left untouched on both sides."""

    pushed: list[str] = field(default_factory=list)
    pulled: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    header_pushed: bool = False


@dataclass(frozen=True)
class RecordStatus:
    record_id: str
    name: str | None
    local_version: int
    remote_version: int | None
    state: str  # in-sync | to-push | to-pull | conflict | missing-on-server | new


@dataclass
class Status:
    configured: bool
    collections: list[str]
    records: list[RecordStatus] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for r in self.records if r.state == state)


class Sync:
    """Vault sync for one home; the vault must be unlocked for anything but :meth:`clone`."""

    def __init__(self, vault: Vault, *, remote: RemoteFactory = _default_remote) -> None:
        self.vault = vault
        self._remote = remote
        self._files = StateFile(vault.home)

    # ------------------------------------------------------------------ set-up

    def setup(self, connection: str, collections: Iterable[str], *, migrate: bool = False) -> str:
        """Name the sync target (a ``postgres`` connection) and what may sync; check it answers.
        Returns the owner uuid (other homes need it to be made from the database).

        With ``migrate`` the shipped migration runs first (it needs a role that may create
        schemas; on Supabase, run it in the SQL editor instead).
        """
        chosen = sorted(set(collections))
        unknown = [c for c in chosen if c not in COLLECTIONS]
        if unknown:
            raise SyncError(f"Unknown sync collection(s): {', '.join(unknown)}.")
        secrets = self.vault.get_connection(connection)
        if secrets.kind != SYNC_KIND:
            raise WrongSyncConnection(
                f"Connection {secrets.name!r} is of kind {secrets.kind!r}; sync needs a "
                f"connection of kind {SYNC_KIND!r}."
            )
        target = Target(secrets.fields["dsn"], secrets.fields["owner"])
        with self._remote(target) as remote:
            if migrate:
                remote.migrate()
            header = remote.fetch_header()
        self._check_header(header)
        with self._files.exclusive():
            state = self._files.load()
            if state.connection_id != secrets.id:
                # Another database (or owner) knows nothing of what this home synced before.
                state = SyncState()
            state.connection_id = secrets.id
            state.collections = chosen
            self._files.save(state)
        self.vault.record_event(
            Event.SYNC_SET_UP, subject=secrets.id, detail={"collections": chosen}
        )
        return target.owner

    def disable(self) -> None:
        """Forget the sync target and what was agreed; the database is left as it is."""
        with self._files.exclusive():
            self._files.save(SyncState())
        self.vault.record_event(Event.SYNC_DISABLED)

    # ---------------------------------------------------------------- helpers

    def _cipher(self) -> RecordCipher:
        return RecordCipher(
            self.vault.wrapped_key().vault_id,
            self.vault.service_key(RECORD_KEY_PURPOSE),
            self.vault.service_key(DIGEST_KEY_PURPOSE),
        )

    def _target(self, state: SyncState) -> Target:
        if state.connection_id is None:
            raise NotConfigured
        try:
            secrets = self.vault.get_connection_by_id(state.connection_id)
        except (ConnectionNotFound, VaultError):
            raise WrongSyncConnection(
                "The sync connection was removed or cannot be read; run `watchdog-lab sync "
                "setup CONNECTION` again."
            ) from None
        return Target(secrets.fields["dsn"], secrets.fields["owner"])

    def _check_header(self, header: RemoteHeader | None) -> None:
        if header is not None and header.vault_id != self.vault.wrapped_key().vault_id:
            raise VaultMismatch

    def _local(self, state: SyncState) -> dict[str, Body]:
        """Every record of the enabled collections this home holds, by local id: readable
        connections, its own bots' files, and the copies pulled from other homes."""
        enabled = set(state.collections)
        out: dict[str, Body] = {}
        if "connections" in enabled:
            for described in self.vault.list_connections():
                if described.status != "ok":
                    continue
                secrets = self.vault.get_connection_by_id(described.id)
                out[described.id] = ConnectionRecord(
                    secrets.name, secrets.kind, dict(secrets.fields)
                )
        out.update(own_files(self.vault, enabled))
        out.update(archived_files(self.vault.home, enabled))
        return out

    @staticmethod
    def _in_scope(state: SyncState) -> dict[str, RecordState]:
        """The records this home tracks in the collections it syncs now (a collection turned
        off is left alone, not read as deleted)."""
        return {
            rid: rec
            for rid, rec in state.records.items()
            if rec.local_id is None or collection_of_local(rec.local_id) in state.collections
        }

    def _resolve(self, state: SyncState, names: Iterable[str], rows: dict[str, Sealed]) -> set[str]:
        """Record ids named by connection name or by record id."""
        out: set[str] = set()
        for name in names:
            if name in state.records or name in rows:
                out.add(name)
                continue
            try:
                local_id = self.vault.describe_connection(name).id
            except ConnectionNotFound:
                raise UnknownRecord(name) from None
            record_id = state.record_for_local(local_id)
            if record_id is None:
                raise UnknownRecord(name)
            out.add(record_id)
        return out

    @staticmethod
    def _open_all(cipher: RecordCipher, rows: dict[str, Sealed]) -> dict[str, Body | None]:
        opened: dict[str, Body | None] = {}
        tampered: list[str] = []
        for record_id, row in sorted(rows.items()):
            try:
                opened[record_id] = cipher.open(row)
            except DecryptionFailed:
                tampered.append(record_id)
        if tampered:
            raise TamperedRecord(tampered)
        return opened

    @staticmethod
    def _check_rollback(state: SyncState, rows: dict[str, Sealed]) -> None:
        for record_id, rec in state.records.items():
            row = rows.get(record_id)
            if row is not None and row.version < rec.version:
                raise RecordRolledBack(record_id, rec.version, row.version)

    def _name_of(self, rec: RecordState, local: dict[str, Body]) -> str | None:
        current = local.get(rec.local_id) if rec.local_id else None
        return current.name if current else None

    # -------------------------------------------------------------------- push

    def push(self, mine: Iterable[str] = ()) -> Report:
        """Send this home's changes; records in ``mine`` overwrite the server's newer version."""
        with self._files.exclusive():
            state = self._files.load()
            target = self._target(state)
            cipher = self._cipher()
            local = self._local(state)
            # Give new records their ids before anything is sent: if the answer to the commit
            # is lost, the next push must find the same ids on the server, not make new ones.
            mapped = state.mapped_locals()
            fresh = [lid for lid in local if lid not in mapped]
            for local_id in fresh:
                state.records[str(uuid.uuid4())] = RecordState(local_id, 0, "")
            if fresh:
                self._files.save(state)
            with self._remote(target) as remote:
                header = remote.fetch_header()
                self._check_header(header)
                rows = remote.fetch_records()
                self._check_rollback(state, rows)
                forced = self._resolve(state, mine, rows)
                report, writes, updates = self._plan_push(state, cipher, local, rows, forced)
                header_write = self._plan_header(state, header)
                if writes or header_write is not None:
                    done = self._write(remote, writes, header_write)
                    for (record_id, sealed, expected), ok in zip(writes, done[0], strict=True):
                        name = self._name_of(updates[record_id], local) or record_id
                        if ok:
                            state.records[record_id] = updates[record_id]
                            report.pushed.append(name)
                        else:  # another home wrote between our read and our write
                            report.conflicts.append(
                                Conflict(
                                    record_id,
                                    name,
                                    expected or 0,
                                    expected + 1 if expected else 1,
                                    sealed.deleted,
                                    False,
                                )
                            )
                    if header_write is not None and done[1]:
                        state.header_version = header_write[0].version
                        report.header_pushed = True
            self._files.save(state)
        self._audit(Event.SYNC_PUSHED, report)
        return report

    def _plan_push(
        self,
        state: SyncState,
        cipher: RecordCipher,
        local: dict[str, Body],
        rows: dict[str, Sealed],
        forced: set[str],
    ) -> tuple[Report, list[tuple[str, Sealed, int | None]], dict[str, RecordState]]:
        report = Report()
        writes: list[tuple[str, Sealed, int | None]] = []
        updates: dict[str, RecordState] = {}
        to_open = {
            rid: row
            for rid, row in rows.items()
            if rid in state.records and row.version > state.records[rid].version
        }
        opened = self._open_all(cipher, to_open)
        for record_id, rec in sorted(self._in_scope(state).items()):
            if rec.local_id is not None and rec.local_id not in local and rec.version == 0:
                del state.records[record_id]  # made and removed here before it was ever sent
                continue
            current = local.get(rec.local_id) if rec.local_id else None
            digest = cipher.digest(current)
            changed = rec.version == 0 or digest != rec.digest
            row = rows.get(record_id)
            if not changed and record_id not in forced:
                continue
            if row is not None and row.version > rec.version:
                if cipher.digest(opened[record_id]) == digest:
                    # Already there (our own write whose answer was lost, or the same edit).
                    state.records[record_id] = RecordState(
                        rec.local_id if current else None, row.version, digest, current is None
                    )
                    report.adopted.append(current.name if current else record_id)
                    continue
                if record_id not in forced:
                    report.conflicts.append(_conflict(record_id, current, rec, row))
                    continue
                base = row.version
            elif row is None:
                if rec.deleted and current is None:
                    continue  # a tombstone the server no longer keeps: nothing to say again
                base = None
                if rec.version > 0:
                    report.problems.append(
                        f"record {record_id} was missing on the server; sent again"
                    )
            else:
                base = rec.version
            version = (base or rec.version) + 1
            if current is None and (row is None or row.deleted) and rec.deleted:
                continue
            sealed = cipher.seal(record_id, version, current)
            writes.append((record_id, sealed, base))
            updates[record_id] = RecordState(
                rec.local_id if current else None, version, digest, current is None
            )
        return report, writes, updates

    def _plan_header(
        self, state: SyncState, header: RemoteHeader | None
    ) -> tuple[RemoteHeader, int | None] | None:
        mine = self.vault.wrapped_key()
        if header is None:
            new = RemoteHeader(
                mine.vault_id, mine.format_version, mine.kdf, mine.salt, mine.wrapped_dek, 1
            )
            return new, None
        same = header.wrapped_key == mine.wrapped_dek and header.salt == mine.salt
        if same:
            state.header_version = header.version
            return None
        if header.version == state.header_version:
            # This home's password changed since it last agreed on the header: send the new
            # wrapping, so the next new home opens with the new password.
            new = RemoteHeader(
                mine.vault_id,
                mine.format_version,
                mine.kdf,
                mine.salt,
                mine.wrapped_dek,
                header.version + 1,
            )
            return new, header.version
        return None  # changed elsewhere: that home's password is the server's; ours stays local

    @staticmethod
    def _write(
        remote: Remote,
        writes: list[tuple[str, Sealed, int | None]],
        header: tuple[RemoteHeader, int | None] | None,
    ) -> tuple[list[bool], bool]:
        results: list[bool] = []
        header_ok = False
        with remote.transaction() as tx:
            if header is not None:
                header_ok = tx.put_header(header[0], header[1])
            for _record_id, sealed, expected in writes:
                if expected is None:
                    results.append(tx.insert_record(sealed))
                else:
                    results.append(tx.update_record(sealed, expected))
        return results, header_ok

    # -------------------------------------------------------------------- pull

    def pull(self, theirs: Iterable[str] = (), *, target: Target | None = None) -> Report:
        """Apply the server's changes; records in ``theirs`` replace this home's edits."""
        with self._files.exclusive():
            state = self._files.load()
            target = target or self._target(state)
            cipher = self._cipher()
            with self._remote(target) as remote:
                header = remote.fetch_header()
                self._check_header(header)
                rows = remote.fetch_records()
            self._check_rollback(state, rows)
            opened = self._open_all(cipher, rows)
            forced = self._resolve(state, theirs, rows)
            report = Report()
            local = self._local(state)
            # Deletions first, then the rest: a name freed on the other home can be reused.
            order = sorted(rows, key=lambda rid: (not rows[rid].deleted, rid))
            # The state is saved once, after the loop (or on an error, as far as it got): a
            # pull killed before that is safe to repeat, as applying a record is idempotent (a
            # connection already added or changed to the server's content is adopted, not
            # added twice), while a save per record made a clone's cost grow with the square of
            # the record count.
            try:
                for record_id in order:
                    self._pull_one(
                        state, cipher, local, rows[record_id], opened[record_id], forced, report
                    )
            finally:
                self._files.save(state)
            for record_id, rec in sorted(self._in_scope(state).items()):
                if rec.version > 0 and record_id not in rows and not rec.deleted:
                    report.problems.append(
                        f"record {record_id} ({self._name_of(rec, local) or 'no local name'}) is "
                        "missing on the server; the next push sends it again"
                    )
        self._audit(Event.SYNC_PULLED, report)
        return report

    def _audit(self, event: Event, report: Report) -> None:
        """One audit event per push or pull that did something: counts, never a name (the
        names are in the report the user sees; the trail says when and how much)."""
        counts = {
            "pushed": len(report.pushed),
            "pulled": len(report.pulled),
            "deleted": len(report.deleted),
            "adopted": len(report.adopted),
            "conflicts": len(report.conflicts),
            "problems": len(report.problems),
        }
        if any(counts.values()) or report.header_pushed:
            self.vault.record_event(event, detail={k: v for k, v in counts.items() if v})

    def _pull_one(
        self,
        state: SyncState,
        cipher: RecordCipher,
        local: dict[str, Body],
        row: Sealed,
        remote_record: Body | None,
        forced: set[str],
        report: Report,
    ) -> None:
        record_id = row.record_id
        rec = state.records.get(record_id)
        if rec is not None and row.version == rec.version:
            return
        local_id = rec.local_id if rec else None
        if remote_record is not None:
            collection = collection_of(remote_record)
        elif local_id is not None:
            collection = collection_of_local(local_id)
        else:
            collection = None  # a deletion of something this home never had
        if collection is not None and collection not in state.collections:
            return  # not synced here; pulled once the collection is turned on
        current = local.get(local_id) if local_id else None
        digest = cipher.digest(current)
        remote_digest = cipher.digest(remote_record)
        if rec is not None and digest == remote_digest:
            state.records[record_id] = RecordState(
                local_id if current else None, row.version, digest, current is None
            )
            report.adopted.append(current.name if current else record_id)
            return
        edited_here = rec is not None and (rec.version == 0 or digest != rec.digest)
        if edited_here and record_id not in forced:
            assert rec is not None
            report.conflicts.append(_conflict(record_id, current, rec, row))
            return
        if isinstance(current, FileRecord) and local_id and not local_id.startswith("archive:"):
            # This home's own bot file, changed elsewhere: a bot runs only what its own home
            # wrote and sealed, so the server's copy never replaces it.
            report.problems.append(
                f"record {record_id}: the server holds another version of this home's own "
                f"{current.name}; kept this home's (`sync push --mine {record_id}` restores it "
                "on the server)"
            )
            return
        try:
            new_local = self._apply(local_id if current else None, remote_record, local, cipher)
        except DuplicateConnection:
            report.problems.append(
                f"record {record_id}: the name {remote_record.name if remote_record else ''!r} "
                "is taken here by another connection; rename one of them and pull again"
            )
            return
        state.records[record_id] = RecordState(
            new_local, row.version, remote_digest, remote_record is None
        )
        if remote_record is None:
            if current is not None:
                report.deleted.append(current.name)
        else:
            report.pulled.append(remote_record.name)

    def _apply(
        self,
        local_id: str | None,
        record: Body | None,
        local: dict[str, Body],
        cipher: RecordCipher,
    ) -> str | None:
        """Make the local record ``local_id`` equal ``record``; return its (new) local id."""
        vault = self.vault
        current = local.get(local_id) if local_id else None
        if isinstance(record, FileRecord) or isinstance(current, FileRecord):
            if local_id is not None:
                remove_archived(vault.home, local_id)
                local.pop(local_id, None)
            if record is None:
                return None
            assert isinstance(record, FileRecord)
            new_id = write_archived(vault.home, record)
            local[new_id] = record
            return new_id
        if record is None:
            if local_id is not None and current is not None:
                vault.remove_connection_by_id(local_id)
                del local[local_id]
            return None
        if current is not None and local_id is not None and current.kind == record.kind:
            if current.name != record.name:
                vault.rename_connection(current.name, record.name)
            if current.fields != record.fields:
                vault.update_connection(
                    record.name, UpdateConnection(fields=record.fields, replace=True)
                )
            local[local_id] = record
            return local_id
        if current is not None and local_id is not None:  # another kind: replace it
            vault.remove_connection_by_id(local_id)
            del local[local_id]
        try:
            added = vault.add_connection(
                CreateConnection(name=record.name, kind=record.kind, fields=record.fields)
            )
        except DuplicateConnection:
            # An earlier pull added it and was cut before it noted so: the same content under
            # the same name is that connection.
            existing = vault.describe_connection(record.name)
            if cipher.digest(local.get(existing.id)) != cipher.digest(record):
                raise
            return existing.id
        local[added.id] = record
        return added.id

    # ------------------------------------------------------------------ status

    def status(self) -> Status:
        """Each record's standing, read from both sides (changes nothing)."""
        state = self._files.load()
        status = Status(state.configured, sorted(state.collections))
        if not state.configured:
            return status
        target = self._target(state)
        cipher = self._cipher()
        with self._remote(target) as remote:
            self._check_header(remote.fetch_header())
            rows = remote.fetch_records()
        self._check_rollback(state, rows)
        local = self._local(state)
        seen = set(state.records)
        for record_id, rec in sorted(self._in_scope(state).items()):
            current = local.get(rec.local_id) if rec.local_id else None
            row = rows.get(record_id)
            changed = rec.version == 0 or cipher.digest(current) != rec.digest
            ahead = row is not None and row.version > rec.version
            if row is None and rec.version > 0 and not rec.deleted:
                standing = "missing-on-server"
            elif changed and ahead and row is not None:
                # The same content on both sides (a push whose answer was lost) agrees.
                same = cipher.digest(self._open_all(cipher, {record_id: row})[record_id])
                standing = "in-sync" if same == cipher.digest(current) else "conflict"
            elif changed:
                standing = "to-push"
            elif ahead:
                standing = "to-pull"
            else:
                standing = "in-sync"
            status.records.append(
                RecordStatus(
                    record_id,
                    current.name if current else None,
                    rec.version,
                    row.version if row else None,
                    standing,
                )
            )
        unknown = {rid: row for rid, row in rows.items() if rid not in seen}
        for record_id, body in sorted(self._open_all(cipher, unknown).items()):
            if body is not None and collection_of(body) in state.collections:
                version = unknown[record_id].version
                status.records.append(RecordStatus(record_id, body.name, 0, version, "to-pull"))
        for local_id, record in sorted(local.items()):
            if state.record_for_local(local_id) is None:
                status.records.append(RecordStatus("", record.name, 0, None, "new"))
        return status


def _conflict(record_id: str, current: Body | None, rec: RecordState, row: Sealed) -> Conflict:
    """A record this home changed (or deleted) since ``rec`` while the server moved to ``row``."""
    return Conflict(
        record_id,
        current.name if current else None,
        rec.version,
        row.version,
        current is None,
        row.deleted,
    )


def clone(
    vault: Vault,
    target: Target,
    password: str,
    *,
    collections: Iterable[str] = ("connections",),
    remote: RemoteFactory = _default_remote,
) -> Report:
    """Make a new home from the sync database: its vault, opened with ``password``, then the
    records of ``collections``. The home must have no vault yet. Bots' files are opt-in here
    as on the first home (``sync setup --notebooks --logs`` later pulls them too).

    The target is first saved as a connection of its own, so that a clone cut short is
    finished by a plain ``sync pull``. Once the first home's records are in, the pulled
    ``postgres`` connection with the same connection string and owner (if any) becomes the
    sync target and the bootstrap one is removed.
    """
    if vault.state is not VaultState.ABSENT:
        raise SyncError(
            f"{vault.path} already holds a vault; sync it with `watchdog-lab sync setup` instead."
        )
    with remote(target) as db:
        header = db.fetch_header()
    if header is None:
        raise SyncError(
            "The sync database holds no vault for this owner uuid. Push from the first home "
            "(`watchdog-lab sync push`), and check the owner uuid."
        )
    vault.create_from_wrapped_key(
        password,
        WrappedKey(
            header.format_version, header.vault_id, header.kdf, header.salt, header.wrapped_key
        ),
    )
    bootstrap = vault.add_connection(
        CreateConnection(
            name=f"{BOOTSTRAP_CONNECTION_NAME}-{uuid.uuid4().hex[:6]}",
            kind=SYNC_KIND,
            fields={"dsn": target.dsn, "owner": target.owner},
        )
    ).id
    files = StateFile(vault.home)
    with files.exclusive():
        files.save(SyncState(bootstrap, sorted(set(collections)), header.version))
    report = Sync(vault, remote=remote).pull()
    for described in vault.list_connections():
        if described.kind != SYNC_KIND or described.status != "ok" or described.id == bootstrap:
            continue
        fields = vault.get_connection_by_id(described.id).fields
        if fields.get("dsn") == target.dsn and fields.get("owner") == target.owner:
            with files.exclusive():
                state = files.load()
                state.connection_id = described.id
                files.save(state)
            vault.remove_connection_by_id(bootstrap)
            break
    return report
