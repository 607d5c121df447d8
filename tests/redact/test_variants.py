"""Which spellings of a secret become needles."""

from __future__ import annotations

import base64
import json
import random
from urllib.parse import quote, quote_plus

import pytest

from watchdog_lab.redact.variants import (
    WINDOW,
    _url_escaper,
    aligned_base64_fragments,
    forms,
    pem_body_lines,
    public_spans,
    short_variants,
    variants,
)

VALUE = "Zx9/q+Lm p@ss=wörd&key"  # needs URL, JSON and base64 escaping, and is non-ASCII


def _pem(body: bytes, label: str = "RSA PRIVATE KEY", newline: str = "\n") -> str:
    b64 = base64.b64encode(body).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return newline.join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("raw", lambda v: v),
        ("base64", lambda v: base64.b64encode(v.encode()).decode()),
        ("base64 unpadded", lambda v: base64.b64encode(v.encode()).decode().rstrip("=")),
        ("base64url", lambda v: base64.urlsafe_b64encode(v.encode()).decode()),
        ("base64url unpadded", lambda v: base64.urlsafe_b64encode(v.encode()).decode().rstrip("=")),
        ("url quote", lambda v: quote(v, safe="")),
        ("url quote_plus", lambda v: quote_plus(v)),
        ("json ascii", lambda v: json.dumps(v)[1:-1]),
        ("json unicode", lambda v: json.dumps(v, ensure_ascii=False)[1:-1]),
        ("hex", lambda v: v.encode().hex()),
        ("HEX", lambda v: v.encode().hex().upper()),
    ],
)
def test_each_encoding_of_a_value_is_a_needle(encoding: str, encode: object) -> None:
    assert encode(VALUE) in variants(VALUE)  # type: ignore[operator]


def test_url_escapes_come_with_lower_hex_too_but_the_value_letters_keep_their_case() -> None:
    forms = variants("AB/CD EF/GH")
    assert {"AB%2FCD%20EF%2FGH", "AB%2fCD%20EF%2fGH", "AB%2FCD+EF%2FGH", "AB%2fCD+EF%2fGH"} <= forms
    assert "ab%2fcd%20ef%2fgh" not in forms


def test_forms_shorter_than_min_length_are_dropped() -> None:
    forms = variants("abcdefgh", min_length=12)
    assert forms
    assert all(len(form) >= 12 for form in forms)
    assert "abcdefgh" not in forms


@pytest.mark.parametrize("shift", [0, 1, 2])
def test_aligned_fragment_is_found_inside_any_base64_blob_at_that_alignment(shift: int) -> None:
    rng = random.Random(shift)
    secret = b"sEcReT-vAlUe-1234567"
    fragments = aligned_base64_fragments(secret)
    for _ in range(20):
        prefix = rng.randbytes(3 * rng.randrange(0, 10) + shift)
        suffix = rng.randbytes(rng.randrange(0, 10))
        blob = base64.b64encode(prefix + secret + suffix).decode()
        assert fragments[shift] in blob


def test_aligned_fragments_do_not_contain_characters_of_the_neighbours() -> None:
    secret = b"0123456789abcdef"
    for shift, fragment in enumerate(aligned_base64_fragments(secret)):
        # Changing every neighbouring byte must leave the fragment in the encoding.
        for filler in (b"\x00", b"\xff", b"A"):
            blob = base64.b64encode(filler * (3 + shift) + secret + filler * 3).decode()
            assert fragment in blob, (shift, filler)


def test_pem_body_lines_are_needles_but_headers_are_not() -> None:
    pem = _pem(bytes(range(256)) * 4)
    lines = pem_body_lines(pem, 8)
    body = pem.splitlines()[1:-1]
    assert lines == [line for line in body if len(line) >= 8]
    forms = variants(pem)
    assert set(lines) <= forms
    assert "-----BEGIN RSA PRIVATE KEY-----" not in forms


def test_pem_body_lines_are_found_in_json_escaped_and_crlf_values() -> None:
    body = bytes(range(200))
    crlf = _pem(body, newline="\r\n")
    escaped = json.dumps(_pem(body))[1:-1]
    expected = pem_body_lines(_pem(body), 8)
    assert expected
    assert pem_body_lines(crlf, 8) == expected
    assert pem_body_lines(escaped, 8) == expected


def test_pem_rfc1421_header_lines_are_not_needles() -> None:
    pem = (
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
        "DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n"
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\n"
        "-----END RSA PRIVATE KEY-----\n"
    )
    assert pem_body_lines(pem, 8) == [
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2"
    ]


def test_a_value_with_a_lone_surrogate_still_gets_needles() -> None:
    value = "abc\udcffdefghij"
    forms = variants(value)
    assert value in forms
    assert value.encode("utf-8", "surrogatepass").hex() in forms


def test_public_spans_are_pem_armour_the_der_header_and_a_key_prefix() -> None:
    body = "MIIEpAIBAAKCAQEA" + "x7Yq" * 20
    pem = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"
    spans = [pem[a:b] for a, b in public_spans(pem)]
    assert spans == [
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "MIIEpAIBAAKCAQEA",
        "-----END RSA PRIVATE KEY-----\n",
    ]
    assert [
        ("sk-ant-api03-abcdefghijklmnop"[a:b])
        for a, b in public_spans("sk-ant-api03-abcdefghijklmnop")
    ] == ["sk-ant-api03-"]
    assert public_spans("plain-secret-value-123") == []


def test_every_form_marks_the_characters_of_public_parts() -> None:
    value = "sk_live_" + "Q" * 24
    by_text = {form.text: form for form in forms(value)}
    hex_form = by_text[value.encode().hex()]
    assert hex_form.secret == b"\x00" * 16 + b"\x01" * 48
    b64 = base64.b64encode(value.encode()).decode()
    # "sk_live_" is 8 bytes: the first 10 characters carry only its bits.
    assert by_text[b64].secret[:10] == b"\x00" * 10 and by_text[b64].secret[10:].count(0) == 0
    assert by_text[b64].alt == base64.urlsafe_b64encode(value.encode()).decode()


def test_variants_include_the_default_url_escape_and_mime_base64() -> None:
    value = "a/b+c=d" * 20
    found = variants(value)
    assert quote(value) in found
    assert base64.encodebytes(value.encode()).decode() in found


def _hostile_values(rng: random.Random) -> list[str]:
    """Values of every length around WINDOW, over alphabets that every encoding treats apart:
    URL-reserved and space, JSON escapes, non-ASCII, and PEM blocks with a short last line."""
    alphabets = [
        "abcXYZ0189",
        'ab+/= %&?#\\"\n\t',
        "aé€😀/ ",
    ]
    values = [
        "".join(rng.choice(alphabet) for _ in range(length))
        for alphabet in alphabets
        for length in range(8, 40)
    ]
    for last_line in (4, 9, 15, 16, 40):
        body = base64.b64encode(rng.randbytes(48 + last_line * 3 // 4)).decode()
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        values.append(
            "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"
        )
    return values


def test_short_variants_are_the_variants_shorter_than_a_window() -> None:
    for value in _hostile_values(random.Random(7)):
        expected = {v for v in variants(value, 8) if len(v) < WINDOW}
        assert short_variants(value, 8) == expected, value


def test_url_forms_escape_as_urllib_does() -> None:
    every_ascii = "".join(map(chr, range(128)))
    for value in [every_ascii, *_hostile_values(random.Random(8))]:
        for safe in ("", "/"):
            for quoter in (quote, quote_plus):
                assert _url_escaper(quoter, safe)(value) == quoter(
                    value, safe=safe, errors="surrogatepass"
                ), (value, safe, quoter)
