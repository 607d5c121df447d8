"""The catalogue of secret formats recognised without knowing the value.

Known values only cover what the vault holds; a bot can still print a token it got elsewhere.
Each pattern here names a rule (the ``<rule>`` of ``[REDACTED:<rule>]``), the literal
*triggers* that any match must start with, and a matcher run only where a trigger occurs.

Why triggers: a regex searched over a whole text can backtrack on long lines and costs a pass per
pattern. Instead the redactor finds every trigger in the same Aho-Corasick pass as the known
values and calls :meth:`Pattern.find` at those positions only. Every matcher anchors at the
trigger, uses bounded quantifiers and refuses to start in the middle of a token (a look-behind
on the token alphabet), so a run of repeated triggers costs one bounded scan per token, and the
whole redaction stays linear in the text.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, MutableMapping
from typing import NamedTuple

from .errors import InvalidPatternError

__all__ = [
    "DEFAULT_PATTERNS",
    "Hit",
    "Pattern",
    "PemPrivateKeyPattern",
    "RegexPattern",
]

_RULE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class Hit(NamedTuple):
    """Where a pattern matched: ``text[start:end]`` is to be redacted.

    ``open`` is true when the match ran to the end of the text for want of a terminator (a PEM
    key with no END line): a stream must hold such text back until the terminator arrives.
    """

    start: int
    end: int
    open: bool = False


class Pattern(ABC):
    """A secret format: a rule name, its trigger literals and a matcher anchored at a trigger."""

    def __init__(self, name: str, triggers: Iterable[str], max_length: int) -> None:
        if not _RULE_NAME.fullmatch(name):
            raise InvalidPatternError(
                f"pattern rule name {name!r} must be lowercase letters, digits and dashes "
                "(it becomes the <rule> of [REDACTED:<rule>])"
            )
        triggers = tuple(triggers)
        if not triggers or not all(isinstance(t, str) and t for t in triggers):
            raise InvalidPatternError(
                f"pattern {name!r} needs at least one non-empty trigger string: the redactor "
                "only runs a pattern where one of its triggers occurs"
            )
        if max_length <= 0:
            raise InvalidPatternError(f"pattern {name!r} needs a positive max_length")
        self.name = name
        self.triggers = triggers
        self.max_length = max_length

    @abstractmethod
    def find(self, text: str, pos: int, memo: MutableMapping[object, object]) -> Hit | None:
        """Match at trigger position ``pos`` of ``text``; ``None`` if this is no secret.

        The span returned must not start before ``pos`` (a redactor resolves spans in the order
        their triggers occur).

        ``memo`` is private to one redaction call: a matcher may remember work there (for
        instance how far a terminator search already went) so that many triggers in one text
        do not rescan it.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class RegexPattern(Pattern):
    """A pattern whose matcher is a compiled regex applied with ``regex.match(text, pos)``.

    The regex must match the trigger itself at ``pos`` and use bounded quantifiers only. If it
    has a group named ``secret``, only that group is redacted (so ``aws_secret_access_key = ``
    stays readable and only the key goes).
    """

    def __init__(
        self,
        name: str,
        triggers: Iterable[str],
        regex: str | re.Pattern[str],
        max_length: int,
    ) -> None:
        super().__init__(name, triggers, max_length)
        self.regex = re.compile(regex) if isinstance(regex, str) else regex
        self._group: int | str = "secret" if "secret" in self.regex.groupindex else 0

    def find(self, text: str, pos: int, memo: MutableMapping[object, object]) -> Hit | None:
        match = self.regex.match(text, pos)
        if match is None:
            return None
        start, end = match.span(self._group)
        if end <= start:
            return None
        return Hit(start, end)


