"""The last cell that raised in this kernel, kept for ``%wd fix``.

A ``post_run_cell`` hook, registered when the extension loads, keeps the raw source of the
last failing cell with the error and the traceback as the frontend was shown it: the input
history alone cannot say which cell raised, and ``sys.last_value`` is overwritten by the next
``UsageError`` (a mistyped magic). Failures from before the extension was loaded come from
IPython's own record of exceptions per execution count, where the IPython version keeps one.

Nothing here is a secret or a guard: kernel code can change what is kept, which changes only
the fix it asks for. The server redacts every payload with every value of the vault.
"""

from __future__ import annotations

import contextlib
import platform
import traceback as tb_module
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

#: Kept of an exception's message and of a traceback, from each end: far more than the server
#: sends (it cuts again, with a visible marker), little enough that the request stays well
#: under the broker's body limit whatever the failure printed.
MAX_EVALUE_CHARS = 32 * 1024
MAX_TRACEBACK_CHARS = 128 * 1024
CUT_MARKER = "\n[... {chars} characters cut from the middle in the kernel ...]\n"

#: The magic's own name: cells made only of ``%wd`` lines are commands, not code to fix.
MAGIC_PREFIX = "%wd"


@dataclass(frozen=True)
class Failure:
    """One cell that raised, as the frontend showed it."""

    execution_count: int | None
    source: str
    ename: str
    evalue: str
    traceback: list[str]

    def as_cell(self) -> dict[str, Any]:
        """The broker's ``cell``: text safe to encode, long parts cut in the middle."""
        trace = "\n".join(self.traceback)
        return {
            "source": _encodable(self.source),
            "ename": _encodable(self.ename) or "Exception",
            "evalue": _encodable(_cut_middle(self.evalue, MAX_EVALUE_CHARS)),
            "traceback": [_encodable(_cut_middle(trace, MAX_TRACEBACK_CHARS))] if trace else [],
            "language": "python",
            "language_version": platform.python_version(),
        }


class FailureRecorder:
    """Keeps :attr:`last`, the newest failure of a code cell, from IPython's cell events."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.last: Failure | None = None
        self._shown_before: object = None

    def install(self) -> None:
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)

    def uninstall(self) -> None:
        for event, hook in (
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
        ):
            with contextlib.suppress(ValueError):
                self.shell.events.unregister(event, hook)

    def pre_run_cell(self, info: Any) -> None:
        # ipykernel keeps the traceback it last sent; a new one after this cell ran is its own.
        self._shown_before = getattr(self.shell, "_last_traceback", None)

    def post_run_cell(self, result: Any) -> None:
        """Record the cell if it raised. Never raises: a failing hook would print its own
        traceback after every cell of the notebook."""
        with contextlib.suppress(Exception):  # see the docstring; the previous one stays
            self._record(result)

    def latest(self) -> Failure | None:
        """The newest failure, whether the hook saw it or IPython recorded it before the
        extension was loaded (on IPython versions that keep exceptions per cell)."""
        recorded = _from_history(self.shell)
        if recorded is None:
            return self.last
        if self.last is None or (recorded.execution_count or 0) > (self.last.execution_count or 0):
            return recorded
        return self.last

    def _record(self, result: Any) -> None:
        error = result.error_in_exec or result.error_before_exec
        if error is None or isinstance(error, UsageError):
            return
        info = getattr(result, "info", None)
        source = getattr(info, "raw_cell", None) or ""
        if _is_command(source):
            return
        shown = getattr(self.shell, "_last_traceback", None)
        if isinstance(shown, list) and shown is not self._shown_before:
            trace = [str(entry) for entry in shown]
        else:
            trace = _format(self.shell, error)
        self.last = Failure(
            execution_count=getattr(result, "execution_count", None),
            source=source,
            ename=type(error).__name__,
            evalue=_text(error),
            traceback=trace,
        )


_INSTALLED: weakref.WeakKeyDictionary[Any, FailureRecorder] = weakref.WeakKeyDictionary()


def install(shell: Any) -> FailureRecorder:
    """The shell's recorder, hooked in once (``%reload_ext`` replaces the hooks; the failure
    kept so far is carried over)."""
    old = _INSTALLED.pop(shell, None)
    if old is not None:
        old.uninstall()
    recorder = FailureRecorder(shell)
    if old is not None:
        recorder.last = old.last
    recorder.install()
    _INSTALLED[shell] = recorder
    return recorder


def recorder_for(shell: Any) -> FailureRecorder:
    """The shell's recorder: the one installed (by ``%load_ext`` or an earlier panel), else a
    new one installed now; without a shell, one that only reads what it is given."""
    if shell is None:
        return FailureRecorder(None)
    installed = _INSTALLED.get(shell)
    return installed if installed is not None else install(shell)


def _from_history(shell: Any) -> Failure | None:
    history = getattr(shell, "history_manager", None)
    exceptions = getattr(history, "exceptions", None)
    inputs = getattr(history, "input_hist_raw", None)
    if not isinstance(exceptions, dict) or not isinstance(inputs, list):
        return None
    for count in sorted((c for c in exceptions if isinstance(c, int)), reverse=True):
        entry = exceptions[count]
        if not isinstance(entry, dict) or entry.get("ename") == UsageError.__name__:
            continue
        source = inputs[count] if 0 <= count < len(inputs) else None
        if not isinstance(source, str) or _is_command(source):
            continue
        trace = entry.get("traceback")
        return Failure(
            execution_count=count,
            source=source,
            ename=str(entry.get("ename") or "Exception"),
            evalue=str(entry.get("evalue") or ""),
            traceback=[str(t) for t in trace] if isinstance(trace, list) else [],
        )
    return None


def _is_command(source: str) -> bool:
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    return bool(lines) and all(line.split(maxsplit=1)[0] == MAGIC_PREFIX for line in lines)


def _format(shell: Any, error: BaseException) -> list[str]:
    """The traceback as IPython formats it, when the kernel did not keep the one it showed."""
    formatters: list[Callable[[], list[str]]] = []
    if isinstance(error, SyntaxError):
        formatters.append(lambda: tb_module.format_exception_only(type(error), error))
    else:
        formatters.append(
            lambda: shell.InteractiveTB.structured_traceback(
                type(error), error, error.__traceback__, tb_offset=1
            )
        )
    formatters.append(lambda: tb_module.format_exception(type(error), error, error.__traceback__))
    for formatter in formatters:
        try:
            return [str(entry) for entry in formatter()]
        except Exception:  # noqa: S112 - a hostile __str__ or formatter: try the next one
            continue
    return []


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:
        return f"<unprintable {type(error).__name__}>"


def _cut_middle(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    return text[:head] + CUT_MARKER.format(chars=len(text) - limit) + text[-tail:]


def _encodable(text: str) -> str:
    """``text`` with lone surrogates replaced: they cannot be sent as UTF-8 JSON."""
    return text.encode("utf-8", "replace").decode("utf-8")
