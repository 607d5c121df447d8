"""The console redacts every line it prints once it knows a secret, except the one reveal, and
shows every control character it is given as visible text: much of what it prints was chosen by a
bot or a kernel, and a terminal obeys controls wherever they come from."""

from __future__ import annotations

import io
import json
import os
import unicodedata

import pytest

from watchdog_lab.cli.console import Console
from watchdog_lab.cli.errors import NotInteractive
from watchdog_lab.cli.render import table

SECRET = "plain-words-no-pattern-would-match-42"


def _console() -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(stdin=io.StringIO(), stdout=out, stderr=err), out, err


def test_remembered_secrets_are_redacted_on_both_streams() -> None:
    console, out, err = _console()
    console.remember([("Svc", "token", SECRET)])
    console.out(f"value={SECRET}")
    console.json({"leak": SECRET})
    console.error(f"failed with {SECRET}")
    console.warn(f"look: {SECRET}")
    printed = out.getvalue()
    assert SECRET not in printed + err.getvalue()
    assert printed.count("[REDACTED:Svc.token]") == 2
    assert err.getvalue().count("[REDACTED:Svc.token]") == 2


def test_prompts_are_redacted_too() -> None:
    console, _, err = _console()
    console.remember([("Svc", "token", SECRET)])
    console.stdin = io.StringIO("y\n")
    assert console.confirm(f"Remove {SECRET}?") is True
    assert SECRET not in err.getvalue()


def test_reveal_needs_a_terminal_and_is_not_redacted() -> None:
    console, _, _ = _console()
    console.remember([("vault", "totp_secret", SECRET)])
    with pytest.raises(NotInteractive):
        console.reveal(SECRET)
    master, slave = os.openpty()
    with os.fdopen(slave, "w") as tty:
        terminal = Console(stdin=io.StringIO(), stdout=io.StringIO(), stderr=tty)
        terminal.remember([("vault", "totp_secret", SECRET)])
        terminal.reveal(f"secret: {SECRET}")
        assert SECRET in os.read(master, 4096).decode()
    os.close(master)


def test_hidden_prompt_without_a_terminal_is_refused() -> None:
    console, _, _ = _console()
    console.stdin = io.StringIO(SECRET + "\n")
    with pytest.raises(NotInteractive):
        console.ask_hidden("Password: ", "the password")


# ------------------------------------------------------------------ terminal controls

HOSTILE = {
    "clipboard (OSC 52)": ("\x1b]52;c;cHduZWQ=\x07", "\\x1b]52;c;cHduZWQ=\\x07"),
    "link (OSC 8)": ("\x1b]8;;https://e.example/\x1b\\x", "\\x1b]8;;https://e.example/\\x1b\\x"),
    "title (OSC 0)": ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
    "cursor up": ("\x1b[2A", "\\x1b[2A"),
    "carriage return": ("ok\rforged", "ok\\rforged"),
    "C1 CSI": ("\x9b2J", "\\x9b2J"),
    "DEL": ("a\x7fb", "a\\x7fb"),
    "NUL": ("a\x00b", "a\\x00b"),
    "right-to-left override": ("a\u202eb", "a\\u202eb"),
    "line separator": ("a\u2028b", "a\\u2028b"),
}


def controls(text: str) -> list[str]:
    """Every character a terminal could act on, but newline and tab."""
    return [
        ch
        for ch in text
        if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
    ]


@pytest.mark.parametrize("raw,shown", HOSTILE.values(), ids=list(HOSTILE))
def test_out_and_error_show_each_control_as_visible_escaped_text(raw: str, shown: str) -> None:
    console, out, err = _console()
    console.out(f"bot said: {raw}")
    console.error(f"bot failed: {raw}")
    assert out.getvalue() == f"bot said: {shown}\n"
    assert err.getvalue() == f"error: bot failed: {shown}\n"


def test_newlines_and_tabs_stay_layout() -> None:
    console, out, _ = _console()
    console.out("a\tb\nc")
    assert out.getvalue() == "a\tb\nc\n"


def test_prompts_show_controls_escaped() -> None:
    console, _, err = _console()
    console.stdin = io.StringIO("n\n")
    console.confirm("Delete \x1b]0;t\x07?")
    assert "\x1b" not in err.getvalue() and "\\x1b]0;t\\x07" in err.getvalue()


def test_json_output_carries_no_raw_control_and_parses_to_the_same_data() -> None:
    console, out, _ = _console()
    data = {"text": "".join(raw for raw, _ in HOSTILE.values()) + " Zürich"}
    console.json(data)
    console.json(data, indent=None)
    first, second = out.getvalue().split("\n}\n")
    assert controls(out.getvalue()) == []
    assert json.loads(first + "}") == data and json.loads(second) == data
    assert "Zürich" in out.getvalue()  # non-ASCII stays readable


def test_a_table_cell_stays_on_its_row() -> None:
    shown = table(["NAME", "DETAIL"], [["a\nforged", "x\ny"]])
    assert shown.splitlines() == ["NAME       DETAIL", "a\\nforged  x\\ny"]
