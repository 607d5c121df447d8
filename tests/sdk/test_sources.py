"""PipeSource: read the hand-over pipe once, close it and forget its number, keep it in memory."""

from __future__ import annotations

import os
import threading
import time

import pytest

from watchdog_lab.sdk import Connection, InjectionError, PipeSource, Source
from watchdog_lab.sdk.injection import FD_ENV_VAR, MAX_ENCODED_CHARS, encode_connections

from .conftest import KEY_ID, handed_over, is_open, make_connection


def payload(*conns: Connection) -> str:
    return encode_connections(conns or [make_connection()]) + "\n"


def environ_for(fd: int) -> dict[str, str]:
    return {"PATH": "/usr/bin", FD_ENV_VAR: str(fd)}


def test_pipe_source_satisfies_the_source_protocol() -> None:
    assert isinstance(PipeSource({}), Source)


def test_nothing_is_read_before_first_use() -> None:
    with handed_over(payload()) as fd:
        environ = environ_for(fd)
        PipeSource(environ)
        assert FD_ENV_VAR in environ and is_open(fd)


def test_first_use_reads_the_pipe_closes_it_and_keeps_the_connections() -> None:
    with handed_over(payload()) as fd:
        environ = environ_for(fd)
        source = PipeSource(environ)
        conn = source.get("kalshi")
        assert not is_open(fd)
        assert conn is not None and conn.api_key_id == KEY_ID
        assert environ == {"PATH": "/usr/bin"}
        assert source.get("kalshi") is conn


def test_the_pipe_is_read_once_and_a_second_reader_gets_nothing() -> None:
    with handed_over(payload()) as fd:
        environ = environ_for(fd)
        first = PipeSource(environ)
        first.preload()
        assert PipeSource(environ).names() == []  # the number is gone with the first read
        assert first.names() == ["Kalshi"]


def test_a_pipe_already_read_is_reported_not_read_again() -> None:
    with handed_over(payload()) as fd:
        PipeSource(environ_for(fd)).preload()
        late = PipeSource(environ_for(fd))  # as if the number had been copied before the read
        with pytest.raises(InjectionError, match="already read"):
            late.names()


def test_a_payload_larger_than_a_pipe_buffer_arrives_whole() -> None:
    big = [Connection(f"c{i}", "x", {"pem": "k" * 20_000}) for i in range(10)]
    with handed_over(payload(*big)) as fd:
        source = PipeSource(environ_for(fd))
        assert len(source.names()) == 10
        conn = source.get("c9")
        assert conn is not None and conn["pem"] == "k" * 20_000


def test_a_payload_over_the_cap_is_refused_clearly_and_the_writer_is_not_left_hanging() -> None:
    with handed_over(b"A" * (MAX_ENCODED_CHARS + 100_000)) as fd:
        source = PipeSource(environ_for(fd))
        with pytest.raises(InjectionError, match=f"more than {MAX_ENCODED_CHARS} characters"):
            source.names()
        assert not is_open(fd)
    # handed_over asserts that its writer thread ended (it got EPIPE once the reader closed).


def test_lookup_keys_are_case_folded_names() -> None:
    with handed_over(payload(Connection("Straße", "custom", {}))) as fd:
        source = PipeSource(environ_for(fd))
        conn = source.get("strasse")
        assert conn is not None and conn.name == "Straße"
        assert source.get("Straße") is None  # the registry folds; the source expects folded keys


def test_names_lists_names_in_hand_over_order() -> None:
    conns = [Connection(n, "custom", {"k": "v"}) for n in ("B", "a", "C")]
    with handed_over(payload(*conns)) as fd:
        assert PipeSource(environ_for(fd)).names() == ["B", "a", "C"]


def test_no_variable_means_no_connections() -> None:
    source = PipeSource({"PATH": "/usr/bin"})
    assert source.names() == []
    assert source.get("kalshi") is None


def test_preload_reads_and_closes_without_a_lookup() -> None:
    with handed_over(payload()) as fd:
        environ = environ_for(fd)
        PipeSource(environ).preload()
        assert FD_ENV_VAR not in environ and not is_open(fd)


def test_a_malformed_payload_is_consumed_and_reported_on_every_use() -> None:
    with handed_over("not*base64url") as fd:
        environ = environ_for(fd)
        source = PipeSource(environ)
        with pytest.raises(InjectionError, match="hand-over") as first:
            source.get("kalshi")
        assert FD_ENV_VAR not in environ and not is_open(fd)
        with pytest.raises(InjectionError) as second:
            source.names()
        assert str(second.value) == str(first.value)
        assert second.value is not first.value
        assert "not*base64url" not in str(first.value)


@pytest.mark.parametrize("number", ["x", "-1", "1", ""])
def test_a_variable_that_is_no_hand_over_descriptor_is_refused(number: str) -> None:
    source = PipeSource({FD_ENV_VAR: number})
    with pytest.raises(InjectionError, match=FD_ENV_VAR):
        source.names()
    os.fstat(1)  # a standard stream is never read nor closed as a hand-over


def test_a_custom_variable_name_is_honoured() -> None:
    with handed_over(payload()) as fd:
        environ = {"OTHER_FD": str(fd)}
        assert PipeSource(environ, variable="OTHER_FD").names() == ["Kalshi"]
        assert environ == {}


class SlowPopEnviron(dict[str, str]):
    """An environment whose removal is slow, to widen any race between first uses."""

    def pop(self, key: str, *default: str | None) -> str | None:  # type: ignore[override]
        time.sleep(0.05)
        return super().pop(key, *default)


def test_concurrent_first_uses_all_see_the_same_connections() -> None:
    with handed_over(payload()) as fd:
        source = PipeSource(SlowPopEnviron(environ_for(fd)))
        barrier = threading.Barrier(6)
        results: list[Connection | None] = []

        def look_up() -> None:
            barrier.wait()
            results.append(source.get("kalshi"))

        threads = [threading.Thread(target=look_up) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 6
        assert results[0] is not None and all(result is results[0] for result in results)
