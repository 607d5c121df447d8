"""The snapshot file: every change to it is caught, and nothing in it is readable."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import pytest

from watchdog_lab.backup import key_from_vault
from watchdog_lab.backup.format import MAGIC

from .conftest import BOT_NAME, CONNECTION_NAME, PASSWORD, SECRET, TOKEN, Populated

_HEAD = struct.Struct(">I")


def records(data: bytes) -> tuple[int, list[tuple[int, int]]]:
    """(where records start, [(offset, total length) of each record])."""
    (size,) = _HEAD.unpack_from(data, len(MAGIC))
    pos = start = len(MAGIC) + 4 + size
    out = []
    while pos < len(data):
        (length,) = _HEAD.unpack_from(data, pos + 1)
        out.append((pos, 5 + length))
        pos += 5 + length
    return start, out


@pytest.fixture
def snapshot(populated: Populated) -> tuple[Populated, str, Path]:
    backup = populated.manager.create(key_from_vault(populated.vault))
    return populated, backup.id, populated.manager.path_of(backup.id)


def _verify(populated: Populated, backup_id: str) -> tuple[bool, list[str]]:
    result = populated.manager.verify(backup_id, key_from_vault(populated.vault))
    return result.ok, result.problems


def test_an_untouched_snapshot_verifies(snapshot: tuple[Populated, str, Path]) -> None:
    populated, backup_id, _ = snapshot
    result = populated.manager.verify(backup_id, key_from_vault(populated.vault))
    assert result.ok and result.problems == []
    # vault.db, and per bot: bot.json, packages.lock, 2 notebooks + 2 seals, 3 state files
    assert result.checked_files == 1 + 2 * (2 + 4 + 3)


def test_a_flipped_byte_is_named_by_verify(snapshot: tuple[Populated, str, Path]) -> None:
    populated, backup_id, path = snapshot
    data = bytearray(path.read_bytes())
    _, recs = records(bytes(data))
    # The record before the manifest is the last chunk of the last file written: the second
    # bot's state/z-last.bin (bots are written in id order).
    last_bot = max(b.id for b in populated.bots)
    offset, length = recs[-2]
    data[offset + length // 2] ^= 0x40
    path.write_bytes(bytes(data))

    ok, problems = _verify(populated, backup_id)
    assert not ok
    assert f"bots/{last_bot}/state/z-last.bin" in problems[0]
    assert "failed authentication" in problems[0]


def test_a_changed_header_fails_verification(snapshot: tuple[Populated, str, Path]) -> None:
    populated, backup_id, path = snapshot
    data = path.read_bytes()
    tampered = data.replace(b'"reason": "manual"', b'"reason": "daily" ', 1)
    assert tampered != data
    path.write_bytes(tampered)
    ok, problems = _verify(populated, backup_id)
    assert not ok and "record 0" in problems[0]


def test_a_truncated_snapshot_fails_verification(snapshot: tuple[Populated, str, Path]) -> None:
    populated, backup_id, path = snapshot
    data = path.read_bytes()
    _, recs = records(data)
    path.write_bytes(data[: recs[-1][0]])  # cut exactly before the manifest
    ok, problems = _verify(populated, backup_id)
    assert not ok and "truncated" in problems[0]


@pytest.mark.parametrize("change", ["drop", "swap", "duplicate"])
def test_dropped_swapped_or_repeated_records_fail(
    snapshot: tuple[Populated, str, Path], change: str
) -> None:
    populated, backup_id, path = snapshot
    data = path.read_bytes()
    start, recs = records(data)
    parts = [data[o : o + n] for o, n in recs]
    i = len(parts) // 2
    if change == "drop":
        del parts[i]
    elif change == "swap":
        parts[i], parts[i + 1] = parts[i + 1], parts[i]
    else:
        parts.insert(i, parts[i])
    path.write_bytes(data[:start] + b"".join(parts))
    ok, _ = _verify(populated, backup_id)
    assert not ok


def test_bytes_after_the_manifest_fail(snapshot: tuple[Populated, str, Path]) -> None:
    populated, backup_id, path = snapshot
    path.write_bytes(path.read_bytes() + b"\x00")
    ok, problems = _verify(populated, backup_id)
    assert not ok and "follow the manifest" in problems[0]


def test_a_record_from_another_snapshot_fails(snapshot: tuple[Populated, str, Path]) -> None:
    populated, backup_id, path = snapshot
    other = populated.manager.path_of(populated.manager.create(key_from_vault(populated.vault)).id)
    data, foreign = path.read_bytes(), other.read_bytes()
    _, recs = records(data)
    _, foreign_recs = records(foreign)
    o, n = recs[3]
    fo, fn = foreign_recs[3]
    path.write_bytes(data[:o] + foreign[fo : fo + fn] + data[o + n :])
    ok, _ = _verify(populated, backup_id)
    assert not ok


def test_no_name_value_or_password_is_in_the_file(snapshot: tuple[Populated, str, Path]) -> None:
    populated, _, path = snapshot
    raw = path.read_bytes()
    state = populated.bots[0].state["positions.json"]
    for plain in (TOKEN, SECRET, CONNECTION_NAME, PASSWORD, BOT_NAME, "positions.json"):
        value = plain.encode()
        spellings = [value, value.hex().encode(), value.hex().upper().encode()]
        spellings.append(value.decode().encode("utf-16-le"))
        for shift in range(3):  # base64 at each alignment: the characters no neighbour touches
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                spellings.append(encode(b"\0" * shift + value)[4:-4])
        for spelling in spellings:
            assert spelling[:16] not in raw, plain
    assert state not in raw
