"""The Logs tab: one bot's log tail, updated live from a background thread while the kernel
runs other cells; a level filter, a text filter, follow or pause; a bounded buffer.

Lines reach the panel already redacted (a bot's output goes through its runner's redactor
before it is written). The view is an HTML widget whose value is replaced with the newest
matching lines: a widget value is one message, sent safely from a thread, and it stays bounded
however long the bot runs (an ``Output`` widget appends without end and, filled from a thread,
may land its output in whatever cell runs at the time).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import ipywidgets as widgets

from .common import Context, Status, button, css_class, text

#: Lines kept per tail (older ones drop out); filters apply to these.
BUFFER_LINES: Final = 5000
#: Lines shown: the newest that match the filters.
SHOWN_LINES: Final = 200
#: Seconds between two asks for new lines while following.
FOLLOW_SECONDS: Final = 0.1
#: Seconds between two looks while paused or with no bot picked.
IDLE_SECONDS: Final = 1.0
#: Records asked for at once, and the tail asked for when a bot is picked.
PAGE_RECORDS: Final = 1000
TAIL_RECORDS: Final = 200

LEVELS: Final = ("debug", "info", "warning", "error")
_LEVEL_WORD = re.compile(r"\b(DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL)\b")
#: Only a line's head is searched: a level word deep in a message is not its level.
_LEVEL_WORD_SPAN = 48
_LEVEL_OF_WORD = {
    "DEBUG": "debug",
    "INFO": "info",
    "WARN": "warning",
    "WARNING": "warning",
    "ERROR": "error",
    "CRITICAL": "error",
    "FATAL": "error",
}
_SYSTEM_ERROR = re.compile(r"^(giving up|not running)\b")
_SYSTEM_WARNING = re.compile(r"^run \d+ failed\b")
_LEVEL_COLOR = {
    "error": "var(--jp-error-color1)",
    "warning": "var(--jp-warn-color1)",
    "debug": "var(--jp-ui-font-color2)",
}


@dataclass(frozen=True)
class LogLine:
    seq: int
    ts: float
    stream: str
    level: str
    text: str


def level_of(stream: str, line: str) -> str:
    """A traceback is an error, a runner message says whether a run failed, other output is
    read for a logging level word; anything else is ``info`` (as the sidebar's log view)."""
    if stream == "error":
        return "error"
    if stream == "system":
        if _SYSTEM_ERROR.search(line):
            return "error"
        return "warning" if _SYSTEM_WARNING.search(line) else "info"
    word = _LEVEL_WORD.search(line[:_LEVEL_WORD_SPAN])
    return _LEVEL_OF_WORD[word.group(1)] if word else "info"


def lines_of(record: dict[str, Any]) -> list[LogLine]:
    """The display lines of one record (a record may hold several lines)."""
    body = str(record.get("text", ""))
    body = body.removesuffix("\n")
    stream = str(record.get("stream", ""))
    seq, ts = int(record.get("seq", 0)), float(record.get("ts", 0.0))
    given = record.get("level")
    out = []
    for part in body.split("\n"):
        part = part.removesuffix("\r")
        level = given if given in LEVELS else level_of(stream, part)
        if stream == "error":
            level = "error"
        out.append(LogLine(seq, ts, stream, str(level), part))
    return out


class LogBuffer:
    """The newest :data:`BUFFER_LINES` lines, and the newest matching ones for the view."""

    def __init__(self, limit: int = BUFFER_LINES) -> None:
        self.lines: deque[LogLine] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, records: Iterable[dict[str, Any]]) -> int:
        added = 0
        with self._lock:
            for record in records:
                for line in lines_of(record):
                    self.lines.append(line)
                    added += 1
        return added

    def clear(self) -> None:
        with self._lock:
            self.lines.clear()

    def matching(self, level: str, needle: str, limit: int = SHOWN_LINES) -> list[LogLine]:
        rank = LEVELS.index(level) if level in LEVELS else 0
        needle = needle.casefold()
        found: list[LogLine] = []
        with self._lock:
            for line in reversed(self.lines):
                if LEVELS.index(line.level) >= rank and (
                    not needle or needle in line.text.casefold()
                ):
                    found.append(line)
                    if len(found) >= limit:
                        break
        found.reverse()
        return found


