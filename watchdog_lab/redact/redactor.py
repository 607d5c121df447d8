"""The one redactor every outgoing text goes through.

It holds the decrypted secret values it must hide (keyed by connection and field) and the
pattern catalogue, compiled into one :class:`~watchdog_lab.redact.matcher.Matcher`. Secrets
change while bots log (a vault unlock, a connection edited), so writers build a whole new
matcher under a lock and publish it with one assignment; readers never lock and always see
either the old or the new set, never half of one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import NoReturn

from .errors import InvalidSecretError, RedactorNotSerializableError
from .matcher import Finding, Matcher, apply
from .patterns import DEFAULT_PATTERNS, Pattern
from .variants import WINDOW, Form, forms, short_variants

__all__ = ["Redactor", "get_redactor"]

SecretTriple = tuple[str, str, str]


class Redactor:
    """Replaces known secret values (and their encodings) and known key formats in text.

    ``secrets`` are ``(connection, field, value)`` triples; values shorter than ``min_length``
    are kept on record but not searched for, as they would redact ordinary words.
    """

    def __init__(
        self,
        secrets: Iterable[SecretTriple] = (),
        *,
        min_length: int = 8,
        patterns: Sequence[Pattern] | None = None,
    ) -> None:
        if min_length < 1:
            raise InvalidSecretError("min_length must be at least 1")
        self._min_length = min_length
        self._patterns = tuple(DEFAULT_PATTERNS if patterns is None else patterns)
        self._write_lock = threading.Lock()
        self._values: dict[tuple[str, str], str] = {}
        # Per (connection, field): whole spellings shorter than WINDOW (searched as they are)
        # and the encodings searched by windows.
        self._forms: dict[tuple[str, str], tuple[frozenset[str], tuple[Form, ...]]] = {}
        self._matcher = Matcher({}, self._patterns)
        if secrets:
            self.set_secrets(secrets)

    # --- changing what is secret -------------------------------------------------------

    def set_secrets(self, secrets: Iterable[SecretTriple]) -> None:
        """Replace every known value with ``secrets``."""
        entries = _validated(secrets)
        with self._write_lock:
            self._values = {}
            self._forms = {}
            self._store(entries)
            self._publish()

    def add_secrets(self, secrets: Iterable[SecretTriple]) -> None:
        """Add values; a (connection, field) already known gets its new value."""
        entries = _validated(secrets)
        with self._write_lock:
            self._store(entries)
            self._publish()

    def forget_connection(self, connection: str) -> None:
        """Stop searching for every value of ``connection`` (it was deleted or revoked)."""
        with self._write_lock:
            for key in [key for key in self._values if key[0] == connection]:
                del self._values[key]
                self._forms.pop(key, None)
            self._publish()

    def _store(self, entries: list[tuple[tuple[str, str], str]]) -> None:
        for key, value in entries:
            self._values[key] = value
            if len(value) >= self._min_length:
                short = frozenset(short_variants(value, self._min_length))
                long = tuple(f for f in forms(value) if len(f.text) >= WINDOW)
                self._forms[key] = (short, long)
            else:
                self._forms.pop(key, None)

    def _publish(self) -> None:
        needles: dict[str, str] = {}
        windows: list[tuple[str, Form]] = []
        claimed: set[str] = set()
        for (connection, field), (short, long) in self._forms.items():
            label = f"{connection}.{field}"
            # The first connection to claim a spelling keeps it: the same value in two
            # connections is reported under the one added first.
            for spelling in sorted(short):
                needles.setdefault(spelling, label)
            for form in long:
                if form.text not in claimed:
                    claimed.add(form.text)
                    windows.append((label, form))
        self._matcher = Matcher(needles, self._patterns, windows)

    # --- using it ----------------------------------------------------------------------

    @property
    def max_match_length(self) -> int:
        """Longest text one secret can span (closed matches); what a stream must hold back."""
        return self._matcher.max_match_length

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        """The pattern catalogue in use; its rule names are the ``<rule>`` of markers."""
        return self._patterns

    def connections(self) -> list[str]:
        """Names of the connections whose values are known (names are not secret)."""
        return sorted({connection for connection, _field in self._values})

    def findings(self, text: str) -> list[Finding]:
        """Where ``text`` holds secrets, as non-overlapping spans in text order."""
        return self._matcher.findings(_require_str(text))

    def scan(self, text: str) -> tuple[list[Finding], int]:
        """:meth:`findings`, and the start of a copy of a known value cut short by the end of
        ``text`` (-1 if none): what a stream must hold back in case the rest follows."""
        return self._matcher.scan(_require_str(text))

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED:<connection>.<field>]`` or
        ``[REDACTED:<rule>]``; redacting the result again changes nothing."""
        if type(text) is not str:
            text = _require_str(text)
        return apply(text, self._matcher.findings(text))

    def contains_secret(self, text: str) -> bool:
        """Whether :meth:`redact` would change ``text``."""
        return bool(self._matcher.findings(_require_str(text)))

    def redact_bytes(self, data: bytes) -> bytes:
        """Redact UTF-8 bytes; bytes that are not UTF-8 pass through unchanged."""
        text = bytes(data).decode("utf-8", "surrogateescape")
        return self.redact(text).encode("utf-8", "surrogateescape")

    # --- never leak through the object itself ------------------------------------------

    def __repr__(self) -> str:
        return (
            f"<Redactor connections={len(self.connections())} "
            f"needles={self._matcher.needle_count} patterns={len(self._patterns)}>"
        )

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise RedactorNotSerializableError()

    def __copy__(self) -> NoReturn:
        raise RedactorNotSerializableError()

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise RedactorNotSerializableError()


def _require_str(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"redact() takes str, not {type(text).__name__}; use redact_bytes()")
    return text


def _validated(secrets: Iterable[SecretTriple]) -> list[tuple[tuple[str, str], str]]:
    """Check every triple before any is stored, so a bad one leaves the redactor unchanged."""
    entries = []
    for position, triple in enumerate(secrets):
        try:
            connection, field, value = triple
        except (TypeError, ValueError):
            raise InvalidSecretError(
                f"secret #{position} must be a (connection, field, value) triple"
            ) from None
        if not isinstance(connection, str) or not connection:
            raise InvalidSecretError(f"secret #{position}: connection must be a non-empty str")
        if not isinstance(field, str) or not field:
            raise InvalidSecretError(
                f"secret #{position} of connection {connection!r}: field must be a non-empty str"
            )
        if not isinstance(value, str):
            raise InvalidSecretError(
                f"secret {connection}.{field}: value must be str, not {type(value).__name__} "
                "(decode bytes values before handing them over)"
            )
        entries.append(((connection, field), value))
    return entries


_default: Redactor | None = None
_default_lock = threading.Lock()


def get_redactor() -> Redactor:
    """The process-wide redactor: the vault feeds it, every log and output path uses it."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Redactor()
    return _default
