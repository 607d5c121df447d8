"""A redacting stdout/stderr: no secret gets out, even when written in pieces."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import random
import string
import threading
from pathlib import Path

import pytest

from watchdog_lab.redact import RedactingStream, Redactor

SECRET = "split-me-secret-value-42"
MARK = "[REDACTED:bot.key]"
REDACTOR = Redactor([("bot", "key", SECRET)])


def _stream(**kwargs: int) -> tuple[RedactingStream, io.StringIO]:
    inner = io.StringIO()
    return RedactingStream(inner, REDACTOR, **kwargs), inner


def test_a_secret_split_across_two_writes_never_reaches_the_stream() -> None:
    stream, inner = _stream()
    stream.write("order sent with key " + SECRET[:10])
    assert SECRET[:10] not in inner.getvalue()
    stream.write(SECRET[10:] + " ok\n")
    assert inner.getvalue() == f"order sent with key {MARK} ok\n"


def test_a_secret_written_one_character_at_a_time_is_redacted() -> None:
    stream, inner = _stream()
    for char in f"a {SECRET} b\nc {SECRET}\n":
        stream.write(char)
    assert inner.getvalue() == f"a {MARK} b\nc {MARK}\n"


def test_complete_lines_go_out_at_once_and_partial_lines_at_flush() -> None:
    stream, inner = _stream()
    stream.write("line one\npartial")
    assert inner.getvalue() == "line one\n"
    stream.flush()
    assert inner.getvalue() == "line one\npartial"


def test_print_through_the_stream_redacts() -> None:
    stream, inner = _stream()
    print("key:", SECRET, "end", file=stream)
    assert inner.getvalue() == f"key: {MARK} end\n"


def test_redirected_stdout_is_redacted() -> None:
    stream, inner = _stream()
    with contextlib.redirect_stdout(stream):
        print(SECRET)
    assert inner.getvalue() == f"{MARK}\n"


def test_a_long_line_is_let_out_in_bounded_pieces_without_splitting_a_secret() -> None:
    rng = random.Random(3)
    pieces = []
    for _ in range(60):
        pieces.append("".join(rng.choices(string.ascii_lowercase + " ", k=rng.randrange(1, 9000))))
        pieces.append(SECRET)
    text = "".join(pieces)
    stream, inner = _stream(max_held=16 * 1024)
    limit = max(16 * 1024, 2 * REDACTOR.max_match_length)
    written = 0
    # Chunk sizes that cut secrets at every possible place.
    while written < len(text):
        size = rng.randrange(1, 3000)
        stream.write(text[written : written + size])
        written += size
        held = written - len(inner.getvalue().replace(MARK, SECRET))
        assert held <= limit
        assert SECRET[:12] not in inner.getvalue()
    stream.flush()
    assert inner.getvalue() == text.replace(SECRET, MARK)


def test_a_multi_line_value_in_one_write_is_held_until_complete() -> None:
    value = "first-line-of-secret\nsecond-line-of-secret"
    stream = RedactingStream(io.StringIO(), Redactor([("svc", "json", value)]))
    inner = stream.wrapped
    stream.write("pre " + value)
    assert "first-line-of-secret" not in inner.getvalue()  # type: ignore[attr-defined]
    stream.write(" post\n")
    assert inner.getvalue() == "pre [REDACTED:svc.json] post\n"  # type: ignore[attr-defined]


def _unknown_key() -> list[str]:
    body = base64.b64encode(random.Random(9).randbytes(900)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ["-----BEGIN PRIVATE KEY-----", *lines, "-----END PRIVATE KEY-----"]


def test_a_private_key_printed_line_by_line_is_held_and_redacted_whole() -> None:
    stream, inner = _stream()
    print("loaded key:", file=stream)
    for line in _unknown_key():
        print(line, file=stream)
        assert "BEGIN PRIVATE KEY" not in inner.getvalue()
        assert _unknown_key()[2] not in inner.getvalue()
    print("done", file=stream)
    assert inner.getvalue() == "loaded key:\n[REDACTED:pem-private-key]\ndone\n"


def test_a_truncated_private_key_is_redacted_to_the_end_at_flush() -> None:
    stream, inner = _stream()
    for line in _unknown_key()[:5]:
        print(line, file=stream)
    stream.flush()
    assert inner.getvalue() == "[REDACTED:pem-private-key]"


def test_a_key_that_never_ends_is_let_out_redacted_once_the_hold_limit_is_passed() -> None:
    stream, inner = _stream(max_held=16 * 1024)
    limit = max(16 * 1024, 2 * REDACTOR.max_match_length)
    lines = _unknown_key()[:-1]
    body = lines[1:] * (limit // (65 * len(lines[1:])) + 2)
    print(lines[0], file=stream)
    for line in body:
        print(line, file=stream)
    assert inner.getvalue().startswith("[REDACTED:pem-private-key]")
    print("-----END PRIVATE KEY-----", file=stream)
    print("done", file=stream)
    out = inner.getvalue()
    assert out.endswith("[REDACTED:pem-private-key]\ndone\n")
    assert not any(line in out for line in body)


def test_close_flushes_what_is_held_and_refuses_later_writes() -> None:
    stream, inner = _stream()
    stream.write("tail " + SECRET)
    stream.close()
    assert inner.getvalue() == f"tail {MARK}"
    with pytest.raises(ValueError, match="closed"):
        stream.write("more")


def test_write_refuses_bytes() -> None:
    stream, _ = _stream()
    with pytest.raises(TypeError, match="str"):
        stream.write(SECRET.encode())  # type: ignore[arg-type]


def test_encoding_fileno_and_isatty_are_the_wrapped_streams(tmp_path: Path) -> None:
    with open(tmp_path / "out.txt", "w", encoding="latin-1") as handle:
        stream = RedactingStream(handle, REDACTOR)
        assert stream.encoding == "latin-1"
        assert stream.fileno() == handle.fileno()
        assert stream.isatty() is False
        assert stream.writable() and not stream.readable()
        stream.write(SECRET + "\n")
        stream.flush()
    assert (tmp_path / "out.txt").read_text(encoding="latin-1") == f"{MARK}\n"


def test_isatty_is_true_on_a_terminal() -> None:
    leader, follower = os.openpty()
    try:
        with open(follower, "w", closefd=False) as tty:
            assert RedactingStream(tty, REDACTOR).isatty() is True
    finally:
        os.close(leader)
        os.close(follower)


def test_there_is_no_binary_buffer_to_bypass_redaction() -> None:
    stream, _ = _stream()
    assert not hasattr(stream, "buffer")


def test_threads_printing_at_once_leak_nothing() -> None:
    stream, inner = _stream()

    def worker(n: int) -> None:
        for i in range(200):
            print(f"worker {n} line {i} key={SECRET}", file=stream)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stream.flush()
    out = inner.getvalue()
    assert SECRET not in out
    assert out.count(MARK) == 800


def _fake_pem(seed: int) -> str:
    der = b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00" + random.Random(seed).randbytes(1180)
    body = base64.b64encode(der).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----\n"


def _readable_windows(out: str, encoded: str, size: int = 16) -> list[str]:
    return [
        encoded[i : i + size]
        for i in range(len(encoded) - size + 1)
        if encoded[i : i + size] in out
    ]


def test_mime_base64_of_a_key_printed_line_by_line_never_shows_a_line() -> None:
    key = _fake_pem(21)
    redactor = Redactor([("kalshi", "private_key", key)])
    inner = io.StringIO()
    stream = RedactingStream(inner, redactor)
    mime_lines = base64.encodebytes(key.encode()).decode().splitlines()
    for line in mime_lines:
        print(line, file=stream)
        assert not any(_readable_windows(inner.getvalue(), line) for line in mime_lines)
    print("done", file=stream)
    stream.flush()
    assert inner.getvalue() == "[REDACTED:kalshi.private_key]\ndone\n"


def test_a_short_tail_of_a_copy_on_a_line_of_its_own_is_held_and_redacted() -> None:
    value = "Zq8Lm7Wx2Pa4Tt7kR9Ne4Bv5Hy6Jc3Ud1Fs0Go2Ei7Ow3Yx5Qp"
    redactor = Redactor([("bot", "api_secret", value)])
    inner = io.StringIO()
    stream = RedactingStream(inner, redactor)
    print(value[:40], file=stream)  # the first 40 characters, then the last 10 on their own
    assert value[:16] not in inner.getvalue()
    print(value[40:], file=stream)
    print("next record", file=stream)
    assert inner.getvalue() == "[REDACTED:bot.api_secret]\nnext record\n"


def test_a_window_of_a_value_split_across_writes_is_redacted() -> None:
    value = "Zq8Lm7Wx2Pa4Tt7kR9Ne4Bv5Hy6Jc3Ud1Fs0Go2Ei7Ow3Yx5Qp"
    inner = io.StringIO()
    stream = RedactingStream(inner, Redactor([("bot", "api_secret", value)]))
    for piece in ("token=", value[5:14], value[14:30], " ok\n"):
        stream.write(piece)
    assert inner.getvalue() == "token=[REDACTED:bot.api_secret] ok\n"
