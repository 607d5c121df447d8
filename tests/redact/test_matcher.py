"""Span selection: leftmost-longest, overlaps, markers kept intact, windows of long texts."""

from __future__ import annotations

import base64
import json
import random
import uuid

import pytest

from watchdog_lab.redact import DEFAULT_PATTERNS, Finding
from watchdog_lab.redact.matcher import Matcher, _anchor_positions, apply, safe_label
from watchdog_lab.redact.variants import WINDOW, Form, forms

A = "abcdefgh12345678"
B = "12345678ijklmnop"


def redact(values: dict[str, str], text: str, patterns: tuple = DEFAULT_PATTERNS) -> str:
    matcher = Matcher(values, patterns)
    return apply(text, matcher.findings(text))


def test_the_longest_of_two_values_starting_at_the_same_place_wins() -> None:
    values = {"abcdefgh": "a.short", "abcdefgh1234": "b.long"}
    assert redact(values, "x abcdefgh1234 y") == "x [REDACTED:b.long] y"
    assert redact(values, "x abcdefghZZZZ y") == "x [REDACTED:a.short]ZZZZ y"


def test_the_leftmost_value_wins_over_a_longer_one_starting_later() -> None:
    values = {"abcdefgh": "a.left", "cdefgh1234567890": "b.right"}
    out = redact(values, "abcdefgh1234567890")
    assert out.startswith("[REDACTED:a.left]")


def test_overlapping_values_of_two_connections_leave_no_tail_of_either() -> None:
    values = {A: "one.key", B: "two.key"}
    out = redact(values, f"<{A}ijklmnop>")
    assert out == "<[REDACTED:one.key][REDACTED:two.key]>"
    for leaked in ("1234", "ijkl", "abcd"):
        assert leaked not in out


def test_a_value_inside_another_value_is_covered_by_the_outer_marker() -> None:
    values = {"0123456789abcdef0123": "outer.secret", "6789abcdef": "inner.secret"}
    assert redact(values, "0123456789abcdef0123") == "[REDACTED:outer.secret]"
    assert redact(values, "--6789abcdef--") == "--[REDACTED:inner.secret]--"


def test_the_same_value_in_two_connections_is_reported_under_one_label() -> None:
    matcher = Matcher({"shared-secret-1": "first.key"}, DEFAULT_PATTERNS)
    assert matcher.findings("shared-secret-1") == [Finding(0, 15, "first.key")]


def test_a_known_value_beats_a_pattern_on_an_exact_tie() -> None:
    token = "ghp_" + "A1b2C3d4" * 4 + "E5f6"
    assert redact({token: "github.token"}, f"x {token} y") == "x [REDACTED:github.token] y"


def test_a_pattern_longer_than_a_known_value_at_the_same_place_wins() -> None:
    token = "ghp_" + "A1b2C3d4" * 4 + "E5f6"
    assert redact({token[:12]: "x.partial"}, token) == "[REDACTED:github-token]"


def test_a_secret_repeated_back_to_back_becomes_one_marker() -> None:
    assert redact({A: "c.f"}, A * 5 + " " + A) == "[REDACTED:c.f] [REDACTED:c.f]"


def test_markers_with_known_labels_survive_even_if_a_value_matches_inside() -> None:
    # A secret that happens to read like part of a marker must not break the marker.
    values = {"REDACTED:conn": "conn.password"}
    once = redact(values, "a REDACTED:conn b")
    assert once == "a [REDACTED:conn.password] b"
    assert redact(values, once) == once


def test_a_marker_with_an_unknown_label_does_not_hide_a_secret() -> None:
    assert redact({A: "c.f"}, f"[REDACTED:{A}]") == "[REDACTED:[REDACTED:c.f]]"


def test_a_value_overlapping_a_marker_is_redacted_around_it() -> None:
    values = {"xyz[REDACTED:c.f]tail": "d.g", "c.f-secret": "c.f"}
    out = redact(values, "xyz[REDACTED:c.f]tail")
    assert out == "[REDACTED:d.g][REDACTED:c.f][REDACTED:d.g]"


def test_labels_cannot_close_a_marker_early() -> None:
    assert safe_label("we]ird[name\n.key") == "we)ird(name .key"
    assert redact({A: "we]ird.key"}, A) == "[REDACTED:we)ird.key]"


