"""Hostile input on the routes: refused with a clear 4xx, nothing stored, nothing crashed.

"Nothing stored" is checked the way a user would notice it: the connection list is unchanged
and the vault still locks and reopens with its password.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from watchdog_lab.vault import CreateConnection

from .conftest import route_samples

PASSWORD = "correct horse battery staple"
SECRET = "sk-test-5f0c1a9e8b7d6c4e3a2b1908f7e6d5c4"

HOSTILE_NAMES = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "x'; DROP TABLE connections; --",
    '" OR 1=1 --',
    "../../etc/passwd",
    "..",
    "/etc/passwd",
    "C:\\Windows\\system32",
    "a/b",
    "K\u0430lshi",  # a Cyrillic letter that looks like "Kalshi"
    "Kalshi\u202egnp.exe",  # right-to-left override
    "Kal\u200bshi",  # zero-width space
    "\uff2b\uff41\uff4c\uff53\uff48\uff49",  # fullwidth "Kalshi"
    "Kalshi\x00",
    "Kalshi\n",
    "e\u0301",  # combining accent
    " leading-space",
    "trailing-space ",
    "",
    "x" * 65,
    "%2e%2e%2f",
]


@pytest.fixture
def vault(watchdog_app):  # type: ignore[no-untyped-def]
    """The server's vault, unlocked, holding one connection."""
    vault = watchdog_app.vault
    vault.create(PASSWORD)
    vault.add_connection(CreateConnection(name="Keep", kind="generic", fields={"k": SECRET}))
    return vault


async def assert_untouched(api, vault) -> None:  # type: ignore[no-untyped-def]
    """One connection, 'Keep', still there and still readable after a lock and an unlock."""
    listing = await api.get("connections")
    assert [c["name"] for c in listing.json["connections"]] == ["Keep"]
    vault.lock()
    vault.unlock(PASSWORD)
    assert vault.get_connection("Keep").fields == {"k": SECRET}


def assert_clear_refusal(answer, *codes: int) -> None:  # type: ignore[no-untyped-def]
    assert answer.code in codes, (answer.code, answer.text)
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json
    assert isinstance(body["message"], str) and len(body["message"]) > 10
    assert isinstance(body["reason"], str) and body["reason"]


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_a_hostile_name_is_refused_at_create(api, vault, name: str) -> None:
    answer = await api.post("connections", {"name": name, "kind": "generic", "fields": {"a": "b"}})
    assert_clear_refusal(answer, 422)
    assert answer.json["reason"] == "invalid_name"
    await assert_untouched(api, vault)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_a_hostile_new_name_is_refused_at_rename(api, vault, name: str) -> None:
    answer = await api.post("connections/Keep/rename", {"new_name": name})
    assert_clear_refusal(answer, 422)
    await assert_untouched(api, vault)


@pytest.mark.parametrize("name", [n for n in HOSTILE_NAMES if n])
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_a_hostile_name_in_the_url_is_refused(api, vault, name: str, method: str) -> None:
    body = {"fields": {"k": "x"}} if method == "PATCH" else None
    answer = await api.call(method, f"connections/{quote(name, safe='')}", body)
    assert_clear_refusal(answer, 400, 404, 422)
    await assert_untouched(api, vault)


@pytest.mark.parametrize("raw", ["%FF%FE", "%ZZ", "%252F", "a%2Fb", "%00"])
async def test_malformed_url_escapes_are_refused(api, vault, raw: str) -> None:
    answer = await api.get(f"connections/{raw}")
    assert_clear_refusal(answer, 400, 404, 422)


async def test_the_img_onerror_name_is_refused_and_sent_back_inert(api, vault) -> None:
    name = "<img src=x onerror=alert(1)>"
    answer = await api.post("connections", {"name": name, "kind": "generic", "fields": {"a": "b"}})
    assert answer.json["reason"] == "invalid_name"
    assert answer.headers["Content-Type"].startswith("application/json")
    assert "<img" not in answer.text
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in answer.text


async def test_a_valid_name_round_trips_as_json_text(api, vault) -> None:
    name = "Kalshi prod-1.v2_x"
    created = await api.post("connections", {"name": name, "kind": "generic", "fields": {"a": "b"}})
    assert created.code == 201
    fetched = await api.get(f"connections/{quote(name, safe='')}")
    assert fetched.headers["Content-Type"].startswith("application/json")
    assert fetched.json["name"] == name
    assert json.loads(fetched.text) == fetched.json


async def test_markup_in_a_public_field_comes_back_escaped(api, vault) -> None:
    markup = "</script><script>alert(1)</script>"
    created = await api.post(
        "connections",
        {"name": "Wallet", "kind": "ccxt:binance", "fields": {"walletAddress": markup}},
    )
    assert created.code == 201
    assert "<" not in created.text and ">" not in created.text
    assert created.json["fields"]["walletAddress"] == markup


# --- bodies ------------------------------------------------------------------------------

BAD_BODIES = {
    "not json": (b"password=hunter2", 400),
    "truncated json": (b'{"name": "x"', 400),
    "invalid utf-8": (b'{"name": "\xff\xfe"}', 400),
    "duplicate keys": (b'{"name": "A", "name": "B", "kind": "generic"}', 400),
    "NaN": (b'{"name": NaN}', 400),
    "deep nesting": (b"[" * 100_000 + b"]" * 100_000, 400),
    "array": (b"[]", 422),
    "string": (b'"x"', 422),
    "number": (b"1", 422),
    "null": (b"null", 422),
}


