"""The vault: one object that owns ``vault.db`` and, while unlocked, the data key.

Every face (server, CLI, magics) goes through :class:`Vault`; none of them touches SQL or
crypto. Layout of what is stored (docs/architecture.md, "Vault cryptography"):

- header: vault id, Argon2id parameters and salt, the data key wrapped under the password key
  (AAD = format | vault id | KDF params | salt), an unkeyed digest of those fields (so a damaged
  header is told apart from a wrong password before any key work), the TOTP secret encrypted
  under the data key, an HMAC of those fields under a data-key subkey, and the audit sealing
  key: an X25519 public key, and its private half wrapped under the data key with the public
  key in the AAD (which is what authenticates the pair; the HMAC predates it);
- connections: an opaque id, a keyed index of the case-folded name (uniqueness without storing
  the name), and the name, kind and field names encrypted as one "meta" record;
- fields: one row per field, tagged by a keyed hash of (id, field name), its value encrypted
  with AAD = format | vault id | connection id | field name.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..paths import home_dir
from . import audit, ratelimit, totp
from .audit import Event
from .crypto import (
    FORMAT_VERSION,
    KEY_SIZE,
    SALT_SIZE,
    Aead,
    CryptoError,
    DecryptionFailed,
    KdfParams,
    aad,
    derive_key,
    keyed_digest,
    new_seal_keypair,
    seal_public_key,
    subkey,
    unwrap_key,
    wipe,
    wrap_key,
)
from .errors import (
    ConnectionNotFound,
    CorruptedRecord,
    DuplicateConnection,
    PasswordTooLong,
    TamperedHeader,
    Throttled,
    TotpAlreadyEnabled,
    TotpNotEnabled,
    TotpRequired,
    VaultExists,
    VaultLocked,
    VaultNotFound,
    WeakPassword,
    WrongPassword,
)
from .kinds import (
    KindSpec,
    Visibility,
    name_key,
    resolve_kind,
    validate_fields,
    validate_name,
)
from .models import (
    AuditEvent,
    ConnectionSecrets,
    CreateConnection,
    DescribeConnection,
    DescribeVault,
    TotpEnrolment,
    UpdateConnection,
    VaultState,
)
from .ratelimit import RateLimitPolicy
from .store import Store

VAULT_FILE = "vault.db"
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
_SELECT_HEADER = (
    "SELECT format_version, vault_id, kdf, salt, wrapped_dek, digest, totp, totp_last_step, "
    "mac, audit_public, audit_private FROM vault_header WHERE id = 1"
)


@dataclass(frozen=True)
class WrappedKey:
    """The data key wrapped under the password, with what the wrapping is bound to: all another
    home needs to open this vault's records once the password is typed there."""

    format_version: int
    vault_id: str
    kdf: str
    salt: bytes
    wrapped_dek: bytes


class _Header:
    """The header row, with the two integrity checks it carries."""

    def __init__(self, row: tuple[Any, ...]) -> None:
        (
            self.format_version,
            self.vault_id,
            self.kdf,
            self.salt,
            self.wrapped_dek,
            self.digest,
            self.totp,
            self.totp_last_step,
            self.mac,
            self.audit_public,
            self.audit_private,
        ) = row

    @staticmethod
    def static_digest(
        format_version: int, vault_id: str, kdf: str, salt: bytes, wrapped_dek: bytes
    ) -> bytes:
        return hashlib.sha256(aad(format_version, vault_id, kdf, salt, wrapped_dek)).digest()

    def wrap_aad(self) -> bytes:
        return aad(self.format_version, self.vault_id, self.kdf, self.salt)

    def mac_input(self) -> bytes:
        return aad(
            self.format_version,
            self.vault_id,
            self.kdf,
            self.salt,
            self.wrapped_dek,
            self.totp or b"",
            self.totp_last_step,
        )

    def authentic(self, keys: _Keys) -> bool:
        return _equal(keyed_digest(keys.mac_key, self.mac_input()), self.mac or b"")

    def check_static(self) -> KdfParams:
        """Run before any Argon2 work: catches damage and refuses unbounded parameters."""
        if self.format_version != FORMAT_VERSION:
            raise TamperedHeader(f"unknown format version {self.format_version!r}")
        try:
            expected = self.static_digest(
                self.format_version, self.vault_id, self.kdf, self.salt, self.wrapped_dek
            )
        except TypeError as exc:
            raise TamperedHeader("a header field has the wrong type") from exc
        if not isinstance(self.digest, bytes) or not _equal(expected, self.digest):
            raise TamperedHeader("header digest mismatch")
        if len(self.salt) != SALT_SIZE:
            raise TamperedHeader("salt has the wrong size")
        try:
            return KdfParams.from_json(self.kdf)
        except CryptoError as exc:
            raise TamperedHeader(str(exc)) from exc


