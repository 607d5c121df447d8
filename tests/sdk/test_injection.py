"""The injection codec: a strict round trip, and errors that never quote the payload."""

from __future__ import annotations

import base64
import json
import re
import traceback
from typing import Any

import pytest

from watchdog_lab.sdk import Connection, InjectionError
from watchdog_lab.sdk.injection import (
    FD_ENV_VAR,
    MAX_ENCODED_CHARS,
    decode_connections,
    encode_connections,
)

from .conftest import KEY_ID, PEM, make_connection

SECRET = "SECRET-value-1234567890"
NAME = "Exchange-Name-77"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def encode_document(document: Any) -> str:
    return b64url(json.dumps(document).encode("utf-8"))


def good_item(**overrides: Any) -> dict[str, Any]:
    item = {
        "name": NAME,
        "kind": "custom",
        "fields": {"key": SECRET, "region": "eu"},
        "visibility": {"region": "public"},
    }
    item.update(overrides)
    return item


def test_round_trip_keeps_names_kinds_fields_and_visibility() -> None:
    original = [make_connection(), Connection("Other", "binance", {"api_key": SECRET})]
    decoded = decode_connections(encode_connections(original))
    assert [(c.name, c.kind, c.field_names) for c in decoded] == [
        (c.name, c.kind, c.field_names) for c in original
    ]
    assert decoded[0].private_key_pem == PEM and decoded[0].api_key_id == KEY_ID
    assert decoded[1]["api_key"] == SECRET
    assert dict(decoded[0].visibility) == dict(original[0].visibility)


def test_encoded_text_is_unpadded_base64url_with_no_value_in_clear() -> None:
    text = encode_connections([make_connection(), Connection("O", "x", {"k": SECRET + "?>>"})])
    assert re.fullmatch(r"[A-Za-z0-9_-]+", text)
    assert SECRET not in text and KEY_ID not in text


def test_decodes_the_documented_format_written_by_hand() -> None:
    text = encode_document({"v": 1, "connections": [good_item()]})
    [conn] = decode_connections(text)
    assert (conn.name, conn.kind, conn.key, conn.region) == (NAME, "custom", SECRET, "eu")
    assert repr(conn) == f"Connection(name={NAME!r}, kind='custom', key='***', region='eu')"


def test_an_empty_connection_list_decodes_to_nothing() -> None:
    assert decode_connections(encode_document({"v": 1, "connections": []})) == []


def test_non_ascii_values_survive_the_round_trip() -> None:
    conn = Connection("Börse", "custom", {"secret": "pässwörd-ключ-🔑"})
    [decoded] = decode_connections(encode_connections([conn]))
    assert decoded.name == "Börse" and decoded.secret == "pässwörd-ключ-🔑"


def test_another_format_version_is_refused_naming_the_versions() -> None:
    text = encode_document({"v": 2, "connections": [good_item()]})
    with pytest.raises(InjectionError, match=r"format version 2.*version 1 only"):
        decode_connections(text)


# case: (payload, the reason the message must give)
MALFORMED: dict[str, tuple[str, str]] = {
    "not base64url": ("%%%" + SECRET, "not base64url"),
    "impossible base64 length": (b64url(SECRET.encode())[:5], "not base64url"),
    "padding characters": (b64url(json.dumps({"v": 1, "k": SECRET}).encode()) + "==", "base64url"),
    "not utf-8": (b64url(b"\xff\xfe" + SECRET.encode()), "UTF-8"),
    "not json": (b64url(f"{{v: 1, {SECRET}".encode()), "not decode to JSON"),
    "json array": (encode_document([SECRET]), "not an object"),
    "no version": (encode_document({"connections": [good_item()]}), 'format version "v"'),
    "boolean version": (
        encode_document({"v": True, "connections": [good_item()]}),
        'format version "v"',
    ),
    "extra top-level key": (
        encode_document({"v": 1, "connections": [], SECRET: 1}),
        'exactly the keys "v" and "connections"',
    ),
    "connections not a list": (
        encode_document({"v": 1, "connections": {NAME: SECRET}}),
        '"connections" is not a list',
    ),
    "item not an object": (
        encode_document({"v": 1, "connections": [SECRET]}),
        "connection #1 is not a JSON object",
    ),
    "item missing fields": (
        encode_document({"v": 1, "connections": [{"name": NAME, "kind": "k", "visibility": {}}]}),
        "connection #1 must have exactly the keys",
    ),
    "item with extra key": (
        encode_document({"v": 1, "connections": [good_item(extra=SECRET)]}),
        "connection #1 must have exactly the keys",
    ),
    "empty name": (
        encode_document({"v": 1, "connections": [good_item(name=" ")]}),
        '"name" is not a non-empty string',
    ),
    "non-string value": (
        encode_document({"v": 1, "connections": [good_item(fields={"key": [SECRET]})]}),
        '"fields" does not map non-empty names to strings',
    ),
    "visibility for a missing field": (
        encode_document({"v": 1, "connections": [good_item(visibility={SECRET: "public"})]}),
        "names a field that has no value",
    ),
    "unknown visibility level": (
        encode_document({"v": 1, "connections": [good_item(visibility={"key": SECRET})]}),
        "level is not one of hint, public, secret",
    ),
    "names equal ignoring case": (
        encode_document({"v": 1, "connections": [good_item(), good_item(name=NAME.upper())]}),
        "connection #2 has the same name as an earlier one",
    ),
    "repeated json key": (
        b64url(
            (
                f'{{"v":1,"connections":[{{"name":"{NAME}","kind":"k",'
                f'"fields":{{"key":"{SECRET}","key":"x"}},"visibility":{{}}}}]}}'
            ).encode()
        ),
        "repeats a key",
    ),
    "deeply nested json": (
        b64url(("[" * 100_000 + "]" * 100_000).encode()),
        "nested too deeply",
    ),
}


