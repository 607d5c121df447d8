"""The bot log: redacted, sequenced, torn-line tolerant."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from traitlets.config import Config

from watchdog_lab.bots.logs import (
    MAX_TEXT,
    LogCursor,
    LogWriter,
    follow,
    last_seq,
    log_files,
    read_records,
    tail_records,
)
from watchdog_lab.bots.models import MIN_LOG_MAX_BYTES, LogRecord, LogRotation
from watchdog_lab.errors import InvalidSetting
from watchdog_lab.redact import Redactor
from watchdog_lab.server.log_stream import read_page, read_tail
from watchdog_lab.settings import load_settings
from watchdog_lab.vault import Vault

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


# ------------------------------------------------------------------------------ rotation

#: The smallest rotation allowed, keeping three files; records of ~50 KB fill a file in ten.
SMALL = LogRotation(max_bytes=MIN_LOG_MAX_BYTES, keep_files=3)
BULK = 50_000


def _bulk(path: Path, count: int, rotation: LogRotation = SMALL) -> None:
    w = LogWriter(path, Redactor(), rotation)
    try:
        for _ in range(count):
            w.write("stdout", "x" * BULK)
    finally:
        w.close()


def _seqs(records: list[LogRecord]) -> list[int]:
    return [r.seq for r in records]


def test_a_full_file_rotates_and_only_keep_files_remain_each_within_max_bytes(
    tmp_path: Path,
) -> None:
    log = tmp_path / "bot.jsonl"
    _bulk(log, 60)  # about six files' worth
    files = log_files(log)
    assert [f.name for f in files] == ["bot.jsonl.2", "bot.jsonl.1", "bot.jsonl"]
    sizes = [f.stat().st_size for f in files]
    assert all(0 < size <= SMALL.max_bytes for size in sizes), sizes
    assert sum(sizes) <= SMALL.keep_files * SMALL.max_bytes


def test_sequence_numbers_go_on_across_files_and_the_oldest_file_is_dropped(
    tmp_path: Path,
) -> None:
    log = tmp_path / "bot.jsonl"
    _bulk(log, 60)
    per_file = [_seqs(list(_lines(f))) for f in log_files(log)]
    joined = [seq for seqs in per_file for seq in seqs]
    assert joined == list(range(joined[0], 61)) and joined[0] > 1
    assert _seqs(read_records(log)) == joined


def _lines(path: Path) -> list[LogRecord]:
    return [LogRecord.model_validate_json(line) for line in path.read_bytes().splitlines()]


def test_a_new_writer_goes_on_after_the_highest_seq_when_the_current_file_is_gone(
    tmp_path: Path,
) -> None:
    log = tmp_path / "bot.jsonl"
    _bulk(log, 25)
    # A rotation killed after renaming the current file, before its successor took the name.
    log.with_name("bot.jsonl.2").unlink()
    log.with_name("bot.jsonl.1").rename(log.with_name("bot.jsonl.2"))
    log.rename(log.with_name("bot.jsonl.1"))
    kept = _seqs(read_records(log))
    assert kept[-1] == last_seq(log) == 25
    _bulk(log, 1)
    assert _seqs(read_records(log)) == [*kept, 26]


def test_a_record_of_the_longest_text_fits_in_the_smallest_file(tmp_path: Path) -> None:
    """Every character escaped to six bytes: still less than a file, so no file overflows."""
    log = tmp_path / "bot.jsonl"
    w = LogWriter(log, Redactor(), SMALL)
    w.write("stdout", "\x01" * (2 * MAX_TEXT), cell=10**6, run=10**6)
    w.close()
    assert MAX_TEXT * 6 < log.stat().st_size <= MIN_LOG_MAX_BYTES


def test_a_cursor_reading_while_the_log_rotates_gets_every_record_once(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    wide = LogRotation(max_bytes=MIN_LOG_MAX_BYTES, keep_files=50)
    w = LogWriter(log, Redactor(), wide)
    cursor = LogCursor.after_seq(log, 0)
    got: list[int] = []
    for _ in range(8):  # each step rotates about twice between two polls
        for _ in range(20):
            w.write("stdout", "y" * BULK)
        while batch := cursor.poll():
            got += _seqs(batch)
    w.close()
    assert len(log_files(log)) > 10
    assert got == list(range(1, 161))


def test_a_cursor_polling_beside_a_writer_thread_gets_every_record_once(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    w = LogWriter(log, Redactor(), LogRotation(max_bytes=MIN_LOG_MAX_BYTES, keep_files=20))
    done = threading.Event()

    def write() -> None:
        for i in range(300):
            w.write("stdout", f"{i} " + "z" * (BULK // 5))
        done.set()

    writer = threading.Thread(target=write)
    cursor = LogCursor(log)
    got: list[int] = []
    writer.start()
    while not done.is_set() or cursor.behind:
        got += _seqs(cursor.poll(max_bytes=64 * 1024))
    got += _seqs(cursor.poll())
    writer.join()
    w.close()
    assert len(log_files(log)) > 3
    assert got == list(range(1, 301))


def test_a_reader_whose_file_was_deleted_resumes_at_the_oldest_record_kept(
    tmp_path: Path,
) -> None:
    log = tmp_path / "bot.jsonl"
    _bulk(log, 5)
    cursor = LogCursor.after_seq(log, 0)
    assert _seqs(cursor.poll()) == [1, 2, 3, 4, 5]
    _bulk(log, 55)  # its file rotated past keep_files, and deleted
    rest = _seqs(read_records(log))
    got: list[int] = []
    while batch := cursor.poll():
        got += _seqs(batch)
    assert got == rest and rest[0] > 6


def test_pages_and_tails_read_across_files(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    _bulk(log, 60)
    firsts = [_lines(f)[0].seq for f in log_files(log)]
    boundary = firsts[1]
    assert _seqs(read_records(log, after=boundary - 3, limit=5)) == list(
        range(boundary - 2, boundary + 3)
    )
    assert _seqs(read_page(log, after=boundary - 3, limit=5)) == list(
        range(boundary - 2, boundary + 3)
    )
    spanning = 60 - firsts[-1] + 4  # the current file's records and four before
    assert _seqs(tail_records(log, spanning)) == list(range(61 - spanning, 61))
    assert _seqs(read_tail(log, spanning)) == list(range(61 - spanning, 61))
    assert _seqs(LogCursor.tail(log, 3).poll()) == [58, 59, 60]


def test_follow_crosses_rotations(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    _bulk(log, 2)
    done = threading.Event()

    def later() -> None:
        _bulk(log, 40, LogRotation(max_bytes=MIN_LOG_MAX_BYTES, keep_files=10))
        done.set()

    threading.Thread(target=later).start()
    seen = [r.seq for r in follow(log, after=2, poll=0.01, stop=done.is_set)]
    assert len(log_files(log)) > 3
    assert seen == list(range(3, 43))


def test_fewer_files_kept_take_effect_at_the_next_rotation(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    _bulk(log, 60, LogRotation(max_bytes=MIN_LOG_MAX_BYTES, keep_files=6))
    assert len(log_files(log)) == 6
    _bulk(log, 10)  # kept: 3
    assert [f.name for f in log_files(log)] == ["bot.jsonl.2", "bot.jsonl.1", "bot.jsonl"]
    seqs = _seqs(read_records(log))
    assert seqs == list(range(seqs[0], 71))


def test_a_rotation_that_cannot_create_its_new_file_keeps_writing_the_old_one(
    tmp_path: Path,
) -> None:
    log = tmp_path / "bot.jsonl"
    (tmp_path / "bot.jsonl.next").mkdir()  # the new file cannot be made
    _bulk(log, 15)
    assert log_files(log) == [log] and log.stat().st_size > MIN_LOG_MAX_BYTES
    assert _seqs(read_records(log)) == list(range(1, 16))


def test_a_lone_surrogate_is_logged_replaced_not_raised(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    w = _writer(log)
    w.write("stdout", "a\ud800b")
    w.write("stdout", "next")
    w.close()
    assert [r.text for r in read_records(log)] == ["a?b", "next"]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("bot_log_max_bytes", MIN_LOG_MAX_BYTES - 1, f"outside {MIN_LOG_MAX_BYTES} to"),
        ("bot_log_max_bytes", 0, "bytes"),
        ("bot_log_keep_files", 1, "outside 2 to 1000 files"),
        ("bot_log_keep_files", 1001, "outside 2 to 1000 files"),
    ],
)
def test_a_rotation_setting_out_of_range_is_refused_naming_it(
    name: str, value: int, says: str
) -> None:
    with pytest.raises(InvalidSetting) as refused:
        load_settings(Config({"WatchdogLab": {name: value}}))
    assert f"c.WatchdogLab.{name}" in str(refused.value) and says in str(refused.value)


def test_the_rotation_settings_reach_the_bot_manager(tmp_path: Path) -> None:
    settings = load_settings(
        Config({"WatchdogLab": {"bot_log_max_bytes": 2**20, "bot_log_keep_files": 7}})
    )
    manager = settings.bot_manager(Vault(tmp_path / "home"))
    assert manager.log_rotation == LogRotation(max_bytes=2**20, keep_files=7)


#: A writer whose file may not grow past a limit for a while (``RLIMIT_FSIZE``): the record
#: crossing it is written in part (a short write), the next ones not at all.
LIMITED_WRITER = """
import json, os, resource, signal, sys
from pathlib import Path
from watchdog_lab.bots.logs import LogWriter, iter_records
from watchdog_lab.redact import Redactor

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
log = Path(sys.argv[1])
writer = LogWriter(log, Redactor())
for i in range(5):
    writer.write("stdout", f"before {i} " + "b" * 100)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (log.stat().st_size + 150, hard))
for i in range(5):
    writer.write("stdout", f"limited {i} " + "l" * 100)
dropped = writer.dropped
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
writer.write("stdout", "after")
writer.close()
print(json.dumps({"dropped": dropped, "records": [r.model_dump() for r in iter_records(log)]}))
"""


def test_records_cut_short_or_refused_by_the_file_are_counted_and_leave_no_gap(
    tmp_path: Path,
) -> None:
    log = tmp_path / "bot.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", LIMITED_WRITER, str(log)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout)
    texts = [r["text"] for r in result["records"]]
    assert [r["seq"] for r in result["records"]] == list(range(1, len(texts) + 1))
    written = [t for t in texts if t.startswith("limited")]
    assert written == [] and result["dropped"] == 5  # the one cut short among them
    assert texts[-2] == f"{result['dropped']} log record(s) could not be written: file too large"
    assert texts[-1] == "after" and texts[:5] == [f"before {i} " + "b" * 100 for i in range(5)]
    assert b'"text":"limited 0 l' in log.read_bytes()  # its start did reach the file: cut short