def _equal(a: bytes, b: bytes) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


class _Keys:
    """Key material held while unlocked; wiped on lock."""

    def __init__(self, dek: bytearray) -> None:
        self.dek = dek
        self.aead = Aead(dek)
        self.index_key = subkey(dek, "watchdog-lab/v1/name-index")
        self.field_key = subkey(dek, "watchdog-lab/v1/field-tag")
        self.mac_key = subkey(dek, "watchdog-lab/v1/header-mac")
        self.audit_private: bytearray | None = None
        self.audit_public: bytes | None = None

    def wipe(self) -> None:
        wipe(self.dek)
        wipe(self.audit_private)


def _audit_key_aad(vault_id: str, public: bytes) -> bytes:
    # The public key in the AAD binds the pair: a swapped public key no longer unwraps the
    # private one, and only the data key could wrap a private key for another public key.
    # (The header MAC does not cover the pair, so processes of the version before it, still
    # running during an upgrade, keep verifying the header.)
    return aad(FORMAT_VERSION, vault_id, "audit-key", public)


def _new_audit_key(keys: _Keys, header: _Header) -> None:
    """Give ``header`` a fresh audit key pair (and ``keys`` its private half)."""
    private, public = new_seal_keypair()
    header.audit_public = public
    header.audit_private = wrap_key(keys.dek, private, _audit_key_aad(header.vault_id, public))
    keys.audit_private, keys.audit_public = private, public


def _open_audit_key(keys: _Keys, header: _Header) -> None:
    """Unwrap the audit private key, and check the stored public key is its public half."""
    public = header.audit_public
    try:
        private = unwrap_key(
            keys.dek, header.audit_private, _audit_key_aad(header.vault_id, public)
        )
    except (CryptoError, TypeError) as exc:
        raise TamperedHeader("the audit key failed authentication") from exc
    if not isinstance(public, bytes) or not _equal(seal_public_key(private), public):
        wipe(private)
        raise TamperedHeader("the audit public key does not match its private key")
    keys.audit_private, keys.audit_public = private, public


