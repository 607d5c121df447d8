"""wd.state: persistent, atomic, JSON only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watchdog_lab.sdk.state import State, StateError


def test_values_persist_across_instances(tmp_path: Path) -> None:
    State(tmp_path)["position"] = {"qty": 3, "side": "yes"}
    assert State(tmp_path)["position"] == {"qty": 3, "side": "yes"}


def test_update_and_delete_are_persisted(tmp_path: Path) -> None:
    s = State(tmp_path)
    s.update(a=1, b=2)
    del s["a"]
    assert dict(State(tmp_path)) == {"b": 2}


def test_non_json_value_is_refused_and_state_unchanged(tmp_path: Path) -> None:
    s = State(tmp_path)
    s["ok"] = 1
    with pytest.raises(StateError, match="JSON"):
        s["bad"] = object()
    assert dict(State(tmp_path)) == {"ok": 1} and "bad" not in s


def test_write_is_atomic_no_temporary_files_left(tmp_path: Path) -> None:
    s = State(tmp_path)
    for i in range(20):
        s["i"] = i
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    assert json.loads((tmp_path / "state.json").read_text()) == {"i": 19}


def test_corrupt_state_file_gives_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(StateError, match="not valid JSON"):
        State(tmp_path)
