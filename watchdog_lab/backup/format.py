"""The snapshot file: one clear header, then AES-256-GCM records, then a sealed manifest.

Layout::

    MAGIC (8 bytes) | header length (u32, big-endian) | header (JSON, UTF-8)
    record*: kind (1 byte) | length (u32) | nonce || ciphertext || tag
    kinds:   E an entry (JSON: path, type, mode), C a chunk of the entry's bytes,
             L the entry's last chunk (an empty file has one empty L), M the manifest (last)

The header is in clear so a backup can be listed without a key, and so that it can carry what
opens it with a password: the vault's data key wrapped under the password key, with the salt
and Argon2id costs, exactly as the vault header stored them when the snapshot was made. Every
record's associated data names the format, the SHA-256 of the header bytes (so no header field
can be changed), the snapshot id and creation time, the record's sequence number and kind, and
for chunks the entry's path and the chunk's index: a record moved, swapped, dropped, duplicated
or taken from another snapshot fails authentication. The manifest counts the records and entries
and hashes every entry's description; nothing may follow it, and a file that ends before it is
truncated. Paths and file contents are inside records: the clear header names no connection,
bot or file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from ..vault.crypto import NONCE_SIZE, TAG_SIZE, Aead, DecryptionFailed, aad

__all__ = [
    "CHUNK_SIZE",
    "MAGIC",
    "Header",
    "SnapshotFormatError",
    "SnapshotSink",
    "SnapshotWriter",
    "read_header",
    "read_snapshot",
]

MAGIC = b"WDLBKUP1"
FORMAT = 1
AAD_LABEL = "watchdog-lab/backup/v1"
KEY_CHECK_LABEL = "watchdog-lab/backup/v1/key-check"
#: Plaintext bytes per chunk record: memory per backup stays about this, whatever the sizes.
CHUNK_SIZE = 1024 * 1024
#: A header is a few hundred bytes; anything near this limit is not one of ours.
HEADER_MAX = 64 * 1024
#: An entry or manifest record is small JSON; chunks are at most CHUNK_SIZE plus a kind byte.
RECORD_MAX = CHUNK_SIZE + 1 + NONCE_SIZE + TAG_SIZE
_LENGTH = struct.Struct(">I")
KIND_ENTRY, KIND_CHUNK, KIND_LAST, KIND_MANIFEST = b"E", b"C", b"L", b"M"
_KINDS = {KIND_ENTRY, KIND_CHUNK, KIND_LAST, KIND_MANIFEST}


class SnapshotFormatError(Exception):
    """The file is not a readable snapshot: the message names where and what failed."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise SnapshotFormatError(f"header field {what} is not text")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise SnapshotFormatError(f"header field {what} is not base64") from exc


@dataclass(frozen=True)
class Header:
    """What a snapshot says about itself in clear (authenticated by every record)."""

    snapshot_id: str
    created_at: float
    reason: str
    vault_id: str
    vault_format: int
    kdf: str
    salt: bytes
    wrapped_dek: bytes
    key_check: bytes

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "id": self.snapshot_id,
                "created_at": self.created_at,
                "reason": self.reason,
                "vault": {
                    "vault_id": self.vault_id,
                    "format_version": self.vault_format,
                    "kdf": self.kdf,
                    "salt": _b64(self.salt),
                    "wrapped_dek": _b64(self.wrapped_dek),
                },
                "key_check": _b64(self.key_check),
            },
            sort_keys=True,
        ).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> Header:
        try:
            data = json.loads(raw.decode("utf-8"))
            vault = data["vault"]
            if data["format"] != FORMAT:
                raise SnapshotFormatError(f"unknown snapshot format {data['format']!r}")
            header = cls(
                snapshot_id=str(data["id"]),
                created_at=float(data["created_at"]),
                reason=str(data["reason"]),
                vault_id=str(vault["vault_id"]),
                vault_format=int(vault["format_version"]),
                kdf=str(vault["kdf"]),
                salt=_unb64(vault["salt"], "salt"),
                wrapped_dek=_unb64(vault["wrapped_dek"], "wrapped_dek"),
                key_check=_unb64(data["key_check"], "key_check"),
            )
        except SnapshotFormatError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise SnapshotFormatError("the header is unreadable") from exc
        return header


