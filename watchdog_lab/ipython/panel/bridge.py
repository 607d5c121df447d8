"""The kernel's side of the front-end bridge: ask JupyterLab to save this notebook or to
replace one of its cells.

A kernel cannot save its notebook or edit a cell; the WatchDog Lab lab extension can. It
registers the comm target :data:`TARGET` on the kernel of every open notebook and answers
``{"id", "ok", "error"}`` to ``{"id", "action": "save"}`` and to ``{"id", "action":
"replace-cell", "cell_id", "expected", "source"}`` (one undoable edit, refused when the cell
no longer holds ``expected``).

Nothing here waits on the shell thread: the answer to a comm message is itself a message the
shell thread handles, so a callback that blocked for it would wait forever. Each request takes
a callback, called once with the answer, or with :data:`ABSENT` when no answer came within
:data:`ANSWER_TIMEOUT` (a front end without the extension: VS Code, Notebook 7 without it).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any, Final

TARGET: Final = "watchdog-lab"
#: JupyterLab answers in milliseconds; a front end without the target closes the comm at once.
ANSWER_TIMEOUT: Final = 3.0
ABSENT: Final = {"ok": False, "absent": True, "error": "the WatchDog Lab lab extension is absent"}

Answer = dict[str, Any]


class FrontendBridge:
    """One comm to the front end's :data:`TARGET`, opened on first use."""

    def __init__(self, comm_factory: Callable[..., Any] | None = None) -> None:
        self._factory = comm_factory
        self._comm: Any = None
        self._closed = False
        self._pending: dict[int, tuple[Callable[[Answer], None], threading.Timer]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self._comm is None and not self._closed:
            factory = self._factory
            if factory is None:
                from comm import create_comm

                factory = create_comm
            self._comm = factory(target_name=TARGET, data={"action": "hello"})
            self._comm.on_msg(self._received)
            self._comm.on_close(self._lost)
        return self._comm

    def request(self, message: dict[str, Any], answer: Callable[[Answer], None]) -> None:
        """Send ``message``; ``answer`` is called exactly once, from whichever thread has it."""
        with self._lock:
            request_id = next(self._ids)
            timer = threading.Timer(ANSWER_TIMEOUT, self._settle, (request_id, ABSENT))
            timer.daemon = True
            self._pending[request_id] = (answer, timer)
        comm = None
        try:
            comm = self._open()
        except Exception:
            comm = None
        if comm is None:
            self._settle(request_id, ABSENT)
            return
        timer.start()
        comm.send({**message, "id": request_id})

    def save(self, answer: Callable[[Answer], None]) -> None:
        self.request({"action": "save"}, answer)

    def replace_cell(
        self, cell_id: str, expected: str, source: str, answer: Callable[[Answer], None]
    ) -> None:
        self.request(
            {"action": "replace-cell", "cell_id": cell_id, "expected": expected, "source": source},
            answer,
        )

    def close(self) -> None:
        if self._comm is not None:
            comm, self._comm = self._comm, None
            comm.close()

    def _received(self, message: dict[str, Any]) -> None:
        data = message.get("content", {}).get("data", {})
        if not isinstance(data, dict):
            return
        request_id = data.get("id")
        if isinstance(request_id, int):
            self._settle(
                request_id, {"ok": data.get("ok") is True, "error": str(data.get("error") or "")}
            )

    def _lost(self, message: Any = None) -> None:
        """The front end closed the comm: it has no such target, so every request is absent."""
        self._comm = None
        self._closed = True
        with self._lock:
            waiting = list(self._pending)
        for request_id in waiting:
            self._settle(request_id, ABSENT)

    def _settle(self, request_id: int, outcome: Answer) -> None:
        with self._lock:
            entry = self._pending.pop(request_id, None)
        if entry is None:
            return
        answer, timer = entry
        timer.cancel()
        answer(dict(outcome))