def render(lines: list[LogLine]) -> str:
    """The lines as escaped HTML, newest last, with each line's sequence number."""
    rows = []
    for line in lines:
        clock = time.strftime("%H:%M:%S", time.localtime(line.ts))
        color = _LEVEL_COLOR.get(line.level)
        style = f" style='color: {color}'" if color else ""
        rows.append(f"<div data-seq='{line.seq}'{style}>{clock} {text(line.text)}</div>")
    # Newest first in a reversed column: the box opens scrolled to its end, where new lines come.
    rows.reverse()
    return (
        f"<div class='{css_class('log-lines')}' role='log' aria-live='off' tabindex='0' "
        "style='font-family: var(--jp-code-font-family); font-size: var(--jp-code-font-size); "
        "line-height: 1.4; max-height: 24em; overflow-y: auto; white-space: pre-wrap; "
        "display: flex; flex-direction: column-reverse'>" + "".join(rows) + "</div>"
    )


class LogsTab:
    title = "Logs"

    def __init__(self, context: Context, bot_names: Callable[[], list[str]]) -> None:
        self.context = context
        self.bot_names = bot_names
        self.pick = widgets.Dropdown(description="Bot", options=[])
        self.pick.add_class(css_class("logs-bot"))
        self.level = widgets.Dropdown(description="Level", options=list(LEVELS), value="debug")
        self.level.add_class(css_class("logs-level"))
        self.filter = widgets.Text(description="Filter", placeholder="text to look for")
        self.filter.add_class(css_class("logs-filter"))
        self.follow = widgets.ToggleButton(
            value=True, description="Following", tooltip="Follow the log, or pause it"
        )
        self.follow.add_class(css_class("logs-follow"))
        self.refresh_bots = button("logs-refresh", "Refresh bots")
        self.refresh_bots.on_click(lambda _: self._refresh_bots())
        self.view = widgets.HTML(value=render([]))
        self.view.add_class(css_class("logs-view"))
        self.status = Status("logs")
        self.buffer = LogBuffer()
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.pick, self.refresh_bots]),
                widgets.HBox([self.level, self.filter, self.follow]),
                self.view,
                self.status,
            ]
        )
        self.widget.add_class(css_class("logs"))
        self._bot: str | None = None
        self._after: int | None = None
        self._shown = ""
        self._poll_lock = threading.Lock()
        self.pick.observe(lambda _: self._restart(), names="value")
        self.level.observe(lambda _: self.redraw(), names="value")
        self.filter.observe(lambda _: self.redraw(), names="value")
        self.follow.observe(lambda _: self._follow_changed(), names="value")

    def start(self) -> None:
        self._refresh_bots()
        self.context.every(self._interval, self.poll)

    def _interval(self) -> float:
        return FOLLOW_SECONDS if self.follow.value and self._bot else IDLE_SECONDS

    def _refresh_bots(self) -> None:
        self.context.run(self.status, "", lambda c: c.bots(), self.set_bots)

    def set_bots(self, answer: dict[str, Any]) -> None:
        names = [str(b.get("name", "")) for b in answer.get("bots") or []]
        if list(self.pick.options) != names:
            current = self.pick.value
            self.pick.options = names
            self.pick.value = current if current in names else (names[0] if names else None)

    def _follow_changed(self) -> None:
        self.follow.description = "Following" if self.follow.value else "Paused"

    def _restart(self) -> None:
        with self._poll_lock:
            self._bot = self.pick.value
            self._after = None
            self.buffer.clear()
        self.redraw()

    def poll(self) -> None:
        """Fetch what is new for the picked bot; redraw only if following and changed."""
        with self._poll_lock:
            bot = self._bot
            if not bot or not self.follow.value:
                return
            client = self.context.client()
            if self._after is None:
                answer = client.logs(bot, tail=TAIL_RECORDS)
            else:
                answer = client.logs(bot, after=self._after, limit=PAGE_RECORDS)
            if bot != self._bot:
                return
            records = answer.get("records") or []
            next_after = answer.get("next_after")
            if isinstance(next_after, int):
                self._after = next_after
            elif records:
                self._after = int(records[-1].get("seq", 0))
            elif self._after is None:
                self._after = 0
            added = self.buffer.add(records)
        if added:
            self.redraw()

    def redraw(self) -> None:
        html = render(self.buffer.matching(str(self.level.value), str(self.filter.value)))
        if html != self._shown:
            self._shown = html
            self.view.value = html
