"""wd.connection(): case-insensitive lookup across sources, and a real hand-over pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import watchdog_lab
from watchdog_lab.sdk import Connection, ConnectionNotAvailable, PipeSource, Registry
from watchdog_lab.sdk.injection import FD_ENV_VAR, encode_connections

from .conftest import KEY_ID, PEM, TOKEN, handed_over, make_connection

REPO_ROOT = Path(watchdog_lab.__file__).resolve().parents[1]


class DictSource:
    """A stand-in for another source (such as a kernel broker): connections held in a dict."""

    def __init__(self, *conns: Connection) -> None:
        self.by_key = {conn.name.casefold(): conn for conn in conns}
        self.preloaded = False

    def get(self, key: str) -> Connection | None:
        return self.by_key.get(key)

    def names(self) -> list[str]:
        return [conn.name for conn in self.by_key.values()]

    def preload(self) -> None:
        self.preloaded = True


# --- Registry -------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["Kalshi", "kalshi", "KALSHI", "kAlShI"])
def test_lookup_ignores_case(spelling: str) -> None:
    conn = make_connection()
    assert Registry([DictSource(conn)]).connection(spelling) is conn


def test_the_first_source_holding_a_name_answers() -> None:
    first, second = Connection("K", "a", {}), Connection("k", "b", {})
    registry = Registry([DictSource(first), DictSource(second)])
    assert registry.connection("K") is first
    assert registry.names() == ["K"]


def test_a_later_source_answers_for_names_earlier_ones_lack() -> None:
    injected, brokered = Connection("Kalshi", "kalshi", {}), Connection("Binance", "b", {})
    registry = Registry([DictSource(injected)])
    registry.register(DictSource(brokered))
    assert registry.connection("binance") is brokered
    assert registry.names() == ["Kalshi", "Binance"]


def test_a_source_registered_first_takes_precedence() -> None:
    registry = Registry([DictSource(Connection("K", "old", {}))])
    registry.register(DictSource(Connection("K", "new", {})), first=True)
    assert registry.connection("k").kind == "new"


def test_registering_the_same_source_twice_keeps_one() -> None:
    source = DictSource(Connection("K", "a", {}))
    registry = Registry([source])
    registry.register(source)
    assert registry.sources == (source,)


def test_registering_something_that_is_not_a_source_is_refused() -> None:
    with pytest.raises(TypeError, match="not a connection source"):
        Registry().register({"Kalshi": make_connection()})  # type: ignore[arg-type]


def test_a_missing_name_lists_the_available_names_only() -> None:
    registry = Registry([DictSource(make_connection(), Connection("Binance", "b", {"k": TOKEN}))])
    with pytest.raises(ConnectionNotAvailable) as caught:
        registry.connection("Coinbase")
    message = str(caught.value)
    assert "'Coinbase'" in message and "Available: 'Kalshi', 'Binance'" in message
    assert caught.value.available == ("Kalshi", "Binance")
    for secret in (KEY_ID, PEM, TOKEN):
        assert secret not in message


def test_a_missing_name_with_nothing_granted_says_so() -> None:
    with pytest.raises(ConnectionNotAvailable, match="no connections were granted"):
        Registry([DictSource()]).connection("Kalshi")


def test_a_non_string_name_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not int"):
        Registry().connection(3)  # type: ignore[arg-type]


def test_preload_reaches_every_source() -> None:
    sources = [DictSource(), DictSource()]
    Registry(sources).preload()
    assert all(source.preloaded for source in sources)


def test_a_pipe_source_in_a_registry_is_consumed_on_first_lookup() -> None:
    with handed_over(encode_connections([make_connection()])) as fd:
        environ = {FD_ENV_VAR: str(fd)}
        registry = Registry([PipeSource(environ)])
        assert registry.connection("KALSHI").api_key_id == KEY_ID
        assert environ == {}


# --- a real process with an inherited hand-over pipe, as a bot kernel gets it --------------


def run_child(code: str, payload: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != FD_ENV_VAR}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-c", textwrap.dedent(code)]
    if payload is None:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    with handed_over(payload + "\n") as fd:
        env[FD_ENV_VAR] = str(fd)
        return subprocess.run(
            command, env=env, pass_fds=(fd,), capture_output=True, text=True, timeout=60
        )


def injected_payload() -> str:
    return encode_connections([make_connection(), Connection("Binance", "binance", {"k": TOKEN})])


def test_a_bot_process_finds_its_connection_and_no_child_inherits_the_variable() -> None:
    result = run_child(
        f"""
        import json, os, subprocess, sys
        import watchdog_lab as wd

        fd = int(os.environ[{FD_ENV_VAR!r}])
        before = {FD_ENV_VAR!r} in os.environ
        conn = wd.connection("kalshi")
        try:
            os.fstat(fd)
            fd_after = "open"
        except OSError:
            fd_after = "closed"
        environ = open("/proc/self/environ", "rb").read()
        probe = "import os; print(os.environ.get({FD_ENV_VAR!r}, 'absent'))"
        grandchild = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        shell = subprocess.run(
            ["sh", "-c", "echo ${{{FD_ENV_VAR}:-absent}}"], capture_output=True, text=True
        )
        print(json.dumps({{
            "before": before,
            "after": {FD_ENV_VAR!r} in os.environ,
            "fd_after": fd_after,
            "secret_in_environ": {KEY_ID!r}.encode() in environ or b"eyJ2Ijo" in environ,
            "name": conn.name,
            "key_id": conn.api_key_id,
            "again_same": wd.connection("KALSHI") is conn,
            "names": wd.connections(),
            "grandchild": grandchild.stdout.strip(),
            "shell": shell.stdout.strip(),
        }}))
        """,
        injected_payload(),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {
        "before": True,
        "after": False,
        "fd_after": "closed",
        "secret_in_environ": False,
        "name": "Kalshi",
        "key_id": KEY_ID,
        "again_same": True,
        "names": ["Kalshi", "Binance"],
        "grandchild": "absent",
        "shell": "absent",
    }


def test_a_bot_asking_for_an_ungranted_name_learns_the_granted_names() -> None:
    result = run_child(
        """
        import watchdog_lab as wd
        print(repr(wd.connection("Kalshi")))
        wd.connection("Coinbase")
        """,
        injected_payload(),
    )
    assert result.returncode == 1
    assert "ConnectionNotAvailable" in result.stderr
    assert "Available: 'Kalshi', 'Binance'" in result.stderr
    for secret in (KEY_ID, PEM, TOKEN):
        assert secret not in result.stderr and secret not in result.stdout
    assert "api_key_id='a95***'" in result.stdout


def test_a_process_without_injection_has_no_connections() -> None:
    result = run_child(
        """
        import watchdog_lab as wd
        print(wd.connections())
        wd.connection("Kalshi")
        """,
        None,
    )
    assert result.stdout.strip() == "[]"
    assert "no connections were granted" in result.stderr


def test_a_malformed_injection_fails_clearly_and_is_still_removed() -> None:
    payload = injected_payload()[:-7] + "!!!!!!!"
    result = run_child(
        f"""
        import os
        import watchdog_lab as wd
        try:
            wd.connection("Kalshi")
        finally:
            print("after", {FD_ENV_VAR!r} in os.environ)
        """,
        payload,
    )
    assert result.returncode == 1
    assert "after False" in result.stdout
    assert "InjectionError" in result.stderr and "hand-over" in result.stderr
    assert payload[:40] not in result.stderr


def test_preload_removes_the_variable_before_any_lookup() -> None:
    result = run_child(
        f"""
        import os
        import watchdog_lab.sdk as sdk
        before = {FD_ENV_VAR!r} in os.environ
        sdk.preload()
        print(before, {FD_ENV_VAR!r} in os.environ)
        """,
        injected_payload(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]
