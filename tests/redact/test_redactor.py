"""The Redactor's promises: every spelling of a known value goes, and it is safe to share."""

from __future__ import annotations

import base64
import copy
import json
import pickle
import random
import re
import string
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from watchdog_lab.redact import (
    InvalidSecretError,
    Redactor,
    RedactorNotSerializableError,
    get_redactor,
)

SECRET = "q7/Vx+k9=Zr2&mWp ü"  # base64-, URL- and JSON-hostile, and not ASCII
MARK = "[REDACTED:kalshi.api_secret]"


def _pem_key(seed: int) -> str:
    body = base64.b64encode(random.Random(seed).randbytes(600)).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


ENCODINGS: list[tuple[str, Callable[[str], str]]] = [
    ("raw", lambda v: v),
    ("base64", lambda v: _b64(v.encode())),
    ("base64 unpadded", lambda v: _b64(v.encode()).rstrip("=")),
    ("base64url", lambda v: base64.urlsafe_b64encode(v.encode()).decode()),
    ("base64url unpadded", lambda v: base64.urlsafe_b64encode(v.encode()).decode().rstrip("=")),
    ("url", lambda v: quote(v, safe="")),
    ("url lower hex", lambda v: re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), quote(v, safe=""))),
    ("url plus", lambda v: quote_plus(v)),
    ("json", lambda v: json.dumps(v)[1:-1]),
    ("json unicode", lambda v: json.dumps(v, ensure_ascii=False)[1:-1]),
    ("hex", lambda v: v.encode().hex()),
    ("HEX", lambda v: v.encode().hex().upper()),
]


@pytest.mark.parametrize(("name", "encode"), ENCODINGS, ids=[e[0] for e in ENCODINGS])
def test_every_encoding_of_a_known_value_is_redacted(
    name: str, encode: Callable[[str], str]
) -> None:
    redactor = Redactor([("kalshi", "api_secret", SECRET)])
    encoded = encode(SECRET)
    assert redactor.redact(f"before {encoded} after") == f"before {MARK} after"