@pytest.mark.parametrize("label", list(BAD_BODIES))
async def test_a_body_that_is_not_a_json_object_is_refused(api, vault, label: str) -> None:
    raw, code = BAD_BODIES[label]
    answer = await api.call("POST", "connections", raw=raw)
    assert_clear_refusal(answer, code)
    await assert_untouched(api, vault)


WRONG_SHAPES = [
    ("POST", "connections", {"name": 123, "kind": "generic", "fields": {"a": "b"}}),
    ("POST", "connections", {"name": "A", "kind": ["generic"], "fields": {"a": "b"}}),
    ("POST", "connections", {"name": "A", "kind": "generic", "fields": "a=b"}),
    ("POST", "connections", {"name": "A", "kind": "generic", "fields": {"a": 1}}),
    ("POST", "connections", {"name": "A", "kind": "generic", "fields": {"a": None}}),
    ("POST", "connections", {"name": "A", "kind": "generic", "fields": {"a": "b"}, "x": 1}),
    ("POST", "connections", {"kind": "generic"}),
    ("PATCH", "connections/Keep", {"fields": {"k": "v"}, "replace": "true"}),
    ("PATCH", "connections/Keep", {"fields": {"k": "v"}, "replace": 1}),
    ("PATCH", "connections/Keep", {"fieldz": {"k": "v"}}),
    ("POST", "connections/Keep/rename", {"new_name": ["x"]}),
    ("POST", "connections/Keep/rename", {}),
    ("DELETE", "connections/Keep", {"force": True}),
    ("POST", "vault/lock", {"now": True}),
    ("POST", "vault/unlock", {"password": 12345678}),
    ("POST", "vault/unlock", {"password": PASSWORD, "totp_code": 123456}),
    ("POST", "vault/password", {"old_password": PASSWORD}),
    ("POST", "vault/totp/confirm", {"secret": "X", "code": 123456}),
    ("DELETE", "vault/totp", {"code": 123456}),
    ("POST", "vault", {"password": PASSWORD}),  # a vault exists: 409, not a second one
]


@pytest.mark.parametrize(("method", "path", "body"), WRONG_SHAPES)
async def test_a_wrongly_shaped_body_is_refused(api, vault, method, path, body) -> None:
    answer = await api.call(method, path, body)
    assert_clear_refusal(answer, 409, 422)
    await assert_untouched(api, vault)


async def test_a_refusal_names_the_field_but_never_echoes_its_value(api, vault) -> None:
    answer = await api.post("vault/unlock", {"password": ["hunter2-in-a-list"]})
    assert answer.code == 422
    assert "'password' must be a string" in answer.json["message"]
    assert "hunter2" not in answer.text


async def test_an_unknown_field_is_named_in_the_refusal(api, vault) -> None:
    answer = await api.post("vault/lock", {"lock_forever": True})
    assert answer.code == 422
    assert "'lock_forever' is not an accepted field" in answer.json["message"]


async def test_a_body_over_the_limit_is_a_413(api, vault) -> None:
    huge = json.dumps({"name": "Big", "kind": "generic", "fields": {"a": "x" * (2 * 2**20)}})
    answer = await api.call("POST", "connections", raw=huge)
    assert_clear_refusal(answer, 413)
    await assert_untouched(api, vault)


async def test_a_value_over_the_field_limit_is_a_422(api, vault) -> None:
    answer = await api.post(
        "connections", {"name": "Big", "kind": "generic", "fields": {"a": "x" * 70_000}}
    )
    assert_clear_refusal(answer, 422)
    await assert_untouched(api, vault)


async def test_too_many_fields_are_refused(api, vault) -> None:
    fields = {f"f{n}": "value" for n in range(40)}
    answer = await api.post("connections", {"name": "Many", "kind": "generic", "fields": fields})
    assert_clear_refusal(answer, 422)
    await assert_untouched(api, vault)


# --- every route of the extension --------------------------------------------------------

WRITES = [(s, m) for s in route_samples() for m in s.methods if m != "GET"]


@pytest.mark.parametrize(("sample", "method"), WRITES, ids=[f"{m} {s.api_path}" for s, m in WRITES])
@pytest.mark.parametrize(
    "raw",
    [b"not json at all", b'{"a": 1, "a": 2}', b"[1, 2]", b'{"unexpected_field": "x"}'],
    ids=["not-json", "duplicate-key", "array", "unknown-field"],
)
async def test_every_write_route_refuses_garbage_with_a_4xx(
    api, vault, sample, method, raw: bytes
) -> None:
    answer = await api.call(method, sample.api_path, raw=raw)
    assert 400 <= answer.code < 500, (answer.code, answer.text)
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json["message"]
    await assert_untouched(api, vault)


@pytest.mark.parametrize(("sample", "method"), WRITES, ids=[f"{m} {s.api_path}" for s, m in WRITES])
async def test_every_write_route_refuses_an_oversized_body(api, vault, sample, method) -> None:
    answer = await api.call(method, sample.api_path, raw=b" " * (2**20 + 1))
    assert answer.code == 413, (answer.code, answer.text)