class Vault:
    """The encrypted store of connections under ``home`` (``$WATCHDOG_LAB_HOME``)."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        kdf: KdfParams | None = None,
        rate_limit: RateLimitPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = home_dir(home)
        self.path = self.home / VAULT_FILE
        self.kdf = kdf or KdfParams()
        self.kdf.check()
        self.rate_limit = rate_limit or RateLimitPolicy()
        self._clock = clock
        self._store: Store | None = None
        self._keys: _Keys | None = None
        self._vault_id: str | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> VaultState:
        if self._keys is not None:
            return VaultState.UNLOCKED
        return VaultState.LOCKED if self.exists() else VaultState.ABSENT

    def exists(self) -> bool:
        """A vault exists once its header is written (the file alone may hold only the registry)."""
        if not self.path.exists():
            return False
        return self._open().query_one("SELECT 1 FROM vault_header") is not None

    @property
    def store(self) -> Store:
        """The open database, for services that keep non-secret tables in it (bot registry)."""
        return self._open_new()

    def describe(self) -> DescribeVault:
        state = self.state
        enabled = state is not VaultState.ABSENT and self._header().totp is not None
        return DescribeVault(state=state, totp_enabled=enabled, path=str(self.path))

    @property
    def totp_enabled(self) -> bool:
        return self._header().totp is not None

    def _open(self) -> Store:
        store = self._store
        if store is not None:  # no lock once open: a reader must not wait out an Argon2 check
            return store
        # Under the lock: two threads opening at once would each migrate a new file, and the
        # loser's connection would meet a half-written schema.
        with self._lock:
            if self._store is None:
                if not self.path.exists():
                    raise VaultNotFound(str(self.path))
                self._store = Store(self.path)
            return self._store

    def _header(self) -> _Header:
        row = self._open().query_one(_SELECT_HEADER)
        if row is None:
            if self._open().query_one("SELECT 1 FROM connections LIMIT 1"):
                raise TamperedHeader("the header row is missing")
            raise VaultNotFound(str(self.path))
        return _Header(row)

    def _require_keys(self) -> _Keys:
        if self._keys is None:
            raise VaultLocked
        return self._keys

    # --------------------------------------------------------------- lifecycle

    def create(self, password: str) -> None:
        """Create a new vault and leave it unlocked."""
        _check_password(password)
        with self._lock:
            if self.exists():
                raise VaultExists(str(self.path))
            dek = bytearray(os.urandom(KEY_SIZE))
            vault_id = uuid.uuid4().hex
            salt = os.urandom(SALT_SIZE)
            kdf = self.kdf.to_json()
            kek = derive_key(password, salt, self.kdf)
            try:
                wrapped = wrap_key(kek, dek, aad(FORMAT_VERSION, vault_id, kdf, salt))
            finally:
                wipe(kek)
            keys = _Keys(dek)
            header = _Header(
                (FORMAT_VERSION, vault_id, kdf, salt, wrapped, b"", None, 0, b"", None, None)
            )
            header.digest = _Header.static_digest(FORMAT_VERSION, vault_id, kdf, salt, wrapped)
            _new_audit_key(keys, header)
            header.mac = keyed_digest(keys.mac_key, header.mac_input())
            store = self._open_new()
            with store.transaction() as db:
                if db.execute("SELECT COUNT(*) FROM vault_header").fetchone()[0]:
                    raise VaultExists(str(self.path))
                db.execute(
                    "INSERT INTO vault_header (id, format_version, vault_id, kdf, salt, "
                    "wrapped_dek, digest, totp, totp_last_step, mac, audit_public, "
                    "audit_private) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        FORMAT_VERSION,
                        vault_id,
                        kdf,
                        salt,
                        wrapped,
                        header.digest,
                        None,
                        0,
                        header.mac,
                        header.audit_public,
                        header.audit_private,
                    ),
                )
                audit.record(db, Event.VAULT_CREATED, self._clock(), vault_id=vault_id)
            self._vault_id = vault_id
            self._keys = keys

    def _open_new(self) -> Store:
        store = self._store
        if store is not None:
            return store
        with self._lock:
            if self._store is None:
                self._store = Store(self.path)
            return self._store

    def _password_keys(self, header: _Header, password: str, purpose: str) -> _Keys:
        """Throttle, then derive and unwrap: every password check goes through here, so every
        one is rate limited (unlock, password change, a grant confirmed by password)."""
        store = self._open()
        params = header.check_static()
        now = self._clock()
        try:
            with store.transaction() as db:
                # Read under the write lock: a time taken before waiting for it would be
                # older than the attempts written meanwhile.
                now = self._clock()
                ratelimit.count_attempt(db, self.rate_limit, now)
        except Throttled:
            with store.transaction() as db:
                audit.record(
                    db, Event.UNLOCK_THROTTLED, now, vault_id=header.vault_id, note=purpose
                )
            raise
        kek = derive_key(password if isinstance(password, str) else "", header.salt, params)
        try:
            dek = unwrap_key(kek, header.wrapped_dek, header.wrap_aad())
        except DecryptionFailed:
            self._record_failure(header.vault_id, f"wrong password ({purpose})")
            raise WrongPassword from None
        finally:
            wipe(kek)
        keys = _Keys(dek)
        if not header.authentic(keys):
            keys.wipe()
            raise TamperedHeader("header authentication failed")
        return keys

    def verify_password(self, password: str) -> None:
        """Check the password without changing the lock state (rate limited like unlock)."""
        check_password_length(password)
        with self._lock:
            header = self._header()
            keys = self._password_keys(header, password, "confirmation")
            keys.wipe()
            with self._open().transaction() as db:
                ratelimit.forgive(db)

    def unlock(self, password: str, totp_code: str | None = None) -> None:
        """Check the password (and code), then hold the data key until :meth:`lock`.

        A vault made before the audit key gets its key pair here, in the unlock's transaction.
        """
        check_password_length(password)
        with self._lock:
            store = self._open()
            header = self._header()
            now = self._clock()
            keys = self._password_keys(header, password, "unlock")
            try:
                step = None
                if header.totp is not None:
                    step = self._check_totp(keys, header, totp_code, now)
                with store.transaction() as db:
                    ratelimit.forgive(db)
                    self._unlock_header(db, keys, step)
                    audit.record(db, Event.VAULT_UNLOCKED, now, vault_id=header.vault_id)
            except BaseException:
                keys.wipe()
                raise
            if self._keys is not None:
                self._keys.wipe()
            self._vault_id = header.vault_id
            self._keys = keys

    def _unlock_header(self, db: sqlite3.Connection, keys: _Keys, step: int | None) -> None:
        """Inside the unlock's transaction: re-read the header (another process may have
        written it since), record the two-factor step, add a missing audit key, and open it."""
        header = self._header()
        if not header.authentic(keys):
            raise TamperedHeader("header authentication failed")
        if step is not None:
            self._store_totp(db, keys, header, header.totp, step)
        if header.audit_public is None and header.audit_private is None:
            _new_audit_key(keys, header)
            db.execute(
                "UPDATE vault_header SET audit_public = ?, audit_private = ? WHERE id = 1",
                (header.audit_public, header.audit_private),
            )
        else:
            _open_audit_key(keys, header)

    def _record_failure(self, vault_id: str, note: str) -> None:
        with self._open().transaction() as db:
            audit.record(db, Event.UNLOCK_FAILED, self._clock(), vault_id=vault_id, note=note)

    def _check_totp(self, keys: _Keys, header: _Header, code: str | None, now: float) -> int:
        secret = self._totp_secret(keys, header)
        if not code:
            self._record_failure(header.vault_id, "two-factor code missing")
            raise TotpRequired
        try:
            return totp.accept(secret, code, now, header.totp_last_step)
        except Exception:
            self._record_failure(header.vault_id, "two-factor code refused")
            raise

    def _totp_secret(self, keys: _Keys, header: _Header) -> str:
        try:
            return keys.aead.decrypt(
                header.totp, aad(FORMAT_VERSION, header.vault_id, "totp")
            ).decode()
        except DecryptionFailed as exc:
            raise TamperedHeader("the two-factor secret failed authentication") from exc

    def _store_totp(
        self, db: sqlite3.Connection, keys: _Keys, header: _Header, blob: bytes | None, step: int
    ) -> None:
        header.totp, header.totp_last_step = blob, step
        header.mac = keyed_digest(keys.mac_key, header.mac_input())
        db.execute(
            "UPDATE vault_header SET totp = ?, totp_last_step = ?, mac = ? WHERE id = 1",
            (blob, step, header.mac),
        )

    def lock(self) -> None:
        """Drop the data key. Idempotent; recorded in the audit log when it locks something."""
        with self._lock:
            if self._keys is None:
                return
            self._keys.wipe()
            self._keys = None
            if self._store is not None and self._vault_id is not None:
                with self._store.transaction() as db:
                    audit.record(db, Event.VAULT_LOCKED, self._clock(), vault_id=self._vault_id)

    def close(self) -> None:
        with self._lock:
            self.lock()
            if self._store is not None:
                self._store.close()
                self._store = None

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def change_password(self, old_password: str, new_password: str) -> None:
        """Re-wrap the data key under a new password; connection records are not touched."""
        check_password_length(old_password)
        _check_password(new_password)
        with self._lock:
            header = self._header()
            keys = self._password_keys(header, old_password, "password change")
            dek = keys.dek
            salt = os.urandom(SALT_SIZE)
            kdf = self.kdf.to_json()
            new_kek = derive_key(new_password, salt, self.kdf)
            try:
                wrapped = wrap_key(new_kek, dek, aad(FORMAT_VERSION, header.vault_id, kdf, salt))
            finally:
                wipe(new_kek)
            header.kdf, header.salt, header.wrapped_dek = kdf, salt, wrapped
            header.digest = _Header.static_digest(
                FORMAT_VERSION, header.vault_id, kdf, salt, wrapped
            )
            header.mac = keyed_digest(keys.mac_key, header.mac_input())
            with self._open().transaction() as db:
                db.execute(
                    "UPDATE vault_header SET kdf = ?, salt = ?, wrapped_dek = ?, digest = ?, "
                    "mac = ? WHERE id = 1",
                    (kdf, salt, wrapped, header.digest, header.mac),
                )
                ratelimit.forgive(db)
                audit.record(db, Event.PASSWORD_CHANGED, self._clock(), vault_id=header.vault_id)
            keys.wipe()  # a copy of the data key; an unlocked vault keeps its own

    # ----------------------------------------------------------- another home

    def wrapped_key(self) -> WrappedKey:
        """What another home needs to open this vault's records with the same password: the
        data key wrapped under the password, and what that wrapping is bound to. Nothing here
        opens without the password (the wrapping's associated data covers every other field)."""
        header = self._header()
        return WrappedKey(
            format_version=header.format_version,
            vault_id=header.vault_id,
            kdf=header.kdf,
            salt=bytes(header.salt),
            wrapped_dek=bytes(header.wrapped_dek),
        )

    def create_from_wrapped_key(self, password: str, wrapped: WrappedKey) -> None:
        """Create this home's vault around another home's data key, and leave it unlocked.

        The password must unwrap ``wrapped``; the new header gets its own digest, MAC and audit
        key. Two-factor stays off: a second factor belongs to one home.
        """
        check_password_length(password)
        if wrapped.format_version != FORMAT_VERSION:
            raise TamperedHeader(f"unknown format version {wrapped.format_version!r}")
        header = _Header(
            (
                FORMAT_VERSION,
                wrapped.vault_id,
                wrapped.kdf,
                wrapped.salt,
                wrapped.wrapped_dek,
                b"",
                None,
                0,
                b"",
                None,
                None,
            )
        )
        header.digest = _Header.static_digest(
            FORMAT_VERSION, wrapped.vault_id, wrapped.kdf, wrapped.salt, wrapped.wrapped_dek
        )
        params = header.check_static()
        with self._lock:
            if self.exists():
                raise VaultExists(str(self.path))
            kek = derive_key(password, header.salt, params)
            try:
                dek = unwrap_key(kek, header.wrapped_dek, header.wrap_aad())
            except DecryptionFailed:
                raise WrongPassword from None
            finally:
                wipe(kek)
            keys = _Keys(dek)
            _new_audit_key(keys, header)
            header.mac = keyed_digest(keys.mac_key, header.mac_input())
            store = self._open_new()
            with store.transaction() as db:
                if db.execute("SELECT COUNT(*) FROM vault_header").fetchone()[0]:
                    keys.wipe()
                    raise VaultExists(str(self.path))
                db.execute(
                    "INSERT INTO vault_header (id, format_version, vault_id, kdf, salt, "
                    "wrapped_dek, digest, totp, totp_last_step, mac, audit_public, "
                    "audit_private) VALUES (1, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?, ?)",
                    (
                        FORMAT_VERSION,
                        header.vault_id,
                        header.kdf,
                        header.salt,
                        header.wrapped_dek,
                        header.digest,
                        header.mac,
                        header.audit_public,
                        header.audit_private,
                    ),
                )
                audit.record(
                    db,
                    Event.VAULT_CREATED,
                    self._clock(),
                    vault_id=header.vault_id,
                    note="from another home's wrapped key",
                )
            self._vault_id = header.vault_id
            self._keys = keys

    # -------------------------------------------------------------------- TOTP

    def begin_totp(self, password: str, account: str = "vault") -> TotpEnrolment:
        """A fresh secret and its provisioning URI; nothing is stored until :meth:`enable_totp`.

        Every step of two-factor enrolment and removal takes the vault password (checked, and
        rate limited, like an unlock): an unlocked vault alone is not the owner's consent, and
        whoever enrols a seed they hold locks the owner out.
        """
        self._require_keys()
        if self.totp_enabled:
            raise TotpAlreadyEnabled
        self.verify_password(password)
        secret = totp.new_secret()
        return TotpEnrolment(secret=secret, provisioning_uri=totp.provisioning_uri(secret, account))

    def enable_totp(self, password: str, secret: str, code: str) -> None:
        """Turn TOTP on once the user proves their authenticator holds ``secret`` (and, with
        the password, that they are the vault's owner)."""
        with self._lock:
            keys = self._require_keys()
            header = self._header()
            if header.totp is not None:
                raise TotpAlreadyEnabled
            self.verify_password(password)
            step = totp.accept(secret, code, self._clock(), 0)
            blob = keys.aead.encrypt(secret.encode(), aad(FORMAT_VERSION, header.vault_id, "totp"))
            with self._open().transaction() as db:
                self._store_totp(db, keys, header, blob, step)
                audit.record(db, Event.TOTP_ENABLED, self._clock(), vault_id=header.vault_id)

    def disable_totp(self, password: str, code: str) -> None:
        """Turn TOTP off: the password and a fresh code, both."""
        with self._lock:
            keys = self._require_keys()
            header = self._header()
            if header.totp is None:
                raise TotpNotEnabled
            self.verify_password(password)
            secret = self._totp_secret(keys, header)
            step = totp.accept(secret, code, self._clock(), header.totp_last_step)
            with self._open().transaction() as db:
                self._store_totp(db, keys, header, None, step)
                audit.record(db, Event.TOTP_DISABLED, self._clock(), vault_id=header.vault_id)

    # -------------------------------------------------------------- connections

    def _name_index(self, keys: _Keys, name: str) -> bytes:
        return keyed_digest(keys.index_key, name_key(name).encode())

    def _field_tag(self, keys: _Keys, connection_id: str, field: str) -> bytes:
        return keyed_digest(keys.field_key, aad(connection_id, field))[:16]

    def _meta_aad(self, connection_id: str) -> bytes:
        return aad(FORMAT_VERSION, self._vault_id or "", connection_id, "meta")

    def _field_aad(self, connection_id: str, field: str) -> bytes:
        return aad(FORMAT_VERSION, self._vault_id or "", connection_id, "field", field)

    def _decrypt_meta(self, keys: _Keys, connection_id: str, blob: bytes) -> dict[str, Any]:
        try:
            meta: dict[str, Any] = json.loads(
                keys.aead.decrypt(blob, self._meta_aad(connection_id))
            )
        except (DecryptionFailed, ValueError) as exc:
            raise CorruptedRecord(f"connection {connection_id}") from exc
        return meta

    def _write_connection(
        self,
        db: sqlite3.Connection,
        keys: _Keys,
        connection_id: str,
        meta: dict[str, Any],
        fields: dict[str, str],
    ) -> None:
        """Replace the meta record and every field row of one connection."""
        meta = {**meta, "fields": sorted(fields)}
        blob = keys.aead.encrypt(json.dumps(meta).encode(), self._meta_aad(connection_id))
        exe = db.execute
        exe(
            "INSERT INTO connections (id, name_index, meta) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET name_index = excluded.name_index, meta = excluded.meta",
            (connection_id, self._name_index(keys, meta["name"]), blob),
        )
        exe("DELETE FROM connection_fields WHERE connection_id = ?", (connection_id,))
        for field, value in fields.items():
            exe(
                "INSERT INTO connection_fields (connection_id, tag, value) VALUES (?, ?, ?)",
                (
                    connection_id,
                    self._field_tag(keys, connection_id, field),
                    keys.aead.encrypt(value.encode(), self._field_aad(connection_id, field)),
                ),
            )

    def _find(self, keys: _Keys, name: str) -> tuple[str, dict[str, Any]]:
        """Resolve a name to (id, meta) through the keyed index, checking the meta agrees."""
        if not isinstance(name, str):
            raise ConnectionNotFound(repr(name))
        row = self._open().query_one(
            "SELECT id, meta FROM connections WHERE name_index = ?",
            (self._name_index(keys, name),),
        )
        if row is None:
            raise ConnectionNotFound(name)
        meta = self._decrypt_meta(keys, row[0], row[1])
        if name_key(meta.get("name", "")) != name_key(name):
            raise CorruptedRecord(f"connection {row[0]}")
        return row[0], meta

    def _read_fields(self, keys: _Keys, connection_id: str, meta: dict[str, Any]) -> dict[str, str]:
        rows = dict(
            self._open().query(
                "SELECT tag, value FROM connection_fields WHERE connection_id = ?",
                (connection_id,),
            )
        )
        label = f"connection {meta.get('name', connection_id)!r} ({connection_id})"
        fields: dict[str, str] = {}
        for field in meta.get("fields", []):
            blob = rows.get(self._field_tag(keys, connection_id, field))
            if blob is None:
                raise CorruptedRecord(f"{label}, field {field!r} (missing)")
            try:
                fields[field] = keys.aead.decrypt(
                    blob, self._field_aad(connection_id, field)
                ).decode()
            except (DecryptionFailed, UnicodeDecodeError) as exc:
                raise CorruptedRecord(f"{label}, field {field!r}") from exc
        return fields

    def _describe(
        self, connection_id: str, meta: dict[str, Any], fields: dict[str, str]
    ) -> DescribeConnection:
        spec = resolve_kind(meta["kind"])
        return DescribeConnection(
            id=connection_id,
            name=meta["name"],
            kind=meta["kind"],
            fields=ConnectionSecrets(
                connection_id, meta["name"], meta["kind"], fields, _visibility(spec, fields)
            ).masked(),
            created_at=meta.get("created_at"),
            updated_at=meta.get("updated_at"),
        )

    def add_connection(self, request: CreateConnection) -> DescribeConnection:
        with self._lock:
            keys = self._require_keys()
            name = validate_name(request.name)
            spec = resolve_kind(request.kind)
            fields = validate_fields(spec, request.plain_fields())
            try:
                existing = self._find(keys, name)
            except ConnectionNotFound:
                existing = None
            if existing is not None:
                raise DuplicateConnection(name, existing[1]["name"])
            connection_id = uuid.uuid4().hex
            now = self._clock()
            meta = {"name": name, "kind": spec.name, "created_at": now, "updated_at": now}
            with self._open().transaction() as db:
                self._write_connection(db, keys, connection_id, meta, fields)
                self._audit_connection(
                    db, keys, Event.CONNECTION_ADDED, connection_id, meta, fields
                )
            return self._describe(connection_id, meta, fields)

    def _audit_connection(
        self,
        db: sqlite3.Connection,
        keys: _Keys,
        event: Event,
        connection_id: str,
        meta: dict[str, Any],
        fields: Iterable[str],
        **extra: object,
    ) -> None:
        audit.record(
            db,
            event,
            self._clock(),
            vault_id=self._vault_id or "",
            aead=keys.aead,
            connection_id=connection_id,
            detail={"name": meta["name"], "kind": meta["kind"], "fields": sorted(fields), **extra},
        )

    def list_connections(self) -> list[DescribeConnection]:
        """Every connection, masked; a corrupted one is listed as such, the rest still readable."""
        keys = self._require_keys()
        out = []
        for connection_id, blob in self._open().query("SELECT id, meta FROM connections"):
            try:
                meta = self._decrypt_meta(keys, connection_id, blob)
                out.append(
                    self._describe(
                        connection_id, meta, self._read_fields(keys, connection_id, meta)
                    )
                )
            except CorruptedRecord as exc:
                out.append(
                    DescribeConnection(
                        id=connection_id, name=None, kind=None, status="corrupted", error=str(exc)
                    )
                )
        return sorted(out, key=lambda d: (d.name is None, name_key(d.name or ""), d.id))

    def describe_connection(self, name: str) -> DescribeConnection:
        keys = self._require_keys()
        connection_id, meta = self._find(keys, name)
        return self._describe(connection_id, meta, self._read_fields(keys, connection_id, meta))

    def get_connection(self, name: str) -> ConnectionSecrets:
        """The decrypted connection, for handing to a bot; never for a face to print."""
        keys = self._require_keys()
        connection_id, meta = self._find(keys, name)
        fields = self._read_fields(keys, connection_id, meta)
        spec = resolve_kind(meta["kind"])
        return ConnectionSecrets(
            connection_id, meta["name"], meta["kind"], fields, _visibility(spec, fields)
        )

    def get_connection_by_id(self, connection_id: str) -> ConnectionSecrets:
        """Decrypt by opaque id (bot grants refer to connections by id, never by name)."""
        keys = self._require_keys()
        row = self._open().query_one("SELECT meta FROM connections WHERE id = ?", (connection_id,))
        if row is None:
            raise ConnectionNotFound(connection_id)
        meta = self._decrypt_meta(keys, connection_id, row[0])
        fields = self._read_fields(keys, connection_id, meta)
        spec = resolve_kind(meta["kind"])
        return ConnectionSecrets(
            connection_id, meta["name"], meta["kind"], fields, _visibility(spec, fields)
        )

    def connection_names(self) -> dict[str, str]:
        """id -> name of every readable connection (for showing grants)."""
        return {c.id: c.name for c in self.list_connections() if c.name is not None}

    def iter_secrets(self) -> Iterator[tuple[str, str, str]]:
        """(connection, field, value) of every non-public field of every readable connection,
        for the redactor (public fields, such as an exchange environment, are shown in full)."""
        keys = self._require_keys()
        for connection_id, blob in self._open().query("SELECT id, meta FROM connections"):
            try:
                meta = self._decrypt_meta(keys, connection_id, blob)
                fields = self._read_fields(keys, connection_id, meta)
            except CorruptedRecord:
                continue
            spec = resolve_kind(meta["kind"])
            for field, value in fields.items():
                if spec.visibility(field) != "public":  # shown in full by design
                    yield meta["name"], field, value

    def update_connection(self, name: str, request: UpdateConnection) -> DescribeConnection:
        with self._lock:
            keys = self._require_keys()
            connection_id, meta = self._find(keys, name)
            current = {} if request.replace else self._read_fields(keys, connection_id, meta)
            merged = {**current, **request.plain_fields()}
            fields = validate_fields(resolve_kind(meta["kind"]), merged)
            meta = {**meta, "updated_at": self._clock()}
            changed = sorted(request.fields)
            with self._open().transaction() as db:
                self._write_connection(db, keys, connection_id, meta, fields)
                self._audit_connection(
                    db, keys, Event.CONNECTION_UPDATED, connection_id, meta, fields, changed=changed
                )
            return self._describe(connection_id, meta, fields)

    def rename_connection(self, name: str, new_name: str) -> DescribeConnection:
        """Only the meta record changes: field AAD binds to the id, not the name."""
        with self._lock:
            keys = self._require_keys()
            new_name = validate_name(new_name)
            connection_id, meta = self._find(keys, name)
            if name_key(new_name) != name_key(meta["name"]):
                try:
                    clash = self._find(keys, new_name)
                except ConnectionNotFound:
                    clash = None
                if clash is not None:
                    raise DuplicateConnection(new_name, clash[1]["name"])
            fields = self._read_fields(keys, connection_id, meta)
            old = meta["name"]
            meta = {**meta, "name": new_name, "updated_at": self._clock()}
            blob = keys.aead.encrypt(json.dumps(meta).encode(), self._meta_aad(connection_id))
            with self._open().transaction() as db:
                db.execute(
                    "UPDATE connections SET name_index = ?, meta = ? WHERE id = ?",
                    (self._name_index(keys, new_name), blob, connection_id),
                )
                self._audit_connection(
                    db, keys, Event.CONNECTION_RENAMED, connection_id, meta, fields, old_name=old
                )
            return self._describe(connection_id, meta, fields)

    def remove_connection(self, name: str) -> None:
        with self._lock:
            keys = self._require_keys()
            connection_id, meta = self._find(keys, name)
            with self._open().transaction() as db:
                db.execute("DELETE FROM connections WHERE id = ?", (connection_id,))
                self._audit_connection(
                    db, keys, Event.CONNECTION_REMOVED, connection_id, meta, meta.get("fields", [])
                )

    def remove_connection_by_id(self, connection_id: str) -> None:
        """Remove a record that no longer decrypts (its name is unknowable)."""
        with self._lock:
            keys = self._require_keys()
            with self._open().transaction() as db:
                gone = db.execute("DELETE FROM connections WHERE id = ?", (connection_id,)).rowcount
                if not gone:
                    raise ConnectionNotFound(connection_id)
                audit.record(
                    db,
                    Event.CONNECTION_REMOVED,
                    self._clock(),
                    vault_id=self._vault_id or "",
                    aead=keys.aead,
                    connection_id=connection_id,
                    note="removed by id (record unreadable)",
                )

    # ---------------------------------------------------------------- services

    def service_key(self, purpose: str) -> bytes:
        """A key bound to one ``purpose`` of another service (``"bot-seal"``), from the data key.

        HKDF-SHA256 with info ``watchdog-lab/v1/service/<purpose>``: the prefix keeps these
        keys apart from the vault's own subkeys, so no caller can obtain the name-index or
        header-MAC key through here. Only while unlocked (raises :class:`VaultLocked`): a
        process that never had the password, a kernel or a bot included, cannot derive it.
        The data key survives a password change, so what was keyed before still verifies.
        """
        if not purpose or not purpose.replace("-", "").isalnum():
            raise ValueError("a service key purpose is a short name like 'bot-seal'")
        with self._lock:
            keys = self._require_keys()
            return subkey(keys.dek, f"watchdog-lab/v1/service/{purpose}")

    # -------------------------------------------------------------------- audit

    def record_event(
        self, event: Event, *, subject: str | None = None, detail: dict[str, object] | None = None
    ) -> None:
        """Audit an act of another service (bots). Stored in clear the detail could name
        connections or strategies: unlocked, it is encrypted under the data key; locked, it is
        sealed to the vault's audit public key, so that it is readable after the next unlock.

        A locked vault cannot check that public key (that needs the data key); the next unlock
        does, and a detail sealed to a swapped key reads as tampered.
        """
        with self._lock:
            keys = self._keys
            seal_to = note = None
            if keys is not None and self._vault_id is not None:
                vault_id = self._vault_id
            else:
                header = self._header()
                vault_id = header.vault_id
                if detail is not None:
                    if isinstance(header.audit_public, bytes):
                        seal_to = header.audit_public
                    else:
                        note, detail = "detail not kept: no audit key until the next unlock", None
            with self._open().transaction() as db:
                try:
                    audit.record(
                        db,
                        event,
                        self._clock(),
                        vault_id=vault_id,
                        aead=keys.aead if keys else None,
                        seal_to=seal_to,
                        connection_id=subject,
                        note=note,
                        detail=detail,
                    )
                except CryptoError:  # a damaged public key; the next unlock reports it
                    audit.record(
                        db,
                        event,
                        self._clock(),
                        vault_id=vault_id,
                        connection_id=subject,
                        note="detail not kept: the audit key is unusable",
                    )

    def audit_log(self, limit: int = 100, before: int | None = None) -> list[AuditEvent]:
        """Newest first; page with ``before`` = the smallest ``seq`` already seen."""
        keys = self._require_keys()
        limit = max(1, min(int(limit), 1000))
        # Other processes seal to the public key stored now: check it is still the one this
        # unlock verified, or what they sealed went to whoever swapped it.
        if not _equal(self._header().audit_public or b"", keys.audit_public or b""):
            raise TamperedHeader("the audit public key was replaced")
        rows = self._open().query(
            "SELECT seq, ts, event, connection_id, note, detail, sealed_detail FROM audit "
            "WHERE seq < ? ORDER BY seq DESC LIMIT ?",
            (before if before is not None else 2**62, limit),
        )
        return audit.read(
            rows, vault_id=self._vault_id or "", aead=keys.aead, private_key=keys.audit_private
        )


def _visibility(spec: KindSpec, fields: Iterable[str]) -> dict[str, Visibility]:
    return {f: spec.visibility(f) for f in fields}


def check_password_length(password: object) -> None:
    """Refuse an over-long password before any work is done with it (key derivation, rate
    limiting, a redactor learning it): every face calls this, the vault itself first of all."""
    if isinstance(password, str) and len(password) > PASSWORD_MAX:
        raise PasswordTooLong(PASSWORD_MAX)


def _check_password(password: object) -> None:
    check_password_length(password)
    if not isinstance(password, str):
        raise WeakPassword("a password must be text")
    if len(password) < PASSWORD_MIN:
        raise WeakPassword(f"use at least {PASSWORD_MIN} characters")
    if not password.strip():
        raise WeakPassword("a password cannot be only spaces")
