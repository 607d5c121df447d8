"""``wd.state``: a small persistent key-value store, so a restarted bot resumes where it was.

One JSON file in the bot's ``state/`` folder, rewritten atomically (temporary file, fsync,
rename) on every change: a bot killed mid-write finds either the old or the new state, never
half of one. Values must be JSON; the store is for positions, cursors and counters, not data.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from .errors import SdkError

STATE_FILE = "state.json"
MAX_STATE_BYTES = 16 * 1024 * 1024


class StateError(SdkError):
    pass


class State(MutableMapping[str, Any]):
    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / STATE_FILE
        self._lock = threading.Lock()
        self._data: dict[str, Any] = self._load()

    def _load(self) -> dict[str, Any]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise StateError(f"{self.path} is not valid JSON; fix or remove it.") from exc
        if not isinstance(data, dict):
            raise StateError(f"{self.path} must hold a JSON object.")
        return data

    def _save(self, data: dict[str, Any]) -> None:
        try:
            text = json.dumps(data, indent=1, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise StateError(
                f"wd.state values must be JSON (str, numbers, lists, dicts): {exc}"
            ) from None
        if len(text) > MAX_STATE_BYTES:
            raise StateError("wd.state is limited to 16 MiB; keep data elsewhere in state/.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _change(self, mutate: Any) -> None:
        with self._lock:
            data = dict(self._data)
            mutate(data)
            self._save(data)
            self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise StateError("wd.state keys must be strings.")
        self._change(lambda d: d.__setitem__(key, value))

    def __delitem__(self, key: str) -> None:
        if key not in self._data:
            raise KeyError(key)
        self._change(lambda d: d.__delitem__(key))

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """One write for many keys."""
        new = dict(*args, **kwargs)
        self._change(lambda d: d.update(new))

    def clear(self) -> None:
        self._change(lambda d: d.clear())

    def __repr__(self) -> str:
        return f"State({self.path}, {len(self._data)} keys)"