class PemPrivateKeyPattern(Pattern):
    """A PEM private key block, from its BEGIN line through its END line.

    A truncated key (no END line, e.g. a log line cut short) is redacted to the end of the
    text: its body lines are still key material, and a text that ends right after the header
    may be a key a stream has only half seen. Public keys and certificates are left alone: only
    headers naming a PRIVATE KEY trigger, and only when key material (or the end of the text)
    follows the header.
    """

    _HEADER = re.compile(
        r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |ANY )?PRIVATE KEY(?: BLOCK)?)-----"
    )
    # Key material right after the header: base64 or an RFC 1421 header such as Proc-Type,
    # after real or JSON-escaped line breaks. A bare header in prose is not a key.
    _BODY_START = re.compile(
        r"(?:[ \t\r\n]|\\r|\\n){0,8}(?:[A-Za-z0-9+/=]{8}|[A-Z][A-Za-z-]{0,31}:)"
    )
    # A text that ends right after the header (or a few characters into the body) may be a key
    # cut short, as a stream sees it line by line: that counts as a truncated key.
    _CUT_SHORT = re.compile(r"(?:[ \t\r\n]|\\r|\\n){0,8}[A-Za-z0-9+/=]{0,7}\Z")

    def __init__(self, name: str = "pem-private-key") -> None:
        # max_length bounds a closed block: an RSA-16384 key is ~12.5 KB of PEM.
        super().__init__(name, ("-----BEGIN ",), max_length=16384)

    def find(self, text: str, pos: int, memo: MutableMapping[object, object]) -> Hit | None:
        header = self._HEADER.match(text, pos)
        if header is None:
            return None
        if self._BODY_START.match(text, header.end()) is None:
            if self._CUT_SHORT.match(text, header.end()) is None:
                return None
            return Hit(pos, len(text), open=True)
        footer = f"-----END {header.group(1)}-----"
        body_start = header.end()
        # The first footer after body_start is cached per label: a later header that starts
        # before the cached footer (or anywhere, if there was none) reuses it, so many headers
        # without footers cost one scan of the text, not one each.
        key = (id(self), footer)
        cached = memo.get(key)
        if (
            isinstance(cached, tuple)
            and cached[0] <= body_start
            and (cached[1] < 0 or body_start <= cached[1])
        ):
            found = cached[1]
        else:
            found = text.find(footer, body_start)
            memo[key] = (body_start, found)
        if found < 0:
            return Hit(pos, len(text), open=True)
        return Hit(pos, found + len(footer))


# The token alphabets below double as the "not inside a longer token" look-behind and the
# "token ends here" look-ahead, so that a trigger inside another token costs O(1).
DEFAULT_PATTERNS: tuple[Pattern, ...] = (
    PemPrivateKeyPattern(),
    RegexPattern(
        "aws-access-key-id",
        ("AKIA", "ASIA"),
        r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])",
        max_length=20,
    ),
    RegexPattern(
        "aws-secret-access-key",
        (
            "aws_secret_access_key",
            "AWS_SECRET_ACCESS_KEY",
            "aws_secret_key",
            "AWS_SECRET_KEY",
            "SecretAccessKey",
            "secretAccessKey",
            "secret_access_key",
            "SECRET_ACCESS_KEY",
        ),
        r"(?<![A-Za-z0-9_])"
        r"(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|aws_secret_key|AWS_SECRET_KEY"
        r"|SecretAccessKey|secretAccessKey|secret_access_key|SECRET_ACCESS_KEY)"
        r"(?:\\?[\"'])?[ \t]{0,16}(?:=>|[:=])[ \t]{0,16}(?:\\?[\"'])?"
        r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        max_length=120,
    ),
    RegexPattern(
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"(?<![A-Za-z0-9_])"
        r"(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244})"
        r"(?![A-Za-z0-9_])",
        max_length=255,
    ),
    RegexPattern(
        "stripe-secret-key",
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
        r"(?<![A-Za-z0-9_])[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}(?![A-Za-z0-9_])",
        max_length=255,
    ),
    RegexPattern(
        "slack-token",
        ("xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xapp-"),
        r"(?<![A-Za-z0-9_-])"
        r"(?:xox[bpars]-[0-9]{1,16}-[A-Za-z0-9-]{8,240}|xapp-[0-9]-[A-Za-z0-9-]{10,240})"
        r"(?![A-Za-z0-9_-])",
        max_length=260,
    ),
    RegexPattern(
        "slack-webhook",
        ("hooks.slack.com/",),
        r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,240}"
        r"(?![A-Za-z0-9_/-])",
        max_length=270,
    ),
    RegexPattern(
        "anthropic-api-key",
        ("sk-ant-",),
        r"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,250}(?![A-Za-z0-9_-])",
        max_length=257,
    ),
    RegexPattern(
        "openai-api-key",
        ("sk-",),
        r"(?<![A-Za-z0-9_-])"
        r"sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,250}|[A-Za-z0-9]{32,128})"
        r"(?![A-Za-z0-9_-])",
        max_length=262,
    ),
    RegexPattern(
        "jwt",
        ("eyJ",),
        r"(?<![A-Za-z0-9_-])"
        r"eyJ[A-Za-z0-9_-]{2,2048}\.eyJ[A-Za-z0-9_-]{2,16384}\.[A-Za-z0-9_-]{16,2048}"
        r"(?![A-Za-z0-9_-])",
        max_length=20500,
    ),
)