def test_lone_surrogates_do_not_stop_redaction() -> None:
    text = f"\udcff {A} \udc80 ghp_{'Z' * 36}"
    out = redact({A: "c.f"}, text)
    assert out == "\udcff [REDACTED:c.f] \udc80 [REDACTED:github-token]"


def test_no_needles_and_no_patterns_means_no_findings() -> None:
    matcher = Matcher({}, ())
    assert matcher.findings(A) == []


@pytest.mark.parametrize("offset", [-20, -8, -1, 0, 1, 7])
def test_values_straddling_a_window_boundary_are_found(offset: int) -> None:
    window = Matcher.WINDOW
    text = "." * (window + offset) + A + "." * 100 + A + "." * (window * 2)
    findings = Matcher({A: "c.f"}, DEFAULT_PATTERNS).findings(text)
    start = window + offset
    assert [(f.start, f.end) for f in findings] == [
        (start, start + len(A)),
        (start + len(A) + 100, start + 2 * len(A) + 100),
    ]


def test_a_pattern_span_starting_after_its_trigger_in_the_next_window_is_resolved() -> None:
    secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY1"
    context = "aws_secret_access_key = "
    # The trigger sits in the first window, the key it guards in the second.
    text = "." * (Matcher.WINDOW - 10) + context + secret + "\n" + "." * 100
    out = redact({}, text)
    assert out == "." * (Matcher.WINDOW - 10) + context + "[REDACTED:aws-secret-access-key]\n" + (
        "." * 100
    )


def test_a_dense_run_of_a_periodic_secret_is_one_marker() -> None:
    # Every zero belongs to some occurrence of the needle, so all of them go.
    text = "x" + "0" * 600_003 + "y"
    assert redact({"00000000": "c.pin"}, text) == "x[REDACTED:c.pin]y"


# --- window forms: anchors extended into runs -------------------------------------------------

VALUE = "Zq8Lm7Wx2Pa4Tt7kR9Ne4Bv5Hy6Jc3Ud1Fs0Go2Ei7Ow3Yx5Qp/+="


def _window_matcher(value: str = VALUE, label: str = "c.f") -> Matcher:
    return Matcher({}, (), [(label, form) for form in forms(value) if len(form.text) >= 16])


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\\n"])
def test_a_copy_rewrapped_with_line_breaks_is_one_finding(newline: str) -> None:
    # Each line is a window long, so holds an anchor; the breaks between them are skipped.
    wrapped = newline.join(VALUE[i : i + 17] for i in range(0, len(VALUE), 17))
    text = f"<{wrapped}>"
    assert _window_matcher().findings(text) == [Finding(1, len(text) - 1, "c.f")]


def test_percent_escapes_of_any_characters_match_what_they_stand_for() -> None:
    # Not a standard safe set: one character in 20, letters included, is escaped.
    escaped = "".join(f"%{ord(c):02x}" if i % 20 == 7 else c for i, c in enumerate(VALUE))
    text = f"k={escaped}&"
    assert _window_matcher().findings(text) == [Finding(2, len(text) - 1, "c.f")]


def test_two_pieces_of_one_base64_copy_a_few_characters_apart_are_one_finding() -> None:
    # A JSON-escaped line break inside a base64'd document changes the characters around it.
    key = (
        "-----BEGIN RSA PRIVATE KEY-----\n"
        + VALUE
        + "\n"
        + VALUE[::-1]
        + "\n-----END RSA PRIVATE KEY-----\n"
    )
    blob = base64.b64encode(json.dumps({"k": key}).encode()).decode()
    [finding] = _window_matcher(key).findings(blob)
    assert finding.label == "c.f"
    assert blob[finding.start : finding.end].count("=") == 0


def test_scan_tells_where_a_copy_cut_short_at_the_end_of_the_text_starts() -> None:
    matcher = _window_matcher()
    # Too short to redact, but a stream must hold it back (15 characters that hold an anchor).
    assert ([], 2) in [matcher.scan(f"a {VALUE[i : i + 15]}\n") for i in range(len(VALUE) - 15)]
    findings, pending = matcher.scan(f"a {VALUE[:30]}")
    assert findings == [Finding(2, 32, "c.f")] and pending == 2
    assert matcher.scan(f"a {VALUE[:30]} b")[1] == -1