def key_check(key: bytes, snapshot_id: str) -> bytes:
    """A MAC that tells "wrong key" from "damaged file" before any record is read."""
    return hmac.new(key, aad(KEY_CHECK_LABEL, snapshot_id), hashlib.sha256).digest()


def key_matches(key: bytes, header: Header) -> bool:
    return hmac.compare_digest(key_check(key, header.snapshot_id), header.key_check)


def read_header(stream: BinaryIO) -> tuple[Header, bytes]:
    """The header and its exact bytes (their digest is in every record's associated data)."""
    if stream.read(len(MAGIC)) != MAGIC:
        raise SnapshotFormatError("not a WatchDog Lab backup (bad magic bytes)")
    size_raw = stream.read(_LENGTH.size)
    if len(size_raw) != _LENGTH.size:
        raise SnapshotFormatError("the header is truncated")
    (size,) = _LENGTH.unpack(size_raw)
    if size > HEADER_MAX:
        raise SnapshotFormatError("the header is too large")
    raw = stream.read(size)
    if len(raw) != size:
        raise SnapshotFormatError("the header is truncated")
    return Header.from_bytes(raw), raw


class _Binding:
    """The associated data shared by every record of one snapshot."""

    def __init__(self, header: Header, header_raw: bytes) -> None:
        self._prefix = (
            AAD_LABEL,
            hashlib.sha256(header_raw).digest(),
            header.snapshot_id,
            repr(header.created_at),
        )

    def record(self, seq: int, kind: bytes, path: str = "", chunk: int = -1) -> bytes:
        return aad(*self._prefix, seq, kind, path, chunk)