@pytest.mark.parametrize(("text", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_raises_injection_error_giving_the_reason_without_quoting_it(
    text: str, reason: str
) -> None:
    with pytest.raises(InjectionError) as caught:
        decode_connections(text)
    message = str(caught.value)
    assert message.startswith("The connection injection is unusable: ")
    assert reason in message
    for fragment in (SECRET, NAME, NAME.upper(), text[:40]):
        assert fragment not in message


@pytest.mark.parametrize(("text", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_stays_out_of_tracebacks_with_locals(text: str, reason: str) -> None:
    with pytest.raises(InjectionError, match=re.escape(reason)) as caught:
        decode_connections(text)
    error = caught.value
    assert error.__cause__ is None and error.__context__ is None
    # The SDK's own frames, below this test's frame (which of course holds ``text``).
    rendered = frames_below_test(error)
    assert "decode_connections" in rendered  # the frames really were rendered
    for fragment in (SECRET, NAME, text[:40]):
        assert fragment not in rendered


def test_the_error_names_its_origin() -> None:
    with pytest.raises(InjectionError, match=r"^The connection hand-over .* is unusable"):
        decode_connections("%", origin=f"the connection hand-over ({FD_ENV_VAR}=5)")


def frames_below_test(error: BaseException) -> str:
    """The traceback of ``error`` with locals, from the frame below the test function down."""
    assert error.__traceback__ is not None
    below_test = traceback.walk_tb(error.__traceback__.tb_next)
    return "".join(traceback.StackSummary.extract(below_test, capture_locals=True).format())


def test_encoding_refuses_names_equal_ignoring_case() -> None:
    conns = [Connection("Kalshi", "k", {"key": SECRET}), Connection("KALSHI", "kalshi", {})]
    with pytest.raises(InjectionError, match="named 'KALSHI'") as caught:
        encode_connections(conns)
    rendered = frames_below_test(caught.value)
    assert "_check_encodable" in rendered and SECRET not in rendered


def test_encoding_refuses_more_than_one_process_is_handed() -> None:
    bulky = [Connection(f"c{i}", "x", {"pem": SECRET + "k" * 4000}) for i in range(200)]
    with pytest.raises(InjectionError, match="grant fewer connections") as caught:
        encode_connections(bulky)
    assert str(MAX_ENCODED_CHARS) in str(caught.value)
    rendered = frames_below_test(caught.value)
    assert "encode_connections" in rendered
    assert SECRET not in rendered and b64url(SECRET.encode())[:20] not in rendered


def test_the_largest_payload_that_fits_is_accepted() -> None:
    # Just under the limit: one connection whose encoding is MAX_ENCODED_CHARS characters or less.
    overhead = len(encode_connections([Connection("c", "x", {"pem": ""})]))
    value_chars = (MAX_ENCODED_CHARS - overhead) * 3 // 4
    text = encode_connections([Connection("c", "x", {"pem": "k" * value_chars})])
    assert MAX_ENCODED_CHARS - 4 <= len(text) <= MAX_ENCODED_CHARS


def test_the_size_cap_is_a_mebibyte_not_an_environment_variable_limit() -> None:
    # A pipe has no size limit; the cap only bounds a reader's memory, and is far above the
    # 128 KiB Linux allows one environment string (the old hand-over's limit).
    assert MAX_ENCODED_CHARS == 1024 * 1024
    assert encode_connections([Connection("c", "x", {"pem": "k" * 200_000})])


def test_encoding_refuses_items_that_are_not_connections() -> None:
    with pytest.raises(TypeError, match=r"#1 .* dict"):
        encode_connections([{"name": NAME, "fields": {"key": SECRET}}])  # type: ignore[list-item]
