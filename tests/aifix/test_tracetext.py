"""Tracebacks for the model: escapes gone before redaction, the middle cut behind a marker."""

from __future__ import annotations

import random
import string

from watchdog_lab.aifix.tracetext import PRECUT_CHARS, redact_and_cut, strip_escapes
from watchdog_lab.redact import Redactor

SECRET = "Lr9Vt4Wm8Ks3Zd6Hf1Nc5Jb0YeQp2"


def test_colour_title_and_cursor_escapes_are_removed() -> None:
    text = "\x1b[0;31mKeyError\x1b[0m\x1b]0;title\x07: 'x'\x1b[2K\r\n\x9b1mnext\x00\x7f"
    assert strip_escapes(text) == "KeyError: 'x'\nnext"


def test_newlines_and_tabs_stay() -> None:
    assert strip_escapes("a\n\tb\r\nc") == "a\n\tb\nc"


def test_a_short_text_is_redacted_and_kept_whole() -> None:
    text, cut = redact_and_cut(f"line 1\nvalue {SECRET}\n", Redactor([("c", "f", SECRET)]), 50, 50)
    assert (text, cut) == ("line 1\nvalue [REDACTED:c.f]\n", False)


def test_a_long_text_keeps_its_ends_at_line_breaks_with_a_marker() -> None:
    lines = [f"frame {n:04d}" for n in range(1000)]
    text, cut = redact_and_cut("\n".join(lines), Redactor(), 100, 200)
    head, marker, tail = text.partition("[... ")
    assert cut and head.startswith("frame 0000\n") and head.endswith("\n")
    assert tail.endswith("frame 0999") and "frame 0500" not in text
    kept = head.count("frame") + tail.count("frame")
    assert f"{1000 - kept} lines" in marker + tail.split("\n", 1)[0]
    assert len(text) < 400


def test_a_secret_across_the_cut_is_redacted_not_halved() -> None:
    """Redaction runs before the cut, so the kept head never ends with part of a secret."""
    text = "x" * 90 + SECRET + "\n" + "y\n" * 500
    out, cut = redact_and_cut(text, Redactor([("c", "f", SECRET)]), 100, 50)
    assert cut
    assert SECRET[:10] not in out
    assert "[REDACTED:c.f]" in out or "[REDACTED:" not in out  # a marker whole, or none


def test_a_runaway_text_is_precut_and_no_secret_piece_survives_the_edge() -> None:
    """Past twice PRECUT_CHARS each end is redacted alone. A secret straddling the inner edge
    of the head leaves a piece there too short to be matched; the edge is trimmed, so even
    when redaction shrinks the head (it was mostly one long key) enough to keep its edge,
    that piece is gone."""
    big = "".join(random.Random(7).choices(string.ascii_letters, k=52_428))
    head = big * 20 + "z" * 8
    assert len(head) + 8 == PRECUT_CHARS  # SECRET starts 8 characters before the edge
    text = head + SECRET + "m" * (PRECUT_CHARS + 100)
    out, cut = redact_and_cut(text, Redactor([("c", "big", big), ("c", "f", SECRET)]), 4096, 100)
    assert cut and out.startswith("[REDACTED:c.big]")
    assert SECRET[:8] not in out