class _EntryDigest:
    """The manifest's running hash of every entry's description, in order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.count = 0

    def add(self, description: bytes) -> None:
        self._hash.update(_LENGTH.pack(len(description)) + description)
        self.count += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class SnapshotWriter:
    """Writes one snapshot to ``stream`` (already positioned at its start), one record at a
    time: memory holds one chunk, whatever the size of what is backed up."""

    def __init__(self, stream: BinaryIO, header: Header, key: bytes) -> None:
        self._stream = stream
        self._aead = Aead(key)
        raw = header.to_bytes()
        self._binding = _Binding(header, raw)
        self._seq = 0
        self._entries = _EntryDigest()
        self.data_bytes = 0
        stream.write(MAGIC + _LENGTH.pack(len(raw)) + raw)

    def _record(self, kind: bytes, plaintext: bytes, path: str = "", chunk: int = -1) -> None:
        blob = self._aead.encrypt(plaintext, self._binding.record(self._seq, kind, path, chunk))
        self._stream.write(kind + _LENGTH.pack(len(blob)) + blob)
        self._seq += 1

    def _entry(self, path: str, kind: str, mode: int) -> None:
        description = json.dumps({"path": path, "type": kind, "mode": mode}).encode("utf-8")
        self._entries.add(description)
        self._record(KIND_ENTRY, description)

    def add_dir(self, path: str, mode: int = 0o700) -> None:
        self._entry(path, "dir", mode)

    def add_file(self, path: str, read: Callable[[int], bytes], mode: int = 0o600) -> int:
        """Stream a file through ``read(n)`` (until it returns b""); returns its size."""
        self._entry(path, "file", mode)
        index, size = 0, 0
        chunk = read(CHUNK_SIZE)
        while True:
            following = read(CHUNK_SIZE) if chunk else b""
            kind = KIND_CHUNK if following else KIND_LAST
            self._record(kind, chunk, path, index)
            size += len(chunk)
            index += 1
            if not following:
                break
            chunk = following
        self.data_bytes += size
        return size

    def finish(self) -> None:
        manifest = {
            "entries": self._entries.count,
            "entries_sha256": self._entries.hexdigest(),
            "records": self._seq,
            "data_bytes": self.data_bytes,
        }
        self._record(KIND_MANIFEST, json.dumps(manifest, sort_keys=True).encode("utf-8"))


class SnapshotSink(Protocol):
    """Where :func:`read_snapshot` puts what it decrypts (nothing, for a verify)."""

    def add_dir(self, path: str, mode: int) -> None: ...

    def begin_file(self, path: str, mode: int) -> None: ...

    def write(self, data: bytes) -> None: ...

    def end_file(self) -> None: ...


class NullSink:
    def add_dir(self, path: str, mode: int) -> None:
        pass

    def begin_file(self, path: str, mode: int) -> None:
        pass

    def write(self, data: bytes) -> None:
        pass

    def end_file(self) -> None:
        pass


@dataclass
class ReadReport:
    entries: int
    files: int
    data_bytes: int


def _read_record(stream: BinaryIO, seq: int) -> tuple[bytes, bytes] | None:
    """(kind, blob) of the next record, or None at a clean end of file."""
    head = stream.read(1 + _LENGTH.size)
    if not head:
        return None
    if len(head) != 1 + _LENGTH.size:
        raise SnapshotFormatError(f"record {seq} is truncated")
    kind, (length,) = head[:1], _LENGTH.unpack(head[1:])
    if kind not in _KINDS:
        raise SnapshotFormatError(f"record {seq} has an unknown kind")
    if not NONCE_SIZE + TAG_SIZE <= length <= RECORD_MAX:
        raise SnapshotFormatError(f"record {seq} has an impossible length")
    blob = stream.read(length)
    if len(blob) != length:
        raise SnapshotFormatError(f"record {seq} is truncated")
    return kind, blob


def read_snapshot(
    stream: BinaryIO,
    header: Header,
    header_raw: bytes,
    key: bytes,
    sink: SnapshotSink,
    check_path: Callable[[str, str], None] | None = None,
) -> ReadReport:
    """Decrypt and check every record after the header, handing entries to ``sink``.

    Raises :class:`SnapshotFormatError` at the first record that fails, naming it (and the
    file it belongs to, once that file's entry decrypted). ``check_path(path, type)`` may refuse
    an entry (restore refuses paths outside what a snapshot may hold).
    """
    aead = Aead(key)
    binding = _Binding(header, header_raw)
    entries = _EntryDigest()
    seq, files, data_bytes = 0, 0, 0
    current: str | None = None  # the file whose chunks come next
    chunk = 0

    def open_record(kind: bytes, blob: bytes, path: str = "", index: int = -1) -> bytes:
        try:
            return aead.decrypt(blob, binding.record(seq, kind, path, index))
        except DecryptionFailed:
            where = f"{path} (chunk {index})" if path else f"record {seq}"
            raise SnapshotFormatError(
                f"{where} failed authentication: changed, damaged, moved or from another snapshot"
            ) from None

    while True:
        record = _read_record(stream, seq)
        if record is None:
            raise SnapshotFormatError(
                f"the file ends after record {seq - 1} without its manifest (truncated)"
            )
        kind, blob = record
        if current is not None:
            if kind not in (KIND_CHUNK, KIND_LAST):
                raise SnapshotFormatError(f"{current}: its data ends early (record {seq})")
            data = open_record(kind, blob, current, chunk)
            sink.write(data)
            data_bytes += len(data)
            chunk += 1
            if kind == KIND_LAST:
                sink.end_file()
                current = None
        elif kind == KIND_ENTRY:
            plain = open_record(kind, blob)
            entries.add(plain)
            try:
                entry = json.loads(plain)
                path, type_, mode = str(entry["path"]), entry["type"], int(entry["mode"]) & 0o777
            except (ValueError, KeyError, TypeError) as exc:
                raise SnapshotFormatError(f"record {seq} is not an entry") from exc
            if type_ not in ("dir", "file"):
                raise SnapshotFormatError(f"record {seq} has an unknown entry type")
            if check_path is not None:
                check_path(path, type_)
            if type_ == "dir":
                sink.add_dir(path, mode)
            else:
                sink.begin_file(path, mode)
                files += 1
                current, chunk = path, 0
        elif kind == KIND_MANIFEST:
            manifest = json.loads(open_record(kind, blob))
            expected = {
                "entries": entries.count,
                "entries_sha256": entries.hexdigest(),
                "records": seq,
                "data_bytes": data_bytes,
            }
            if manifest != expected:
                raise SnapshotFormatError("the manifest does not match the records read")
            if stream.read(1):
                raise SnapshotFormatError("bytes follow the manifest")
            return ReadReport(entries=entries.count, files=files, data_bytes=data_bytes)
        else:
            raise SnapshotFormatError(f"record {seq} is a chunk outside any file")
        seq += 1


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
