"""The CLI's only way to talk to the user: redacted output and prompts that do not echo secrets.

Every line written to stdout or stderr goes through a :class:`~watchdog_lab.redact.Redactor`
that learns each secret as soon as the CLI reads it (passwords, field values, decrypted
connections): even a bug that formats a secret into a message prints a marker instead.
The one deliberate exception is :meth:`Console.reveal`, for the two-factor secret that must be
shown to the user exactly once.

Every line is also terminal-safe: much of what the CLI shows was chosen by a bot or a kernel
(log records, exception text, package names read from a notebook, names in audit events), and
a terminal obeys control characters wherever they come from. So every control character except
newline and tab is shown escaped (:func:`watchdog_lab.textsafe.escape`), whichever command
printed it; renderers that lay text out as lines or cells escape newlines themselves, where a
newline would forge a line of their own layout. Only the promote spinner (``cmd_bots.Steps``)
writes its own ``\r`` and erase sequence, around text that went through :meth:`Console.clean`.

Hidden prompts switch terminal echo off themselves rather than calling :func:`getpass.getpass`
once per line: a pasted PEM key arrives as many lines at once, and getpass discards pending
input each time it is called, which would drop the rest of the paste.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TextIO

from ..textsafe import escape, json_text
from .errors import InputEnded, NotInteractive

if TYPE_CHECKING:
    from ..redact import Redactor

try:  # termios is POSIX-only; without it there is no hidden prompt, hence no prompt at all.
    import termios
except ImportError:  # pragma: no cover - Windows
    termios = None  # type: ignore[assignment]  # absent module: callers test for None

MAX_PROMPT_LINES = 1000
MAX_PROMPT_CHARS = 64 * 1024


class Console:
    """stdin/stdout/stderr of one CLI run, with a redactor in front of both outputs."""

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._redactor: Redactor | None = None

    # ------------------------------------------------------------------ redaction

    @property
    def redactor(self) -> Redactor:
        if self._redactor is None:
            from ..redact import Redactor

            self._redactor = Redactor()
        return self._redactor

    def remember(self, secrets: Iterable[tuple[str, str, str]]) -> None:
        """Secrets the CLI now knows, as (connection, field, value); from now on never printed."""
        batch = [s for s in secrets if s[2]]
        if batch:
            self.redactor.add_secrets(batch)

    def clean(self, text: str) -> str:
        """Redacted first (a secret is matched as stored), then escaped for the terminal."""
        return escape(self.redactor.redact(text), newlines=True)

    # --------------------------------------------------------------------- output

    def out(self, text: str = "") -> None:
        self.stdout.write(self.clean(text) + "\n")
        self.stdout.flush()

    def json(self, data: object, *, indent: int | None = 2) -> None:
        """JSON whose strings carry no raw control character (still the same data once parsed)."""
        self.out(json_text(data, indent=indent))

    def note(self, text: str) -> None:
        """Progress and confirmations: stderr, so stdout stays parseable."""
        self.stderr.write(self.clean(text) + "\n")
        self.stderr.flush()

    def warn(self, text: str) -> None:
        self.note(f"warning: {text}")

    def error(self, text: str) -> None:
        self.note(f"error: {text}")

    def reveal(self, text: str) -> None:
        """Show text that is secret *on purpose* (a new two-factor secret), on the terminal only."""
        if not self.terminal_out:
            raise NotInteractive("a terminal to show the secret on", "Run this in a terminal.")
        self.stderr.write(text + "\n")
        self.stderr.flush()

    # ------------------------------------------------------------------ terminals

    @property
    def interactive(self) -> bool:
        """Whether the user can be asked: standard input is a terminal."""
        return _isatty(self.stdin) and termios is not None

    @property
    def terminal_out(self) -> bool:
        return _isatty(self.stderr)

    def require_interactive(self, what: str, alternatives: str) -> None:
        if not self.interactive:
            raise NotInteractive(what, alternatives)

    def _readline(self, what: str) -> str:
        line = self.stdin.readline()
        if not line:
            raise InputEnded(what)
        return line.rstrip("\r\n")

    def ask(self, prompt: str, what: str) -> str:
        """A visible prompt, for things that are not secret (choices, names, confirmations)."""
        self.stderr.write(self.clean(prompt))
        self.stderr.flush()
        return self._readline(what)

    def ask_hidden(self, prompt: str, what: str, *, pem: bool = False) -> str:
        """A prompt whose answer is not echoed.

        With ``pem``, an answer starting with ``-----BEGIN`` continues over the following lines
        up to and including the ``-----END`` line (pasted keys).
        """
        with self._echo_off():
            self.stderr.write(self.clean(prompt))
            self.stderr.flush()
            try:
                first = self._readline(what)
                if not (pem and first.lstrip().startswith("-----BEGIN")):
                    return first
                lines, size = [first.strip()], len(first)
                while not lines[-1].startswith("-----END"):
                    line = self._readline(f"the -----END line of {what}").strip()
                    size += len(line) + 1
                    if len(lines) >= MAX_PROMPT_LINES or size > MAX_PROMPT_CHARS:
                        raise InputEnded(f"a -----END line within {MAX_PROMPT_LINES} lines")
                    lines.append(line)
                return "\n".join(lines) + "\n"
            finally:
                self.stderr.write("\n")
                self.stderr.flush()

    @contextlib.contextmanager
    def _echo_off(self) -> Iterator[None]:
        """Echo off (and pending input flushed, as getpass does) until the block ends."""
        if termios is None or not _isatty(self.stdin):
            raise NotInteractive("a hidden prompt", "Run this in a terminal.")
        fd = self.stdin.fileno()
        old = termios.tcgetattr(fd)
        new = termios.tcgetattr(fd)
        new[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSAFLUSH, new)
        try:
            yield
        finally:
            termios.tcsetattr(fd, termios.TCSANOW, old)

    def confirm(self, question: str) -> bool:
        answer = self.ask(f"{question} [y/N] ", "an answer")
        return answer.strip().lower() in {"y", "yes"}


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.isatty(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return False
