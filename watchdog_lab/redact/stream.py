"""A text stream that redacts what passes through it (for ``sys.stdout``/``sys.stderr``).

A secret can reach a stream in pieces: ``print(a, key)`` writes ``a``, ``" "``, ``key`` and
``"\\n"`` separately, and a library may write a token one chunk at a time. Redacting each
``write()`` on its own would miss every secret cut in two, so the stream holds back the
unfinished line and redacts whole lines. What else it holds back, and until when:

- a PEM private key whose END line has not arrived yet is held from its BEGIN line (an unknown
  key printed line by line is only recognisable as a whole);
- a copy of a known value that reaches the end of what was written before the value ends
  (a key or its base64 printed line by line) is held from its start: its next line may be too
  short to be recognised on its own, and joined to the rest it goes out as one marker;
- past ``max_held`` characters (64 KiB by default, or twice the longest text one secret can
  span if that is more) it emits all but the last ``redactor.max_match_length`` characters;
- ``flush()`` and ``close()`` emit everything (an unfinished key is redacted to its end).

A key still open when the hold limit is passed goes out redacted, and its BEGIN line is kept
back so that its remaining lines are still recognised as key material.
"""

from __future__ import annotations

import io
import threading
from typing import TextIO

from .matcher import Finding, apply
from .redactor import Redactor, get_redactor

__all__ = ["RedactingStream"]

DEFAULT_MAX_HELD = 64 * 1024


class RedactingStream(io.TextIOBase):
    """Wraps a text stream; everything written reaches it redacted.

    ``encoding``, ``errors``, ``isatty()`` and ``fileno()`` are those of the wrapped stream, so
    code that inspects ``sys.stdout`` keeps working. There is deliberately no ``buffer``: bytes
    written there would bypass redaction.
    """

    def __init__(
        self,
        stream: TextIO | io.TextIOBase,
        redactor: Redactor | None = None,
        *,
        max_held: int = DEFAULT_MAX_HELD,
    ) -> None:
        super().__init__()
        self._stream = stream
        self._redactor = redactor if redactor is not None else get_redactor()
        self._max_held = max_held
        self._held: list[str] = []
        self._held_len = 0
        self._lock = threading.RLock()

    # --- TextIO face -------------------------------------------------------------------

    @property
    def wrapped(self) -> TextIO | io.TextIOBase:
        """The stream written to (for restoring ``sys.stdout``)."""
        return self._stream

    @property
    def encoding(self) -> str:  # type: ignore[override]  # read-only; TextIO's is settable
        return self._stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]  # read-only, as encoding
        return getattr(self._stream, "errors", None)

    @property
    def name(self) -> object:
        return getattr(self._stream, "name", "<redacting stream>")

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        with self._lock:
            if self.closed:
                raise ValueError("I/O operation on closed RedactingStream")
            if not s:
                return 0
            self._held.append(s)
            self._held_len += len(s)
            if "\n" in s or self._held_len > self._limit():
                self._emit(final=False)
        return len(s)

    def flush(self) -> None:
        with self._lock:
            if self._held_len:
                self._emit(final=True)
            if not getattr(self._stream, "closed", False):
                self._stream.flush()

    # --- holding back ------------------------------------------------------------------

    def _limit(self) -> int:
        # Each forced emit must let out at least as much as it keeps back, or a long line would
        # be rescanned over and over.
        return max(self._max_held, 2 * self._redactor.max_match_length)

    def _emit(self, *, final: bool) -> None:
        text = "".join(self._held)
        findings, pending = self._redactor.scan(text)
        rest = ""
        if final:
            cut = len(text)
        else:
            cut = self._safe_cut(text, findings, pending)
            if cut == len(text) and findings and findings[-1].open:
                rest = self._reopen(text, findings[-1])
        if cut > 0:
            out = apply(text[:cut], [f for f in findings if f.end <= cut])
            if not getattr(self._stream, "closed", False):
                self._stream.write(out)
        rest += text[cut:]
        self._held = [rest] if rest else []
        self._held_len = len(rest)

    @staticmethod
    def _reopen(text: str, block: Finding) -> str:
        """The header line of a key let out before its end, to keep its next lines recognised.

        Without it, the body lines still to come would no longer follow a BEGIN line and would
        go out as ordinary text.
        """
        newline = text.find("\n", block.start)
        header = text[block.start : newline + 1] if newline >= 0 else ""
        return header if len(header) <= 256 else ""

    def _safe_cut(self, text: str, findings: list[Finding], pending: int) -> int:
        """How much of ``text`` can go out now without cutting a secret in two."""
        open_block = next((f for f in findings if f.open), None)
        cut = text.rfind("\n") + 1
        if len(text) > self._limit():
            if open_block is not None:
                # A key with no END line in sight: let it out redacted rather than hold forever.
                return len(text)
            cut = max(cut, len(text) - self._redactor.max_match_length)
        elif pending >= 0:
            # A copy of a known value cut short by the end of the text: the rest may follow.
            cut = min(cut, pending)
        if open_block is not None:
            cut = min(cut, open_block.start)
        for finding in findings:
            if finding.start < cut < finding.end:
                # A secret that spans the cut (a multi-line value): keep it whole, and if it
                # starts at the very beginning, it is complete, so let it go out whole.
                cut = finding.start if finding.start > 0 else finding.end
                break
        return cut
