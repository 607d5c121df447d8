"""The Logs tab's buffer and levels (watchdog_lab/ipython/panel/logs.py), without a kernel."""

from __future__ import annotations

from watchdog_lab.ipython.panel.logs import LogBuffer, level_of, lines_of, render


def record(seq: int, text: str, stream: str = "stdout") -> dict[str, object]:
    return {"seq": seq, "ts": 1_700_000_000.0 + seq, "stream": stream, "text": text}


def test_the_buffer_keeps_only_the_newest_lines() -> None:
    buffer = LogBuffer(limit=100)
    buffer.add(record(i, f"line {i}\n") for i in range(1000))
    assert len(buffer.lines) == 100
    assert buffer.lines[0].text == "line 900"
    assert buffer.lines[-1].text == "line 999"


def test_the_view_shows_the_newest_matching_lines_only() -> None:
    buffer = LogBuffer()
    buffer.add(record(i, f"INFO tick {i}") for i in range(500))
    shown = buffer.matching("debug", "", limit=50)
    assert [line.text for line in shown] == [f"INFO tick {i}" for i in range(450, 500)]


def test_the_level_filter_keeps_that_level_and_above() -> None:
    buffer = LogBuffer()
    buffer.add(
        [
            record(1, "DEBUG noisy"),
            record(2, "INFO fine"),
            record(3, "WARNING odd"),
            record(4, "Traceback (most recent call last):\nKeyError: 'x'", stream="error"),
        ]
    )
    assert [line.text for line in buffer.matching("warning", "")] == [
        "WARNING odd",
        "Traceback (most recent call last):",
        "KeyError: 'x'",
    ]


def test_the_text_filter_ignores_case() -> None:
    buffer = LogBuffer()
    buffer.add([record(1, "Order FILLED"), record(2, "order cancelled")])
    assert [line.text for line in buffer.matching("debug", "filled")] == ["Order FILLED"]


def test_levels_are_read_as_the_sidebar_reads_them() -> None:
    assert level_of("stdout", "2026-01-01 12:00:00 ERROR boom") == "error"
    assert level_of("stdout", "x" * 60 + " ERROR deep in the message") == "info"
    assert level_of("system", "run 3 failed: KeyError") == "warning"
    assert level_of("system", "giving up after 5 failures") == "error"
    assert level_of("error", "anything") == "error"


def test_a_record_of_several_lines_is_split() -> None:
    lines = lines_of(record(7, "a\r\nb\nc\n"))
    assert [line.text for line in lines] == ["a", "b", "c"]
    assert {line.seq for line in lines} == {7}


def test_shown_lines_are_escaped() -> None:
    buffer = LogBuffer()
    buffer.add([record(1, "<img src=x onerror=alert(1)> \x1b[31mred")])
    html = render(buffer.matching("debug", ""))
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "\x1b" not in html
