"""One immutable search structure: known-value needles and pattern triggers in one automaton.

A :class:`Matcher` is built once per change of secrets and never mutated, so a redactor can
swap a new one in with a single assignment while other threads keep using the old one.

Finding secrets is one Aho-Corasick pass (``ahocorasick_rs``, overlapping matches) over the
text. Each hit is either a known value (a candidate span at once) or a trigger (its patterns are
asked for a span at that position). Candidates are then resolved leftmost-longest; a candidate
that overlaps an earlier, chosen one keeps its remainder, so two overlapping secrets never leave
a tail of either in the clear. Redaction markers already in the text are kept intact, which is
what makes redacting twice the same as redacting once.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from typing import NamedTuple

import ahocorasick_rs

from .patterns import Pattern

__all__ = ["MARKER_PREFIX", "Finding", "Matcher", "apply", "marker", "safe_label"]

MARKER_PREFIX = "[REDACTED:"
_MARKER = re.compile(r"\[REDACTED:([^\[\]\r\n]{1,256})\]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UNSAFE_LABEL_CHARS = str.maketrans({"[": "(", "]": ")", "\r": " ", "\n": " "})


def marker(label: str) -> str:
    """The text that replaces a secret: ``[REDACTED:<label>]``."""
    return f"{MARKER_PREFIX}{label}]"


def safe_label(label: str) -> str:
    """A label that cannot end or nest a marker early (connection names are user text)."""
    return label.translate(_UNSAFE_LABEL_CHARS)


class Finding(NamedTuple):
    """A span of text to redact and the label its marker carries.

    ``open`` marks a pattern match that ran to the end of the text for want of a terminator.
    """

    start: int
    end: int
    label: str
    open: bool = False


class _MarkerGuard:
    """Finds markers this redactor could have written, so they are never redacted again.

    Only markers with a known label are protected: ``[REDACTED:<an actual secret>]`` written by
    hand must not become a hiding place for that secret.
    """

    def __init__(self, labels: frozenset[str]) -> None:
        self._labels = labels

    def spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        pos = text.find(MARKER_PREFIX)
        while pos >= 0:
            match = _MARKER.match(text, pos)
            if match is not None and match.group(1) in self._labels:
                spans.append(match.span())
                pos = match.end()
            else:
                pos += len(MARKER_PREFIX)
            pos = text.find(MARKER_PREFIX, pos)
        return spans


# What one automaton needle stands for: a known value's label and/or the patterns it triggers.
class _Needle(NamedTuple):
    label: str | None
    patterns: tuple[Pattern, ...]


# A candidate span sorts as (start, -end, kind, label, open): leftmost, then longest, then a
# known value (kind 0) before a pattern (kind 1) on an exact tie.
_Candidate = tuple[int, int, int, str, bool]


class Matcher:
    """Known values and patterns compiled into one automaton; immutable and thread safe."""

    # Texts are scanned in windows of this many characters so that a pathological text (a long
    # run of a periodic secret such as "00000000") cannot build one huge list of matches.
    WINDOW = 256 * 1024

    def __init__(self, values: Mapping[str, str], patterns: Sequence[Pattern]) -> None:
        """``values`` maps each needle (a secret spelling) to its label ``connection.field``."""
        needles: dict[str, _Needle] = {}
        for needle, label in values.items():
            needles[needle] = _Needle(safe_label(label), ())
        for pattern in patterns:
            for trigger in pattern.triggers:
                old = needles.get(trigger, _Needle(None, ()))
                if pattern not in old.patterns:
                    needles[trigger] = old._replace(patterns=(*old.patterns, pattern))

        keys = list(needles)
        self._table = [needles[key] for key in keys]
        # The automaton works on valid Unicode only; lone surrogates (from undecodable bytes)
        # are searched for as U+FFFD, and texts get the same substitution (same length).
        self._automaton = (
            ahocorasick_rs.AhoCorasick([_LONE_SURROGATE.sub("\ufffd", key) for key in keys])
            if keys
            else None
        )
        self._longest_needle = max((len(key) for key in keys), default=0)
        labels = {safe_label(label) for label in values.values()}
        labels.update(pattern.name for pattern in patterns)
        self._guard = _MarkerGuard(frozenset(labels))
        self.needle_count = len(values)
        self.max_match_length = max(
            [self._longest_needle, len(MARKER_PREFIX)] + [p.max_length for p in patterns]
        )

    def findings(self, text: str) -> list[Finding]:
        """Non-overlapping spans to redact, in text order."""
        if self._automaton is None or not text:
            return []
        try:
            return self._findings(text)
        except UnicodeEncodeError:
            # Lone surrogates (undecodable bytes): scan, and run patterns on, the same text with
            # U+FFFD in their place; positions are unchanged, so spans apply to the original.
            return self._findings(_LONE_SURROGATE.sub("\ufffd", text))

    def _findings(self, text: str) -> list[Finding]:
        assert self._automaton is not None
        find = self._automaton.find_matches_as_indexes
        memo: MutableMapping[object, object] = {}
        if len(text) <= self.WINDOW:
            # The common case (a log record, a cell output) in one call, with nothing to set up
            # when the text holds no needle at all.
            matches = find(text, overlapping=True)
            if not matches:
                return []
            candidates = self._candidates(text, matches, memo, [], 0, len(text))
            if not candidates:
                return []
            protected = self._guard.spans(text)
            resolver = _Resolver()
            resolver.add(_carve(candidates, protected) if protected else candidates)
            return resolver.findings

        protected = self._guard.spans(text)
        resolver = _Resolver()
        carried: list[_Candidate] = []
        overlap = max(self._longest_needle - 1, 0)
        for base in range(0, len(text), self.WINDOW):
            limit = base + self.WINDOW
            # Every needle starting before `limit` ends within the overlap; needles that start
            # later are left to the next window, so each is seen exactly once.
            matches = find(text[base : limit + overlap], overlapping=True)
            candidates = self._candidates(text, matches, memo, carried, base, limit)
            # A pattern may start its span after its trigger (a key after its "name = "): such
            # a span can start in the next window and must be resolved in order with it.
            carried = [c for c in candidates if c[0] >= limit]
            if carried:
                candidates = [c for c in candidates if c[0] < limit]
            resolver.add(_carve(candidates, protected) if protected else candidates)
        resolver.add(_carve(carried, protected) if protected else carried)
        return resolver.findings

    def _candidates(
        self,
        text: str,
        matches: Iterable[tuple[int, int, int]],
        memo: MutableMapping[object, object],
        candidates: list[_Candidate],
        base: int,
        limit: int,
    ) -> list[_Candidate]:
        """Append the candidate spans of automaton ``matches`` to ``candidates``.

        ``matches`` are relative to ``base``; those starting at or after ``limit`` belong to
        the next window. Matches come in order of their end, so overlapping or touching matches
        of the same known value (a run of a periodic secret, the spellings of one key inside a
        base64 blob) are merged on the spot instead of piling up as candidates.
        """
        table = self._table
        # The latest known-value candidate, still open to merging.
        run_start = run_end = -1
        run_label: str | None = None
        for index, start, end in matches:
            start += base
            if start >= limit:
                continue
            end += base
            needle = table[index]
            label = needle.label
            if label is not None:
                if label is run_label and start <= run_end:
                    if start < run_start:
                        run_start = start
                    if end > run_end:
                        run_end = end
                else:
                    if run_label is not None:
                        candidates.append((run_start, -run_end, 0, run_label, False))
                    run_start, run_end, run_label = start, end, label
            for pattern in needle.patterns:
                hit = pattern.find(text, start, memo)
                if hit is not None and hit.end > hit.start >= start:
                    candidates.append((hit.start, -hit.end, 1, pattern.name, hit.open))
        if run_label is not None:
            candidates.append((run_start, -run_end, 0, run_label, False))
        return candidates


def _carve(candidates: Iterable[_Candidate], protected: list[tuple[int, int]]) -> list[_Candidate]:
    """Cut protected marker spans (sorted, never overlapping) out of every candidate."""
    starts = [span[0] for span in protected]
    carved = []
    for start, neg_end, kind, label, is_open in candidates:
        end = -neg_end
        i = bisect_right(starts, start) - 1
        if i < 0:
            i = 0
        piece_start = start
        while i < len(protected) and protected[i][0] < end:
            p_start, p_end = protected[i]
            if p_end > piece_start:
                if p_start > piece_start:
                    carved.append((piece_start, -p_start, kind, label, False))
                piece_start = p_end
            i += 1
        if piece_start < end:
            carved.append((piece_start, -end, kind, label, is_open))
    return carved


class _Resolver:
    """Leftmost-longest selection over candidates fed in batches of increasing start.

    A candidate overlapping the span already chosen keeps its uncovered tail, so two overlapping
    secrets never leave part of either in the clear. Back-to-back pieces with the same label are
    merged into one finding, so a run of one repeated secret becomes one marker.
    """

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._covered = 0

    def add(self, candidates: list[_Candidate]) -> None:
        candidates.sort()
        findings = self.findings
        covered = self._covered
        for start, neg_end, _kind, label, is_open in candidates:
            end = -neg_end
            if end <= covered:
                continue
            if start < covered:
                start = covered
            if findings and start == covered and findings[-1].label == label:
                findings[-1] = Finding(findings[-1].start, end, label, is_open)
            else:
                findings.append(Finding(start, end, label, is_open))
            covered = end
        self._covered = covered


def apply(text: str, findings: Sequence[Finding]) -> str:
    """``text`` with every finding replaced by its marker."""
    if not findings:
        return text
    parts = []
    pos = 0
    for finding in findings:
        parts.append(text[pos : finding.start])
        parts.append(marker(finding.label))
        pos = finding.end
    parts.append(text[pos:])
    return "".join(parts)