@pytest.mark.parametrize("prefix", ["", "u", "us", "use", "user:"])
def test_a_value_inside_a_larger_base64_blob_is_redacted_at_any_alignment(prefix: str) -> None:
    redactor = Redactor([("kalshi", "api_secret", SECRET)])
    blob = _b64(f"{prefix}{SECRET}\x00trailing config".encode())
    out = redactor.redact(f"Basic {blob}")
    # Every base64 character made only of the secret's bits is gone; only the (at most two)
    # characters that mix the secret with its neighbours may stay.
    first = -(-8 * len(prefix.encode()) // 6)
    end = 8 * (len(prefix.encode()) + len(SECRET.encode())) // 6
    before, _, after = out.removeprefix("Basic ").partition(MARK)
    assert blob.startswith(before) and len(before) <= first
    assert blob.endswith(after) and len(blob) - len(after) >= end


def test_pem_value_is_redacted_whole_and_line_by_line() -> None:
    key = _pem_key(1)
    redactor = Redactor([("kalshi", "private_key", key)])
    mark = "[REDACTED:kalshi.private_key]"
    assert redactor.redact("k=" + key) == "k=" + mark
    body_line = key.splitlines()[3]
    assert redactor.redact(f"line: {body_line}") == f"line: {mark}"
    # Re-wrapped (no newlines) body still loses every line.
    joined = "".join(key.splitlines()[1:-1])
    assert redactor.redact(joined).replace(mark, "") == ""


def test_values_shorter_than_min_length_are_not_redacted() -> None:
    redactor = Redactor([("c", "pin", "1234567"), ("c", "key", "12345678")])
    assert redactor.redact("1234567 and 12345678") == "1234567 and [REDACTED:c.key]"
    strict = Redactor([("c", "key", "12345678")], min_length=9)
    assert strict.redact("12345678") == "12345678"


def test_set_secrets_replaces_every_known_value() -> None:
    redactor = Redactor([("a", "key", "first-secret-1")])
    redactor.set_secrets([("b", "key", "second-secret-2")])
    assert redactor.redact("first-secret-1 second-secret-2") == "first-secret-1 [REDACTED:b.key]"


def test_add_secrets_adds_and_updates_a_field() -> None:
    redactor = Redactor([("a", "key", "first-secret-1"), ("a", "other", "other-secret-9")])
    redactor.add_secrets([("a", "key", "rotated-secret-2"), ("b", "key", "third-secret-3")])
    out = redactor.redact("first-secret-1 rotated-secret-2 third-secret-3 other-secret-9")
    assert out == "first-secret-1 [REDACTED:a.key] [REDACTED:b.key] [REDACTED:a.other]"


def test_forget_connection_drops_only_that_connection() -> None:
    redactor = Redactor([("a", "key", "first-secret-1"), ("b", "key", "second-secret-2")])
    redactor.forget_connection("a")
    assert redactor.redact("first-secret-1 second-secret-2") == "first-secret-1 [REDACTED:b.key]"
    assert redactor.connections() == ["b"]


def test_redacting_twice_changes_nothing_more() -> None:
    key = _pem_key(2)
    redactor = Redactor(
        [("kalshi", "private_key", key), ("kalshi", "api_secret", SECRET), ("x", "y", "REDACTED")]
    )
    text = (
        f"{SECRET} {quote(SECRET)} {key} ghp_{'a1B2' * 9} AKIA{'Q' * 16} "
        f"[REDACTED:kalshi.api_secret] REDACTED [REDACTED:bogus] 日本語 🚀"
    )
    once = redactor.redact(text)
    assert once != text
    assert redactor.redact(once) == once


def test_unicode_text_around_a_secret_is_kept_exactly() -> None:
    redactor = Redactor([("kalshi", "api_secret", SECRET)])
    text = f"注文 🚀 {SECRET}→ é\u0301 {json.dumps(SECRET)} Ω"
    expected = f'注文 🚀 {MARK}→ é\u0301 "{MARK}" Ω'
    assert redactor.redact(text) == expected


def test_contains_secret_tells_whether_redaction_would_change_the_text() -> None:
    redactor = Redactor([("kalshi", "api_secret", SECRET)])
    assert redactor.contains_secret(f"x {quote_plus(SECRET)}")
    assert redactor.contains_secret(f"sk-proj-{'x' * 40}")
    assert not redactor.contains_secret("nothing here, not even sk- or eyJ")
    assert not redactor.contains_secret(MARK)


def test_redact_bytes_keeps_undecodable_bytes() -> None:
    redactor = Redactor([("kalshi", "api_secret", SECRET)])
    data = b"\xff\xfe " + SECRET.encode() + b" \x80 tail \xc3"
    assert redactor.redact_bytes(data) == b"\xff\xfe " + MARK.encode() + b" \x80 tail \xc3"


def test_redact_refuses_bytes_with_a_pointer_to_redact_bytes() -> None:
    with pytest.raises(TypeError, match="redact_bytes"):
        Redactor().redact(b"abc")  # type: ignore[arg-type]


def test_a_five_megabyte_line_is_redacted_completely() -> None:
    rng = random.Random(5)
    letters = string.ascii_letters
    secrets = [(f"c{i}", "key", "".join(rng.choices(letters, k=24))) for i in range(20)]
    redactor = Redactor(secrets)
    filler_alphabet = string.ascii_lowercase + ' ,.:{}"-_0123456789'
    pieces, expected = [], []
    for i in range(200):
        filler = "".join(rng.choices(filler_alphabet, k=25_000)) + " sk- eyJ AKIA ghp_ "
        connection, field, value = secrets[i % len(secrets)]
        leak = value if i % 2 else _b64(value.encode())
        pieces.append(f"{filler} {leak} ")
        expected.append(f"{filler} [REDACTED:{connection}.{field}] ")
    text = "".join(pieces)
    assert len(text) > 5_000_000 and "\n" not in text
    assert redactor.redact(text) == "".join(expected)


def test_set_secrets_while_other_threads_redact_never_shows_a_half_built_set() -> None:
    old = [("old", "key", "old-secret-value-1"), ("old", "key2", "old-secret-value-2")]
    new = [("new", "key", "new-secret-value-1"), ("new", "key2", "new-secret-value-2")]
    redactor = Redactor(old)
    text = " ".join(v for _c, _f, v in old + new) + " " + _b64(b"new-secret-value-2")
    only_old = redactor.redact(text)
    only_new = Redactor(new).redact(text)
    seen: set[str] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                seen.add(redactor.redact(text))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    i = 0
    # At least 300 swaps, and on until the readers have seen both sets (a loaded machine may
    # schedule them late).
    while i < 300 or (len(seen) < 2 and time.monotonic() < deadline):
        redactor.set_secrets(new if i % 2 == 0 else old)
        i += 1
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors
    assert seen <= {only_old, only_new}
    assert len(seen) == 2


def test_concurrent_add_secrets_loses_none() -> None:
    redactor = Redactor()

    def add(worker: int) -> None:
        for i in range(25):
            redactor.add_secrets([(f"w{worker}", f"f{i}", f"secret-{worker:02d}-{i:03d}-xyz")])

    threads = [threading.Thread(target=add, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = " ".join(f"secret-{w:02d}-{i:03d}-xyz" for w in range(4) for i in range(25))
    assert "secret-" not in redactor.redact(text)


def test_repr_shows_counts_not_values() -> None:
    redactor = Redactor([("kalshi", "api_secret", SECRET)])
    text = repr(redactor) + str(redactor)
    assert SECRET not in text and quote(SECRET) not in text
    assert "connections=1" in text


@pytest.mark.parametrize(
    "attempt", [pickle.dumps, copy.copy, copy.deepcopy], ids=["pickle", "copy", "deepcopy"]
)
def test_a_redactor_cannot_be_pickled_or_copied(attempt: Callable[[object], object]) -> None:
    with pytest.raises(RedactorNotSerializableError):
        attempt(Redactor([("kalshi", "api_secret", SECRET)]))


@pytest.mark.parametrize(
    "bad",
    [
        [("kalshi", "api_secret")],
        [("kalshi", "api_secret", SECRET.encode())],
        [("", "api_secret", SECRET)],
        [("kalshi", None, SECRET)],
        ["not a triple at all"],
    ],
)
def test_a_bad_secret_is_refused_without_echoing_it_and_changes_nothing(bad: list) -> None:
    redactor = Redactor([("a", "key", "first-secret-1")])
    with pytest.raises(InvalidSecretError) as info:
        redactor.set_secrets([("b", "key", "second-secret-2"), *bad])
    assert SECRET not in str(info.value) and repr(SECRET.encode()) not in str(info.value)
    assert redactor.redact("first-secret-1 second-secret-2") == "[REDACTED:a.key] second-secret-2"


def test_max_match_length_covers_the_longest_needle() -> None:
    key = _pem_key(3)
    redactor = Redactor([("kalshi", "private_key", key)])
    assert redactor.max_match_length >= len(key.encode().hex())


def test_findings_locate_each_secret() -> None:
    redactor = Redactor([("kalshi", "api_secret", SECRET)])
    text = f"ab {SECRET} cd"
    [finding] = redactor.findings(text)
    assert text[finding.start : finding.end] == SECRET
    assert finding.label == "kalshi.api_secret"


def test_get_redactor_is_one_instance_for_the_whole_process() -> None:
    found: list[Redactor] = []
    threads = [threading.Thread(target=lambda: found.append(get_redactor())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r is get_redactor() for r in found)


# --- partial copies and the standard encodings (any window of 16+ characters) ----------------

WINDOW = 16
LONG_SECRET = "Zq8/Lm+Wx2=Pa&Tt7 kR9%Ne4?Bv5#Hy6!Jc3~Ud1;Fs0|Go2^Ei7@Ow3*Yx5$Qp"  # 64 characters


def _windows(text: str, size: int = WINDOW) -> list[str]:
    return [text[i : i + size] for i in range(len(text) - size + 1)]


def _leftover_windows(out: str, encoded: str) -> list[str]:
    """16-character pieces of ``encoded`` still readable in ``out``."""
    return [w for w in _windows(encoded) if w in out]


def _real_pem(pkcs8: bool) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fmt = (
        serialization.PrivateFormat.PKCS8
        if pkcs8
        else serialization.PrivateFormat.TraditionalOpenSSL
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def _inside_base64(prefix: bytes, value: str, suffix: bytes) -> str:
    """The characters of base64(prefix + value + suffix) made of the value's bits only."""
    raw = value.encode()
    blob = _b64(prefix + raw + suffix)
    return blob[-(-8 * len(prefix) // 6) : 8 * (len(prefix) + len(raw)) // 6]


WINDOW_ENCODINGS: list[tuple[str, Callable[[str], str]]] = [
    ("raw", lambda v: v),
    ("json", lambda v: json.dumps(v)[1:-1]),
    ("url default safe", lambda v: quote(v)),
    ("url no safe", lambda v: quote(v, safe="")),
    ("url lower hex", lambda v: re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), quote(v))),
    ("hex", lambda v: v.encode().hex()),
    ("HEX", lambda v: v.encode().hex().upper()),
    ("base64", lambda v: _b64(v.encode())),
    ("base64url", lambda v: base64.urlsafe_b64encode(v.encode()).decode()),
    ("base64 shift 1", lambda v: _inside_base64(b"x", v, b"yz")),
    ("base64 shift 2", lambda v: _inside_base64(b"xy", v, b"z")),
    (
        "base64url shift 1",
        lambda v: _inside_base64(b"x", v, b"yz").replace("+", "-").replace("/", "_"),
    ),
    ("MIME base64", lambda v: base64.encodebytes(v.encode()).decode().rstrip("\n")),
]


@pytest.mark.parametrize(("name", "encode"), WINDOW_ENCODINGS, ids=[e[0] for e in WINDOW_ENCODINGS])
def test_every_16_character_window_of_every_encoding_is_redacted(
    name: str, encode: Callable[[str], str]
) -> None:
    redactor = Redactor([("kalshi", "api_secret", LONG_SECRET)])
    encoded = encode(LONG_SECRET)
    # (A MIME line break at the very edge of a window is layout and stays.)
    windows = [w for w in _windows(encoded) if w[0] != "\n" != w[-1]]
    missed = [w for w in windows if redactor.redact(f"<{w}>") != f"<{MARK}>"]
    assert missed == []


@pytest.mark.parametrize("length", [57, 58, 59, 60])
def test_a_value_whose_mime_base64_ends_in_a_short_line_is_searched_for(length: int) -> None:
    # 57-60 bytes encode to 76 + 4 base64 characters: a last MIME line of only a few.
    value = (LONG_SECRET * 2)[:length]
    redactor = Redactor([("kalshi", "api_secret", value)])
    for name, encode in WINDOW_ENCODINGS:
        encoded = encode(value)
        windows = [w for w in _windows(encoded) if w[0] != "\n" != w[-1]]
        missed = [w for w in windows if redactor.redact(f"<{w}>") != f"<{MARK}>"]
        assert missed == [], name


def test_mime_base64_of_a_pem_key_is_one_marker() -> None:
    key = _pem_key(11)
    redactor = Redactor([("kalshi", "private_key", key)])
    mime = base64.encodebytes(key.encode()).decode()
    assert "\n" in mime.rstrip("\n")
    assert redactor.redact(f"dump:\n{mime}done") == "dump:\n[REDACTED:kalshi.private_key]\ndone"


@pytest.mark.parametrize("safe", ["/", "+=/", "@&=", "/ "])
def test_url_escapes_with_any_safe_set_are_redacted(safe: str) -> None:
    redactor = Redactor([("kalshi", "api_secret", SECRET)])
    escaped = quote(SECRET, safe=safe)
    assert redactor.redact(f"GET /x?k={escaped}&n=1") == f"GET /x?k={MARK}&n=1"


@pytest.mark.parametrize("fields", [{}, {"a": 1}, {"ab": "c"}])
def test_a_pem_inside_a_base64_json_document_is_redacted_at_any_alignment(fields: dict) -> None:
    key = _pem_key(12)
    redactor = Redactor([("kalshi", "private_key", key)])
    document = json.dumps({**fields, "key": key}).encode()
    blob = _b64(document)
    out = redactor.redact(blob)
    mark = "[REDACTED:kalshi.private_key]"
    assert out.count(mark) == 1
    before, _, after = out.partition(mark)
    # What stays readable encodes at most the armour lines (and the JSON around the key).
    body_start = document.index(b"\\n", document.index(b"-----BEGIN")) + 2
    body_end = document.index(b"\\n-----END")
    assert blob.startswith(before) and len(before) <= 8 * body_start // 6 + 1
    assert blob.endswith(after) and len(blob) - len(after) >= 8 * body_end // 6 - 1


def test_a_truncated_repr_is_redacted() -> None:
    redactor = Redactor([("kalshi", "api_secret", LONG_SECRET)])
    shown = LONG_SECRET[:46] + "...\u2026"  # what pandas shows of a 64-character cell
    out = redactor.redact(f"0    {shown}\nName: api_secret, dtype: object")
    assert out == f"0    {MARK}...\u2026\nName: api_secret, dtype: object"


def test_a_long_partial_copy_is_one_marker_with_nothing_left_over() -> None:
    redactor = Redactor([("kalshi", "api_secret", LONG_SECRET)])
    for start, end in [(0, 16), (3, 61), (10, 64), (1, 63)]:
        assert redactor.redact(f"x {LONG_SECRET[start:end]} y") == f"x {MARK} y"


def test_a_copy_of_15_characters_is_not_redacted_but_16_are() -> None:
    redactor = Redactor([("kalshi", "api_secret", LONG_SECRET)])
    piece = LONG_SECRET[20:36]
    assert redactor.redact(f"<{piece[:15]}>") == f"<{piece[:15]}>"
    assert redactor.redact(f"<{piece}>") == f"<{MARK}>"


ORDINARY = (Path(__file__).parent / "data" / "ordinary_log.txt").read_text()


@pytest.mark.parametrize("pkcs8", [False, True], ids=["pkcs1", "pkcs8"])
def test_ordinary_text_is_untouched_and_only_the_copy_inside_it_goes(pkcs8: bool) -> None:
    key = _real_pem(pkcs8)
    token = "sk-ant-api03-" + "".join(random.Random(4).choices(string.ascii_letters, k=40))
    secrets = [
        ("kalshi", "private_key", key),
        ("kalshi", "key_id", "6f1c2e0a-9b7d-4c1e-8f3a-2d5b7c9e1a40"),
        ("claude", "api_key", token),
        ("aws", "access_key_id", "AKIAQWERTYUIOPASDFGH"),
        ("github", "token", "ghp_" + "Qw3rTy7uIoP9aSdF1gHjK2lZxC4vBnM6qWeR8tYu"),
        ("slack", "bot_token", "xoxb-1234567890-" + "AbCdEfGhIjKlMnOpQrStUvWx"),
        ("login", "passphrase", "correct horse battery staple"),
    ]
    redactor = Redactor(secrets)
    # Overlaps shorter than a window: each value's first and last 15 characters, in prose.
    short = [f"seen {value[:15]} and {value[-15:]}" for _c, _f, value in secrets]
    text = ORDINARY + "\n".join(short) + "\n"
    assert redactor.redact(text) == text
    # The same text with 16 characters of the key's body in it loses exactly those. (A
    # copy stretches over a line break to a character that continues the key: the piece is
    # taken where the key's previous character differs from the text's last one.)
    body = key.splitlines()[5]
    start = next(i for i in range(10, 40) if body[i - 1] != text[-2])
    piece = body[start : start + 16]
    assert redactor.redact(text + piece + "\n") == text + "[REDACTED:kalshi.private_key]\n"
