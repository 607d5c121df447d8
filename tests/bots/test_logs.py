"""The bot log: redacted, sequenced, torn-line tolerant."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from watchdog_lab.bots.logs import LogWriter, follow, last_seq, read_records, tail_records
from watchdog_lab.redact import Redactor

SECRET = "sk_live_abcdefghijklmnop1234"


def _writer(path: Path) -> LogWriter:
    return LogWriter(path, Redactor([("Ex", "secret", SECRET)]))


def test_records_are_redacted_and_sequenced(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    w = _writer(log)
    w.write("stdout", f"key={SECRET}\n", cell=0, run=1)
    w.write("stderr", "plain")
    w.close()
    records = read_records(log)
    assert [r.seq for r in records] == [1, 2]
    assert SECRET not in log.read_text()
    assert records[0].text == "key=[REDACTED:Ex.secret]\n" and records[0].cell == 0


def test_sequence_continues_after_a_new_writer(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    for _ in range(3):
        w = _writer(log)
        w.write("stdout", "x")
        w.close()
    assert [r.seq for r in read_records(log)] == [1, 2, 3]


def test_a_torn_last_line_is_skipped_and_sealed(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    w = _writer(log)
    w.write("stdout", "one")
    w.close()
    with log.open("ab") as handle:
        handle.write(b'{"seq": 2, "ts": 1, "stre')  # a writer killed mid-line
    assert last_seq(log) == 1
    w = _writer(log)
    w.write("stdout", "two")
    w.close()
    assert [(r.seq, r.text) for r in read_records(log)] == [(1, "one"), (2, "two")]


def test_after_and_limit_and_tail(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    w = _writer(log)
    for i in range(10):
        w.write("stdout", str(i))
    w.close()
    assert [r.seq for r in read_records(log, after=4, limit=3)] == [5, 6, 7]
    assert [r.seq for r in tail_records(log, 2)] == [9, 10]


def test_huge_output_is_truncated_not_dropped(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    w = _writer(log)
    w.write("stdout", "x" * 200_000)
    w.close()
    (record,) = read_records(log)
    assert len(record.text) < 70_000 and record.text.endswith(
        "truncated: output longer than 64 KiB]"
    )


def test_follow_yields_records_as_they_are_written(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    w = _writer(log)
    w.write("stdout", "before")
    done = threading.Event()

    def later() -> None:
        time.sleep(0.2)
        w.write("stdout", "after")
        time.sleep(0.2)
        done.set()

    threading.Thread(target=later).start()
    seen = [r.text for r in follow(log, after=1, poll=0.02, stop=done.is_set)]
    w.close()
    assert seen == ["after"]