# --- anchors: which windows they serve and where they start ------------------------------------


def _anchor_test_values() -> list[str]:
    rng = random.Random(3)
    body = base64.b64encode(rng.randbytes(300)).decode()
    pem = "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----\n"
    return (
        [base64.b64encode(rng.randbytes(30)).decode() for _ in range(20)]
        + [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(20)]
        + [rng.randbytes(20).hex() for _ in range(20)]
        + ["sk-ant-api03-" + "".join(rng.choices("abcdefXYZ0123_-", k=40)), pem]
    )


def _windows_of_secret_characters(form: Form) -> list[int]:
    return [w for w in range(len(form.text) - WINDOW + 1) if 0 not in form.secret[w : w + WINDOW]]


def _serves(anchors: list[tuple[int, int]], window: int) -> bool:
    return any(window <= q and q + size <= window + WINDOW for q, size in anchors)


def _window_forms() -> list[Form]:
    return [
        form
        for value in _anchor_test_values()
        for form in forms(value)
        if not form.straddle and form.secret.count(1) >= WINDOW
    ]


def test_every_window_of_secret_characters_holds_a_whole_anchor() -> None:
    for form in _window_forms():
        anchors = _anchor_positions(form.text, form.secret, form.alt)
        assert all(0 not in form.secret[q : q + size] for q, size in anchors)
        missed = [w for w in _windows_of_secret_characters(form) if not _serves(anchors, w)]
        assert missed == [], form.text


def test_no_anchor_is_added_after_the_last_window_is_served() -> None:
    # Each anchor is a needle of the automaton: surplus ones at the end of a form cost build
    # time and memory, and often start on a common character (the end offers little choice).
    for form in _window_forms():
        *earlier, _last = _anchor_positions(form.text, form.secret, form.alt)
        windows = _windows_of_secret_characters(form)
        assert not all(_serves(earlier, w) for w in windows), form.text


def test_anchors_of_hex_rarely_start_on_the_digits_that_start_dates_and_times() -> None:
    # The hex of a UUID is nearly all digits; anchors starting on 0-5 would take the scan
    # off its fast path at almost every timestamp of a log.
    rng = random.Random(7)
    starts = [
        form.text[q]
        for _ in range(200)
        for form in forms(str(uuid.UUID(int=rng.getrandbits(128))))
        if form.alt == form.text.upper() and form.text.isalnum() and form.text.islower()
        for q, _size in _anchor_positions(form.text, form.secret, form.alt)
    ]
    assert len(starts) > 1000
    assert sum(start in "012345" for start in starts) < len(starts) / 20


def test_anchors_of_hex_do_not_start_on_e_the_commonest_letter_of_logs() -> None:
    # Hex offers the other hex letters and 6-9 in nearly every stretch; one anchor starting on
    # "e" would take the scan off its fast path at most words of a log.
    rng = random.Random(11)
    starts = [
        form.text[q]
        for _ in range(100)
        for form in forms(base64.b64encode(rng.randbytes(45)).decode())
        if form.alt == form.text.upper() and form.text.isalnum() and form.text.islower()
        for q, _size in _anchor_positions(form.text, form.secret, form.alt)
    ]
    assert len(starts) > 1000
    assert sum(start == "e" for start in starts) < len(starts) / 100


@pytest.mark.parametrize("stretch", [1, 5, 63, 64, 65, 150])
def test_a_copy_switching_between_the_two_spellings_of_hex_is_one_finding(stretch: int) -> None:
    # Upper- and lower-case hex alternate every `stretch` characters, inside and across the
    # pieces that extension compares at once.
    value = base64.b64encode(random.Random(5).randbytes(120)).decode()
    hex_text = value.encode().hex()
    mixed = "".join(
        part.upper() if i % 2 else part
        for i, part in enumerate(
            hex_text[k : k + stretch] for k in range(0, len(hex_text), stretch)
        )
    )
    for copy in (mixed, mixed[17:-23]):
        text = f"dump: {copy} end"
        assert _window_matcher(value).findings(text) == [Finding(6, 6 + len(copy), "c.f")]
