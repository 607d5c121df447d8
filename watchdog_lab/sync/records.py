"""What one synced record is, and how it is sealed for the server.

A record's plaintext is a small JSON document: a connection (its name, kind and fields), or one
of a bot's files (a notebook version, its log) with the bot's id and name. It is padded to a
multiple of :data:`PAD_BLOCK` bytes, so the server learns a size bucket rather than the length
of a name or a key, and sealed with AES-256-GCM under a key derived from the vault's
data key (``Vault.service_key("sync-record")``). The associated data names the vault, the
record id, the version and whether the row is a tombstone: the server cannot move a ciphertext
to another row, serve it as another version, or turn a live record into a deletion (or back)
without the open failing. Serving an *older* version with its own genuine ciphertext is caught
by the client instead, which remembers the highest version it has seen of every record.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import re
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from ..vault.crypto import NONCE_SIZE, Aead, DecryptionFailed, aad

RECORD_FORMAT = "watchdog-lab/sync/v1"
PAD_BLOCK = 256
KIND_CONNECTION = "connection"
KIND_FILE = "file"
# The only bot files that travel, as paths under the bot's folder: anything else a server
# served would be written nowhere (the path becomes a file name on the pulling home).
FILE_PATHS = {
    "notebooks": re.compile(r"notebook/v[1-9][0-9]{0,8}\.ipynb"),
    "logs": re.compile(r"logs/bot\.jsonl"),
}
_BOT_ID = re.compile(r"[0-9a-f]{32}")
RECORD_KEY_PURPOSE = "sync-record"
DIGEST_KEY_PURPOSE = "sync-digest"


@dataclass(frozen=True)
class Sealed:
    """A record as the server stores it."""

    record_id: str
    version: int
    nonce: bytes
    ciphertext: bytes
    deleted: bool


@dataclass(frozen=True)
class ConnectionRecord:
    """A connection as it travels: everything another home needs to recreate it."""

    name: str
    kind: str
    fields: dict[str, str]

    def to_plain(self) -> dict[str, Any]:
        return {
            "type": KIND_CONNECTION,
            "name": self.name,
            "kind": self.kind,
            "fields": self.fields,
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> ConnectionRecord:
        fields = plain.get("fields")
        if (
            plain.get("type") != KIND_CONNECTION
            or not isinstance(plain.get("name"), str)
            or not isinstance(plain.get("kind"), str)
            or not isinstance(fields, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
        ):
            raise ValueError("not a connection record")
        return cls(plain["name"], plain["kind"], dict(fields))

    def __repr__(self) -> str:  # never the field values
        shown = sorted(self.fields)
        return f"ConnectionRecord(name={self.name!r}, kind={self.kind!r}, fields={shown})"


@dataclass(frozen=True)
class FileRecord:
    """One of a bot's files as it travels (its bytes, its bot, its path in the bot's folder)."""

    collection: str
    bot_id: str
    bot_name: str
    path: str
    content: bytes

    @property
    def name(self) -> str:
        return f"{self.bot_name}/{self.path}"

    def to_plain(self) -> dict[str, Any]:
        return {
            "type": KIND_FILE,
            "collection": self.collection,
            "bot_id": self.bot_id,
            "bot_name": self.bot_name,
            "path": self.path,
            "content": base64.b64encode(self.content).decode(),
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> FileRecord:
        collection, path = plain.get("collection"), plain.get("path")
        pattern = FILE_PATHS.get(collection) if isinstance(collection, str) else None
        bot_id, bot_name = plain.get("bot_id"), plain.get("bot_name")
        if (
            pattern is None
            or not isinstance(path, str)
            or not pattern.fullmatch(path)
            or not isinstance(bot_id, str)
            or not _BOT_ID.fullmatch(bot_id)
            or not isinstance(bot_name, str)
            or not isinstance(plain.get("content"), str)
        ):
            raise ValueError("not a bot file record")
        assert isinstance(collection, str)
        try:
            content = base64.b64decode(plain["content"], validate=True)
        except binascii.Error as exc:
            raise ValueError("not a bot file record") from exc
        return cls(collection, bot_id, bot_name, path, content)

    def __repr__(self) -> str:
        return f"FileRecord({self.name!r}, {len(self.content)} bytes)"


Body = ConnectionRecord | FileRecord


def body_from_plain(plain: Any) -> Body:
    if not isinstance(plain, dict):
        raise ValueError("not a record")
    if plain.get("type") == KIND_FILE:
        return FileRecord.from_plain(plain)
    return ConnectionRecord.from_plain(plain)


def collection_of(body: Body) -> str:
    return body.collection if isinstance(body, FileRecord) else "connections"


def _associated(vault_id: str, record_id: str, version: int, deleted: bool) -> bytes:
    return aad(RECORD_FORMAT, vault_id, record_id, version, "tombstone" if deleted else "live")


def _pad(data: bytes) -> bytes:
    # JSON ignores trailing whitespace, so padding with spaces needs no length prefix.
    return data + b" " * (-len(data) % PAD_BLOCK)


class RecordCipher:
    """Seals and opens records of one vault under its sync keys (derived while unlocked)."""

    def __init__(self, vault_id: str, record_key: bytes, digest_key: bytes) -> None:
        self._vault_id = vault_id
        self._aead = Aead(record_key)
        self._digest_key = digest_key

    def seal(self, record_id: str, version: int, record: Body | None) -> Sealed:
        """A live record, or a tombstone when ``record`` is None."""
        deleted = record is None
        plain = b"" if record is None else json.dumps(record.to_plain(), sort_keys=True).encode()
        nonce = os.urandom(NONCE_SIZE)
        ciphertext = self._aead.seal(
            nonce, _pad(plain), _associated(self._vault_id, record_id, version, deleted)
        )
        return Sealed(record_id, version, nonce, ciphertext, deleted)

    def open(self, sealed: Sealed) -> Body | None:
        """The record (None for a tombstone); raises :class:`DecryptionFailed` if anything of
        the row (id, version, flag, nonce, ciphertext) is not what this vault sealed."""
        associated = _associated(self._vault_id, sealed.record_id, sealed.version, sealed.deleted)
        plain = self._aead.open(bytes(sealed.nonce), bytes(sealed.ciphertext), associated)
        if sealed.deleted:
            if plain.strip():
                raise DecryptionFailed("a tombstone carries no record")
            return None
        try:
            return body_from_plain(json.loads(plain))
        except (ValueError, UnicodeDecodeError) as exc:
            raise DecryptionFailed("the record is not readable") from exc

    def digest(self, record: Body | None) -> str:
        """A keyed fingerprint of a record's content, kept locally to notice edits since the
        last sync (keyed, so the state file reveals nothing about the content)."""
        body = b"" if record is None else json.dumps(record.to_plain(), sort_keys=True).encode()
        return hmac.new(self._digest_key, body, sha256).hexdigest()
