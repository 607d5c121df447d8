"""Reading bot logs for REST (watchdog_lab/server/log_stream.py) and the live SSE route."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from traitlets.config import Config

from watchdog_lab.bots.logs import LogWriter
from watchdog_lab.bots.models import LogRecord
from watchdog_lab.redact import Redactor
from watchdog_lab.server import bot_handlers
from watchdog_lab.server.log_stream import (
    BISECT_WINDOW,
    LogCursor,
    offset_after,
    read_page,
    read_tail,
)
from watchdog_lab.vault import CreateConnection

from .botapi import LOOP_FOREVER, SseStream, bot_path, open_stream, promote, wait_bot
from .botapi import write_notebook as make_notebook

PASSWORD = "correct horse battery staple"


def write_log(path: Path, count: int, width: int = 100) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = LogWriter(path, Redactor())
    try:
        for i in range(count):
            writer.write("stdout", f"record {i + 1} " + "x" * width)
    finally:
        writer.close()


def drain(cursor: LogCursor) -> list[LogRecord]:
    out: list[LogRecord] = []
    while batch := cursor.poll():
        out.extend(batch)
    return out


# ------------------------------------------------------------------------ reading the file


@pytest.mark.parametrize("after", [0, 1, 777, 2999, 3000, 9999])
def test_a_cursor_after_a_seq_yields_exactly_the_later_records(tmp_path: Path, after: int) -> None:
    log = tmp_path / "bot.jsonl"
    write_log(log, 3000)
    assert log.stat().st_size > 4 * BISECT_WINDOW
    seqs = [r.seq for r in drain(LogCursor.after_seq(log, after))]
    assert seqs == list(range(after + 1, 3001))


def test_finding_a_late_seq_skips_most_of_the_file(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    write_log(log, 3000)
    size = log.stat().st_size
    assert size - offset_after(log, 2990) <= BISECT_WINDOW + 10 * 200


def test_a_line_still_being_written_is_held_back_until_it_is_complete(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    write_log(log, 2)
    line = LogRecord(seq=3, ts=1.0, stream="stdout", text="late").model_dump_json() + "\n"
    cursor = LogCursor(log)
    assert [r.seq for r in cursor.poll()] == [1, 2]
    with log.open("ab") as handle:
        handle.write(line[:10].encode())
    assert cursor.poll() == []
    with log.open("ab") as handle:
        handle.write(line[10:].encode())
    assert [(r.seq, r.text) for r in cursor.poll()] == [(3, "late")]


def test_a_torn_line_sealed_by_the_next_writer_is_skipped(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    write_log(log, 2)
    with log.open("ab") as handle:
        handle.write(b'{"seq": 3, "ts": 1.0, "str')  # a runner killed mid-write
    write_log(log, 1)  # the next runner seals the line and goes on with seq 3
    assert [r.seq for r in drain(LogCursor(log))] == [1, 2, 3]


def test_one_poll_reads_at_most_max_bytes_and_says_more_is_waiting(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    write_log(log, 100)
    cursor = LogCursor(log)
    first = cursor.poll(max_bytes=1000)
    assert 0 < len(first) < 10 and cursor.behind
    rest = drain(cursor)
    assert [r.seq for r in first + rest] == list(range(1, 101)) and not cursor.behind


def test_a_log_replaced_under_the_cursor_is_reread_without_repeating_records(
    tmp_path: Path,
) -> None:
    log = tmp_path / "bot.jsonl"
    write_log(log, 50)
    cursor = LogCursor(log)
    assert len(drain(cursor)) == 50
    log.write_bytes(b"")
    writer = LogWriter(log, Redactor())
    writer.seq = 50  # sequence numbers go on across a rotation
    writer.write("stdout", "after rotation")
    writer.close()
    assert [(r.seq, r.text) for r in cursor.poll()] == [(51, "after rotation")]


def test_tail_and_page_reads_return_the_asked_slices(tmp_path: Path) -> None:
    log = tmp_path / "bot.jsonl"
    write_log(log, 1200)
    assert [r.seq for r in read_tail(log, 3)] == [1198, 1199, 1200]
    assert len(read_tail(log, 5000)) == 1200
    assert read_tail(log, 0) == []
    assert [r.seq for r in read_page(log, after=10, limit=4)] == [11, 12, 13, 14]
    assert read_page(log, after=1200, limit=10) == []
    assert read_page(tmp_path / "missing.jsonl", after=0, limit=10) == []


# ------------------------------------------------------------------------- the SSE route


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    return bots_server_config


@pytest.fixture
def vault(make_vault):  # type: ignore[no-untyped-def]
    return make_vault(PASSWORD)


StreamOpener = Callable[..., Awaitable[SseStream]]


@pytest.fixture
def stream(
    jp_serverapp, jp_http_port: int, jp_base_url: str, jp_auth_header, jp_asyncio_loop, stop_bots
) -> Iterator[StreamOpener]:  # type: ignore[no-untyped-def]
    """Opens ``bots/{ref}/logs/stream`` on the test server; closes every stream afterwards."""
    opened: list[SseStream] = []

    async def open_(ref: str, query: str = "", headers: dict[str, str] | None = None, auth=True):  # type: ignore[no-untyped-def]
        url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}watchdog-lab/"
        url += bot_path(ref, "logs", "stream") + (f"?{query}" if query else "")
        sent = {**(jp_auth_header if auth else {}), **(headers or {})}
        opened.append(await open_stream(url, sent))
        return opened[-1]

    yield open_
    for s in opened:
        jp_asyncio_loop.run_until_complete(s.close())


async def events(s: SseStream, count: int, timeout: float = 20.0) -> list:  # type: ignore[type-arg]
    return [await s.next_event(timeout) for _ in range(count)]


async def finished_bot(api, root: Path, name: str, lines: int) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    """A once bot that printed ``lines`` lines and finished; its records from the logs route."""
    code = (
        f"import time\nfor i in range({lines}):\n"
        "    print('line', i, flush=True)\n    time.sleep(0.01)"
    )
    make_notebook(root / f"{name}.ipynb", code)
    await promote(api, notebook=f"{name}.ipynb", name=name, start=True)
    await wait_bot(api, name, lambda b: b["status"]["reason"] == "finished", what="finished")
    return (await api.get(bot_path(name, "logs"))).json["records"]


async def test_the_stream_sends_every_record_in_order_with_its_seq_as_event_id(
    api, vault, jp_root_dir: Path, stream: StreamOpener
) -> None:
    records = await finished_bot(api, jp_root_dir, "Lines", 10)
    s = await stream("Lines", "after=0")
    assert s.status == 200
    assert s.headers["content-type"].startswith("text/event-stream")
    assert s.headers["content-security-policy"].startswith("default-src 'none'")
    got = await events(s, len(records))
    assert [e.id for e in got] == [str(r["seq"]) for r in records]
    assert [e.json() for e in got] == records


async def test_last_event_id_resumes_right_after_that_record(
    api, vault, jp_root_dir: Path, stream: StreamOpener
) -> None:
    records = await finished_bot(api, jp_root_dir, "Resume", 10)
    resume_from = records[4]["seq"]
    s = await stream("Resume", "after=0", headers={"Last-Event-ID": str(resume_from)})
    got = await events(s, len(records) - 5)
    assert [int(e.id) for e in got] == [r["seq"] for r in records[5:]]


async def test_without_a_position_the_stream_starts_with_the_last_records(
    api, vault, jp_root_dir: Path, stream: StreamOpener
) -> None:
    records = await finished_bot(api, jp_root_dir, "Tail", 10)
    s = await stream("Tail", "tail=3")
    got = await events(s, 3)
    assert [int(e.id) for e in got] == [r["seq"] for r in records[-3:]]


async def test_records_a_running_bot_prints_arrive_while_the_stream_is_open(
    api, vault, jp_root_dir: Path, stream: StreamOpener
) -> None:
    make_notebook(jp_root_dir / "loop.ipynb", LOOP_FOREVER)
    await promote(api, notebook="loop.ipynb", name="Ticker", mode="continuous", start=True)
    s = await stream("Ticker", "tail=0")
    ticks: list[int] = []
    lags: list[float] = []
    while len(ticks) < 8:
        event = await s.next_event(timeout=30)
        record = event.json()
        if record["stream"] == "stdout":
            ticks.extend(int(line.split()[1]) for line in record["text"].splitlines())
            lags.append(event.received_at - record["ts"])
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))
    assert max(lags) < 2.0, lags


async def test_a_secret_the_server_knows_is_redacted_in_the_stream(
    api, vault, watchdog_app, jp_root_dir: Path, stream: StreamOpener
) -> None:
    secret = "desk-" + "Wm4Tz9Qa" * 4  # matches no pattern: only a known value can catch it
    watchdog_app.vault.unlock(PASSWORD)
    watchdog_app.vault.add_connection(
        CreateConnection(name="Git", kind="generic", fields={"token": secret})
    )
    watchdog_app.refresh_redactor()
    make_notebook(jp_root_dir / "a.ipynb", "print(1)")
    bot = await promote(api, notebook="a.ipynb", name="Ungranted")
    log = watchdog_app.bots.paths(bot["id"]).log_file
    writer = LogWriter(log, Redactor())  # a runner that was never told this value
    writer.write("stdout", f"token={secret}")
    writer.close()
    assert secret in log.read_text()
    s = await stream("Ungranted", "tail=1")
    event = await s.next_event()
    assert secret not in event.data
    assert "[REDACTED:Git.token]" in event.json()["text"]


async def test_a_quiet_stream_sends_heartbeats_and_ends_when_the_bot_is_deleted(
    api, vault, jp_root_dir: Path, stream: StreamOpener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot_handlers, "HEARTBEAT_SECONDS", 0.3)
    make_notebook(jp_root_dir / "a.ipynb", "print(1)")
    await promote(api, notebook="a.ipynb", name="Quiet")
    s = await stream("Quiet", "tail=0")
    deadline = time.monotonic() + 10
    while "keep-alive" not in s.comments and time.monotonic() < deadline:
        with pytest.raises(TimeoutError):
            await s.next_event(timeout=0.5)
    assert "keep-alive" in s.comments
    assert (await api.delete(bot_path("Quiet"))).code == 204
    end = await s.next_event(timeout=10)
    assert end.event == "end" and end.json() == {"reason": "deleted"}


async def test_the_stream_stops_polling_when_the_client_goes_away(
    api, vault, jp_root_dir: Path, stream: StreamOpener, monkeypatch: pytest.MonkeyPatch
) -> None:
    polls: list[LogCursor] = []
    poll = LogCursor.poll
    handler_done = asyncio.Event()
    get = bot_handlers.BotLogStreamHandler.get

    def counting(self: LogCursor, *args, **kwargs):  # type: ignore[no-untyped-def]
        polls.append(self)
        return poll(self, *args, **kwargs)

    async def get_then_mark(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            await get(self, *args, **kwargs)
        finally:
            handler_done.set()

    monkeypatch.setattr(LogCursor, "poll", counting)
    monkeypatch.setattr(bot_handlers.BotLogStreamHandler, "get", get_then_mark)
    make_notebook(jp_root_dir / "a.ipynb", "print(1)")
    await promote(api, notebook="a.ipynb", name="Leaving")
    s = await stream("Leaving", "tail=0")
    deadline = time.monotonic() + 10
    while len(polls) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert len(polls) >= 2, "the open stream polls"
    assert not handler_done.is_set()
    await s.close()
    # The handler itself returns: nothing is left on the server to poll for a gone client.
    await asyncio.wait_for(handler_done.wait(), timeout=10)


async def test_the_stream_refuses_a_missing_token_an_unknown_bot_and_a_bad_event_id(
    api, vault, jp_root_dir: Path, stream: StreamOpener
) -> None:
    make_notebook(jp_root_dir / "a.ipynb", "print(1)")
    await promote(api, notebook="a.ipynb", name="Guarded")
    assert (await stream("Guarded", auth=False)).status == 403
    assert (await stream("Nobody")).status == 404
    bad = await stream("Guarded", headers={"Last-Event-ID": "abc"})
    assert bad.status == 400
    assert json.loads(await bad.body())["reason"] == "invalid_query"


def test_sse_events_are_single_data_lines_whatever_the_text() -> None:
    """A record's text may hold newlines; the event must still be one ``data:`` line."""
    record = LogRecord(seq=7, ts=1.0, stream="stdout", text="a\nb\r\nc\n\n")

    class Plain:
        redactor = Redactor()

    text = bot_handlers.BotLogStreamHandler._event(Plain(), record)  # type: ignore[arg-type]
    assert text.endswith("\n\n") and text.count("\n") == 3
    assert text.startswith("id: 7\ndata: ")
    assert LogRecord.model_validate_json(text.split("data: ", 1)[1]) == record
