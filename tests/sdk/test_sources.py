"""EnvSource: read the injected variable once, remove it at that moment, keep it in memory."""

from __future__ import annotations

import threading
import time

import pytest

from watchdog_lab.sdk import Connection, EnvSource, InjectionError, Source
from watchdog_lab.sdk.injection import ENV_VAR, encode_connections

from .conftest import KEY_ID, make_connection


def injected_environ(*conns: Connection) -> dict[str, str]:
    return {"PATH": "/usr/bin", ENV_VAR: encode_connections(conns or [make_connection()])}


def test_env_source_satisfies_the_source_protocol() -> None:
    assert isinstance(EnvSource({}), Source)


def test_nothing_is_read_before_first_use() -> None:
    environ = injected_environ()
    EnvSource(environ)
    assert ENV_VAR in environ


def test_first_use_removes_the_variable_and_keeps_the_connections() -> None:
    environ = injected_environ()
    source = EnvSource(environ)
    conn = source.get("kalshi")
    assert conn is not None and conn.api_key_id == KEY_ID
    assert ENV_VAR not in environ
    assert environ == {"PATH": "/usr/bin"}
    assert source.get("kalshi") is conn


def test_lookup_keys_are_case_folded_names() -> None:
    source = EnvSource(injected_environ(Connection("Straße", "custom", {})))
    conn = source.get("strasse")
    assert conn is not None and conn.name == "Straße"
    assert source.get("Straße") is None  # the registry folds; the source expects folded keys


def test_the_variable_is_read_only_once() -> None:
    environ = injected_environ()
    source = EnvSource(environ)
    source.preload()
    environ[ENV_VAR] = encode_connections([Connection("Late", "custom", {})])
    assert source.names() == ["Kalshi"]
    assert ENV_VAR in environ  # a second value is neither read nor removed


def test_names_lists_names_in_injection_order() -> None:
    conns = [Connection(n, "custom", {"k": "v"}) for n in ("B", "a", "C")]
    assert EnvSource(injected_environ(*conns)).names() == ["B", "a", "C"]


def test_no_variable_means_no_connections() -> None:
    source = EnvSource({"PATH": "/usr/bin"})
    assert source.names() == []
    assert source.get("kalshi") is None


def test_preload_removes_the_variable_without_a_lookup() -> None:
    environ = injected_environ()
    EnvSource(environ).preload()
    assert ENV_VAR not in environ


def test_a_malformed_variable_is_removed_and_reported_on_every_use() -> None:
    environ = {ENV_VAR: "not*base64url"}
    source = EnvSource(environ)
    with pytest.raises(InjectionError, match=f"environment variable {ENV_VAR}") as first:
        source.get("kalshi")
    assert ENV_VAR not in environ
    with pytest.raises(InjectionError) as second:
        source.names()
    assert str(second.value) == str(first.value)
    assert second.value is not first.value
    assert "not*base64url" not in str(first.value)


def test_a_custom_variable_name_is_honoured() -> None:
    environ = {"OTHER_VAR": encode_connections([make_connection()])}
    source = EnvSource(environ, variable="OTHER_VAR")
    assert source.names() == ["Kalshi"]
    assert environ == {}


class SlowPopEnviron(dict[str, str]):
    """An environment whose removal is slow, to widen any race between first uses."""

    def pop(self, key: str, *default: str) -> str:  # type: ignore[override]
        time.sleep(0.05)
        return super().pop(key, *default)


def test_concurrent_first_uses_all_see_the_same_connections() -> None:
    environ = SlowPopEnviron(injected_environ())
    source = EnvSource(environ)
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
