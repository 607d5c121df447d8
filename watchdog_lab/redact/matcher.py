"""One immutable search structure: known-value needles and pattern triggers in one automaton.

A :class:`Matcher` is built once per change of secrets and never mutated, so a redactor can
swap a new one in with a single assignment while other threads keep using the old one.

Finding secrets is one Aho-Corasick pass (``ahocorasick_rs``, overlapping matches) over the
text. Each hit is a known value (a candidate span at once), a trigger (its patterns are asked
for a span at that position) or an anchor of a window form (see below). Candidates are then
resolved leftmost-longest; a candidate that overlaps an earlier, chosen one keeps its remainder,
so two overlapping secrets never leave a tail of either in the clear. Redaction markers already
in the text are kept intact, which is what makes redacting twice the same as redacting once.

Windows. Any :data:`~.variants.WINDOW` (16) consecutive secret characters of a value's
encodings (a :class:`~.variants.Form`) must be found, wherever a partial copy starts. Putting
every 16-character window in the automaton would cost one needle per character of every
encoding (a PEM key has ~30 KB of them). Instead each form contributes *anchors*: its
``ANCHOR``-character substrings, one starting in every ``STRIDE`` consecutive positions
(``STRIDE = 16 - ANCHOR + 1``), so that every window of the form holds one whole anchor.

The scan's speed is set by the anchors' first characters, not by their number: the automaton
does one table lookup per byte while at its root, and leaves the root wherever the text matches
the start of an anchor. So each anchor starts, among the positions it may, where ordinary log
text rarely does (upper case, ``+/=``, rare punctuation; see ``_TIERS``), and is shortened (down
to ``_SHORTEST``) where that reaches such a start; one anchor starting on a common pair (two
lower-case letters, two digits) would slow down the scan of every log. The text is searched as
bytes (see ``Matcher._search``). An anchor hit is then *extended* left
and right by comparing the text with the form (slices, so at C speed) into the longest run the
two share, which is redacted if it holds at least WINDOW secret characters. Extension treats as
equal what a copy changes without changing the secret: line breaks (real or JSON-escaped,
inserted or dropped, as in MIME or re-wrapped PEM), ``%xx`` escapes against the character they
stand for (any ``safe`` set), ``+`` against ``%20``, and the form's ``alt`` spelling. A run is
extended once: later anchors inside it are skipped, so a long copy costs one pass over it and
becomes one marker. Two runs of one value a few base64 characters apart are joined too (see
``_Resolver._joinable``).
"""

from __future__ import annotations

import codecs
import hashlib
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import NamedTuple

import ahocorasick_rs

from .patterns import Pattern, RegexPattern
from .variants import WINDOW as COPY_LENGTH
from .variants import Form

__all__ = ["MARKER_PREFIX", "Finding", "Matcher", "apply", "marker", "safe_label"]

# Window forms are found through anchors of this length, one every STRIDE characters (see the
# module docstring; a few are shorter, see _anchor_positions). Eight characters keep chance hits
# in ordinary text rare (each only costs a failed comparison) while keeping the automaton small.
ANCHOR = 8
STRIDE = COPY_LENGTH - ANCHOR + 1
# Compared at once while extending a run; a mismatch is then located character by character.
_CHUNK = 64
# An encoding error handler that stands one byte 0xFF (never in an ASCII needle) for each
# character Latin-1 cannot encode, so that a text keeps one byte per character.
_OPAQUE = "watchdog_lab.redact.opaque"


def _opaque(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeEncodeError), "registered for encoding only"
    return "\xff" * (error.end - error.start), error.end


codecs.register_error(_OPAQUE, _opaque)
# An anchor occurrence is coded as form index << _Q_BITS | position in the form.
_Q_BITS = 24
_Q_MASK = (1 << _Q_BITS) - 1

MARKER_PREFIX = "[REDACTED:"
_MARKER = re.compile(r"\[REDACTED:([^\[\]\r\n]{1,256})\]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Between two pieces of one base64'd copy (see _Resolver._joinable): a few base64 characters,
# and line breaks if the base64 is wrapped.
_GAP = re.compile(r"[A-Za-z0-9+/_-]{1,6}")
_GAP_SPAN = 12
# Runs of public characters in a form's secret flags.
_PUBLIC_RUN = re.compile(b"\x00+")
_BREAKS = re.compile(r"\r?\n|\\r\\n|\\n")
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
# The memo key under which a scan notes the start of a copy cut short by the end of the text.
_PENDING = "pending"


class _WindowForm(NamedTuple):
    label: str
    text: str
    alt: str | None
    secret: bytes
    # Secret characters a run needs: COPY_LENGTH, or all the form has if it has fewer.
    need: int


class Matcher:
    """Known values and patterns compiled into one automaton; immutable and thread safe."""

    # Texts are scanned in windows of this many characters so that a pathological text (a long
    # run of a periodic secret such as "00000000") cannot build one huge list of matches.
    WINDOW = 256 * 1024

    def __init__(
        self,
        values: Mapping[str, str],
        patterns: Sequence[Pattern],
        forms: Sequence[tuple[str, Form]] = (),
    ) -> None:
        """``values`` maps each needle (a whole secret spelling) to its label
        ``connection.field``; ``forms`` are (label, form) pairs searched for by windows."""
        needles: dict[str, _Needle] = {}
        for needle, label in values.items():
            needles[needle] = _Needle(safe_label(label), ())
        self._forms: list[_WindowForm] = []
        anchors: dict[str, int | list[int]] = {}
        for label, form in forms:
            if not self._add_form(safe_label(label), form, anchors):
                # Too little secret in it for an anchor: the whole spelling is the needle.
                needles.setdefault(form.text, _Needle(safe_label(label), ()))
        for pattern in patterns:
            for trigger in pattern.triggers:
                old = needles.get(trigger, _Needle(None, ()))
                if pattern not in old.patterns:
                    needles[trigger] = old._replace(patterns=(*old.patterns, pattern))

        # Anchors first: an automaton index below _anchor_count is an anchor.
        keys = [*anchors, *needles]
        self._anchor_count = len(anchors)
        self._anchors = list(anchors.values())
        self._table = list(needles.values())
        # For each needle, its patterns and a cheap first test of each: most triggers are no
        # secret ("sk-" in "risk-limit"), and a regex pattern's find() starts with its regex
        # matching at the trigger, so that match alone rejects them without a call to find().
        self._checks = [
            tuple(
                (pattern, pattern.regex.match if type(pattern) is RegexPattern else None)
                for pattern in needle.patterns
            )
            for needle in self._table
        ]
        # Per automaton index, the one screen of a needle that is only a trigger of one regex
        # pattern (the usual trigger), so that the scan rejects most of them in a single call.
        screens: list[Callable[..., object] | None] = [None] * self._anchor_count
        screens += [
            checks[0][1] if needle.label is None and len(checks) == 1 else None
            for needle, checks in zip(self._table, self._checks, strict=True)
        ]
        self._screens = screens
        self._scan_tables = (
            self._anchor_count,
            self._anchors,
            self._table,
            self._checks,
            self._screens,
        )
        del anchors, needles
        # The automaton works on valid Unicode only; lone surrogates (from undecodable bytes)
        # are searched for as U+FFFD, and texts get the same substitution (same length).
        # It searches bytes rather than str: ahocorasick_rs turns every match of a str search
        # into character offsets, which cost it 15-25% of its throughput on the benchmark's
        # ASCII log and more on other text, while here byte offsets are character offsets
        # whenever all needles are ASCII (see _search).
        if all(map(str.isascii, keys)):
            # The common case, checked and encoded per key at C speed (map, no Python step).
            encoded = list(map(str.encode, keys))
            self._char_lengths: dict[int, int] = {}
        else:
            encoded = [
                (key if key.isascii() else _LONE_SURROGATE.sub("\ufffd", key)).encode("utf-8")
                for key in keys
            ]
            # Character length of each needle whose UTF-8 is longer (for non-ASCII text).
            self._char_lengths = {
                index: len(key) for index, key in enumerate(keys) if len(encoded[index]) != len(key)
            }
        # All needles ASCII (the common case): texts need no offset conversion (see _search).
        self._ascii = not self._char_lengths
        self._automaton = ahocorasick_rs.BytesAhoCorasick(encoded) if keys else None
        self._longest_needle = max(map(len, keys), default=0)
        del keys, encoded
        labels = {safe_label(label) for label in values.values()}
        labels.update(form.label for form in self._forms)
        labels.update(pattern.name for pattern in patterns)
        self._guard = _MarkerGuard(frozenset(labels))
        self.needle_count = len(values) + self._anchor_count
        self.max_match_length = max(
            [self._longest_needle, len(MARKER_PREFIX)]
            + [len(form.text) for form in self._forms]
            + [p.max_length for p in patterns]
        )

    def _add_form(self, label: str, form: Form, anchors: dict[str, int | list[int]]) -> bool:
        """Register the anchors of ``form``; false if it has none (too little secret)."""
        text, alt, secret = form.text, form.alt, form.secret
        length = len(text)
        if length >= 1 << _Q_BITS:
            raise ValueError("a secret value longer than 4 MiB (in one encoding) is not supported")
        total = secret.count(1)
        if total < ANCHOR:
            return False
        positions = _positions(text, secret, alt, form.straddle)
        base = len(self._forms) << _Q_BITS
        added = bool(positions)
        # In bulk (a dict built and merged at C speed); only when a gram is already known, or
        # met twice in this form, are occurrences merged one by one into lists.
        codes = [base | q for q, _size in positions]
        grams = [text[q : q + size] for q, size in positions]
        pairs = list(zip(grams, codes, strict=True))
        if alt is not None:
            other = [alt[q : q + size] for q, size in positions]
            pairs += [(a, c) for a, g, c in zip(other, grams, codes, strict=True) if a != g]
        fresh = dict(pairs)
        if len(fresh) == len(pairs) and fresh.keys().isdisjoint(anchors.keys()):
            anchors.update(fresh)
        else:
            for gram, code in pairs:
                seen = anchors.get(gram)
                if seen is None:
                    anchors[gram] = code
                elif isinstance(seen, int):
                    if seen != code:
                        anchors[gram] = [seen, code]
                elif code not in seen:
                    seen.append(code)
        if added:
            self._forms.append(_WindowForm(label, text, alt, secret, min(COPY_LENGTH, total)))
        return added or form.straddle

    def findings(self, text: str) -> list[Finding]:
        """Non-overlapping spans to redact, in text order."""
        automaton = self._automaton
        if automaton is None or not text:
            return []
        if self._ascii and len(text) <= self.WINDOW:
            # The common case (a log record, a cell output, all needles ASCII; see _search):
            # one call, and nothing else when the text holds no needle at all.
            matches = automaton.find_matches_as_indexes(
                text.encode("latin-1", _OPAQUE), overlapping=True
            )
            # Most texts with matches hold only triggers that their screen rejects ("sk-" in
            # "risk-limit"): those are done here, before any candidate is set up.
            screens = self._screens
            for index, start, _end in matches:
                screen = screens[index]
                if screen is None or screen(text, start) is not None:
                    return self._resolve(text, matches, {})
            return []
        try:
            return self._findings(text, {})
        except UnicodeEncodeError:
            # Lone surrogates (undecodable bytes): scan, and run patterns on, the same text with
            # U+FFFD in their place; positions are unchanged, so spans apply to the original.
            return self._findings(_LONE_SURROGATE.sub("\ufffd", text), {})

    def scan(self, text: str) -> tuple[list[Finding], int]:
        """:meth:`findings`, and where a copy of a known value that reaches the end of the
        text starts (-1 if none), even one still too short to redact: a stream holds it back
        in case the rest of the copy follows."""
        if self._automaton is None or not text:
            return [], -1
        memo: dict[object, object] = {}
        try:
            found = self._findings(text, memo)
        except UnicodeEncodeError:
            memo.clear()
            found = self._findings(_LONE_SURROGATE.sub("\ufffd", text), memo)
        pending = memo.get(_PENDING, -1)
        assert isinstance(pending, int)
        return found, pending

    def _findings(self, text: str, memo: MutableMapping[object, object]) -> list[Finding]:
        find = self._search
        if len(text) <= self.WINDOW:
            # The common case (a log record, a cell output) in one call, with nothing to set up
            # when the text holds no needle at all (_search inlined for ASCII needles).
            if self._ascii:
                assert self._automaton is not None
                matches = self._automaton.find_matches_as_indexes(
                    text.encode("latin-1", _OPAQUE), overlapping=True
                )
            else:
                matches = find(text)
            return self._resolve(text, matches, memo) if matches else []

        protected = self._guard.spans(text)
        resolver = _Resolver(text)
        carried: list[_Candidate] = []
        overlap = max(self._longest_needle - 1, 0)
        for base in range(0, len(text), self.WINDOW):
            limit = base + self.WINDOW
            # Every needle starting before `limit` ends within the overlap; needles that start
            # later are left to the next window, so each is seen exactly once.
            matches = find(text[base : limit + overlap])
            candidates = self._candidates(text, matches, memo, carried, base, limit)
            # A pattern may start its span after its trigger (a key after its "name = "): such
            # a span can start in the next window and must be resolved in order with it.
            carried = [c for c in candidates if c[0] >= limit]
            if carried:
                candidates = [c for c in candidates if c[0] < limit]
            resolver.add(_carve(candidates, protected) if protected else candidates)
        resolver.add(_carve(carried, protected) if protected else carried)
        return resolver.findings

    def _resolve(
        self, text: str, matches: list[tuple[int, int, int]], memo: MutableMapping[object, object]
    ) -> list[Finding]:
        """The findings of the automaton ``matches`` of a text scanned in one window."""
        candidates = self._candidates(text, matches, memo, [], 0, len(text))
        if not candidates:
            return []
        protected = self._guard.spans(text)
        resolver = _Resolver(text)
        resolver.add(_carve(candidates, protected) if protected else candidates)
        return resolver.findings

    def _search(self, text: str) -> list[tuple[int, int, int]]:
        """Automaton matches in ``text`` as (needle index, start, end) in characters, in order
        of their end. When some needle is not ASCII, raises UnicodeEncodeError on lone
        surrogates (see :meth:`findings`)."""
        assert self._automaton is not None
        if self._ascii:
            # One byte per character, so byte offsets are character offsets, whatever the text
            # holds: characters that are not Latin-1 (and lone surrogates) become a byte no
            # ASCII needle has.
            data = text.encode("latin-1", _OPAQUE)
            return self._automaton.find_matches_as_indexes(data, overlapping=True)
        data = text.encode("utf-8")
        matches = self._automaton.find_matches_as_indexes(data, overlapping=True)
        if not matches or len(data) == len(text):
            # All ASCII: a byte offset is a character offset.
            return matches
        # Convert byte offsets, decoding the bytes between consecutive match ends once (ends
        # never decrease); a match starts its needle's length in characters before its end.
        # Matches start and end on character boundaries: needles are whole UTF-8 characters.
        lengths = self._char_lengths
        converted = []
        done = chars = 0
        for index, start, end in matches:
            if end != done:
                chars += len(data[done:end].decode("utf-8"))
                done = end
            converted.append((index, chars - lengths.get(index, end - start), chars))
        return converted

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
        anchor_count, anchors, table, checks, screens = self._scan_tables
        memo_get = memo.get
        extend = self._extend
        # The latest known-value candidate, still open to merging.
        run_start = run_end = -1
        run_label: str | None = None
        for index, start, end in matches:
            start += base
            if start >= limit:
                continue
            screen = screens[index]
            if screen is not None and screen(text, start) is None:
                continue
            end += base
            if index < anchor_count:
                occurrences = anchors[index]
                for code in (occurrences,) if isinstance(occurrences, int) else occurrences:
                    # A hit inside the last run of its form is part of a copy already
                    # extended (hits come in text order): it costs nothing more.
                    last = memo_get(code >> _Q_BITS)
                    if last is None or start < last[0] or last[1] < end:  # type: ignore[index]  # hot loop: memo values are pairs, untyped for speed
                        extend(text, start, end, code, memo, candidates)
                continue
            index -= anchor_count
            label = table[index].label
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
            for pattern, screen in checks[index]:
                if screen is not None and screen(text, start) is None:
                    continue
                hit = pattern.find(text, start, memo)
                if hit is not None and hit.end > hit.start >= start:
                    candidates.append((hit.start, -hit.end, 1, pattern.name, hit.open))
        if run_label is not None:
            candidates.append((run_start, -run_end, 0, run_label, False))
        return candidates

    def _extend(
        self,
        text: str,
        start: int,
        stop: int,
        code: int,
        memo: MutableMapping[object, object],
        candidates: list[_Candidate],
    ) -> None:
        """Grow the anchor hit ``text[start:stop]`` (occurrence ``code``) into a run; keep it
        if long.

        The run is noted as ``memo[form index]``, the last run of that form: the caller skips
        the later hits of that form inside it.
        """
        index = code >> _Q_BITS
        form = self._forms[index]
        q = code & _Q_MASK
        end, form_end, partial = _extend_right(text, stop, form, q + stop - start)
        begin, form_begin = _extend_left(text, start, form, q)
        memo[index] = (begin, end)
        # Line breaks at the edges of a piece of a copy stay in the text, so lines stay lines
        # (a whole copy keeps them: they are part of the value).
        if form_end < len(form.text):
            while end > begin and text[end - 1] in "\r\n":
                end -= 1
        if form_begin > 0:
            while begin < end and text[begin] in "\r\n":
                begin += 1
        if partial:
            pending = memo.get(_PENDING, -1)
            assert isinstance(pending, int)
            memo[_PENDING] = begin if pending < 0 else min(begin, pending)
        if form.secret.count(1, form_begin, form_end) >= form.need:
            candidates.append((begin, -end, 0, form.label, False))


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

    def __init__(self, text: str) -> None:
        self.findings: list[Finding] = []
        self._covered = 0
        self._text = text

    def _joinable(self, start: int, end: int, label: str) -> bool:
        """Whether two copies of one value with ``text[start:end]`` between them are one copy.

        A base64'd document that holds a value with characters to escape (a PEM in JSON) is,
        between the escapes, the base64 of the value at shifting alignments: the pieces are
        found separately, and the few characters that encode an escape and its neighbours are
        part of the same copy.
        """
        if end - start > _GAP_SPAN or "." not in label:
            return False
        gap = _BREAKS.sub("", self._text[start:end])
        return _GAP.fullmatch(gap) is not None

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
            if (
                findings
                and findings[-1].label == label
                and (start == covered or self._joinable(covered, start, label))
            ):
                findings[-1] = Finding(findings[-1].start, end, label, is_open)
            else:
                findings.append(Finding(start, end, label, is_open))
            covered = end
        self._covered = covered


# Anchors start where ordinary log text rarely does. The automaton leaves its root state (one
# table lookup per byte) wherever the text holds the first character of some anchor, and then
# looks further where it holds the first two, so an anchor that starts on a character common in
# logs (lower case, digits, spaces and the punctuation of JSON and timestamps) slows the scan
# of every log, however few such anchors there are; the secret forms offer other starts in
# each STRIDE. What costs is the set of first characters of all anchors together: one anchor is
# enough to take the scan off its fast path at every occurrence of its first character, and a
# thousand more anchors starting on that character cost little more. The forms of hex (and
# values made of hex digits) can only start on hex digits, so those are paid for in any case,
# and every other choice should keep to them rather than add a character of its own. Character
# classes: U upper case, H the hex letters but "e", L the other lower case letters ("e" is the
# commonest letter of English text), S "+/=", O spaces and punctuation common in logs, P
# anything else (rare punctuation, non-ASCII), and digits by how often logs start a pair with
# them: Z 0-2 (the leading digit of every date and time field and of most counts), D 3-5, N
# 6-9 (no date or time field starts with one).
_CLASS = str.maketrans(
    {
        **dict.fromkeys(map(ord, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), "U"),
        **dict.fromkeys(map(ord, "abcdf"), "H"),
        **dict.fromkeys(map(ord, "eghijklmnopqrstuvwxyz"), "L"),
        **dict.fromkeys(map(ord, "012"), "Z"),
        **dict.fromkeys(map(ord, "345"), "D"),
        **dict.fromkeys(map(ord, "6789"), "N"),
        **dict.fromkeys(map(ord, "+/="), "S"),
        **dict.fromkeys(map(ord, " \t\r\n\"',.:;-_()[]{}\\"), "O"),
    }
)
# Tiers of starting pairs, best first, from the pair frequencies of benchmarks/bench_redact.py's
# log: a rare first character, then a rare second one. A second digit ranks as D whatever its
# class, a second hex letter as L; pairs not listed (a P in them) rank with the first tier
# unless they start with H, L, O or a digit. The hex of a value (and a value of hex digits)
# often offers no other start than a digit or a hex letter: then a hex letter or 6-9 followed
# by anything comes before 0-5 (D and Z), and a pair starting on L or O comes last.
_TIERS = (
    ("US", "UL", "SU", "SS", "SL", "SD"),
    ("UD", "UU"),
    ("HU", "HS"),
    ("HD",),
    ("NS", "NU"),
    ("NL", "ND"),
    ("HL", "HO", "HP", "NO", "NP"),
    ("DS", "DU"),
    ("DL", "DD"),
    ("ZS", "ZU", "ZL", "ZD"),
)


class _PairTiers(dict[str, int]):
    """Tier of each pair of character classes (see ``_TIERS``)."""

    def __missing__(self, pair: str) -> int:
        if pair[1] in "ZN":
            return self[pair[0] + "D"]
        if pair[1] == "H":
            return self[pair[0] + "L"]
        return _WORST_TIER if pair[0] in "HLOZDN" else 0


_WORST_TIER = len(_TIERS)
# Anchors that start in these first tiers are cheap for the scan.
_GOOD_TIERS = 2
# The shortest anchor: shorter ones would match ordinary text by chance too often.
_SHORTEST = 6
_PAIR_TIER = _PairTiers({pair: tier for tier, pairs in enumerate(_TIERS) for pair in pairs})


# The same tiers as byte tables, so a form's tiers are computed by ``bytes.translate`` rather
# than one dict lookup per character (most of a redactor's build time otherwise): a class code
# per ASCII byte (in the order of _CLASSES; a character beyond ASCII is encoded as "?", a P),
# a code per pair (first * len(_CLASSES) + second), a tier per pair code; and for combining
# the tiers of two spellings, the worse of the two tiers of a code (first * _TIER_COUNT +
# second).
_CLASSES = "UHLZDNSOP"
_TIER_COUNT = _WORST_TIER + 1
_CODES = bytes(
    code if (code := _CLASSES.find(chr(c).translate(_CLASS))) >= 0 else _CLASSES.index("P")
    for c in range(256)
)
_TIMES = {n: bytes((c * n) % 256 for c in range(256)) for n in (len(_CLASSES), _TIER_COUNT)}
_PAIR_TABLE = bytes(
    _PAIR_TIER[_CLASSES[code // len(_CLASSES)] + _CLASSES[code % len(_CLASSES)]]
    if code < len(_CLASSES) ** 2
    else _WORST_TIER
    for code in range(256)
)
_MAX_TABLE = bytes(
    max(divmod(code, _TIER_COUNT)) if code < _TIER_COUNT**2 else _WORST_TIER for code in range(256)
)


def _start_tiers(text: str, alt: str | None) -> bytes:
    """For each position of ``text``, the tier (see ``_TIERS``) of an anchor starting there:
    the worse of the tiers of ``text`` and of its ``alt`` spelling, both of which are anchors."""
    tiers = _pair_tiers(text)
    if alt is not None:
        tiers = _add_bytes(tiers.translate(_TIMES[_TIER_COUNT]), _pair_tiers(alt))
        tiers = tiers.translate(_MAX_TABLE)
    return tiers


def _pair_tiers(text: str) -> bytes:
    codes = text.encode("ascii", "replace").translate(_CODES)
    pairs = _add_bytes(codes[:-1].translate(_TIMES[len(_CLASSES)]), codes[1:])
    return pairs.translate(_PAIR_TABLE) + bytes((_WORST_TIER,))


def _add_bytes(a: bytes, b: bytes) -> bytes:
    """The byte-wise sum of two equally long byte strings whose sums all stay below 256.

    Done as one big-integer addition (no sum carries into its neighbour), so a form's tiers
    cost a few passes at C speed rather than a Python step per character.
    """
    return (int.from_bytes(a, "big") + int.from_bytes(b, "big")).to_bytes(len(a), "big")


# Anchor positions of forms already seen, by a digest of the form: the server rebuilds its
# redactor at every connection change, and choosing positions is most of a build's cost. Keyed
# by digest so the cache holds no spelling of any secret (a forgotten value leaves only
# positions behind); bounded, and emptied whole when full.
_POSITIONS: dict[bytes, tuple[tuple[int, int], ...]] = {}
_POSITIONS_MAX = 16384


def _positions(
    text: str, secret: bytes, alt: str | None, straddle: bool
) -> tuple[tuple[int, int], ...]:
    digest = hashlib.blake2b(digest_size=20)
    for part in (text, alt or "", "s" if straddle else "w"):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    digest.update(bytes(secret))
    key = digest.digest()
    found = _POSITIONS.get(key)
    if found is None:
        if straddle:
            found = tuple(_straddle_positions(text, secret, alt))
        else:
            found = tuple(_anchor_positions(text, secret, alt))
        if len(_POSITIONS) >= _POSITIONS_MAX:
            _POSITIONS.clear()
        _POSITIONS[key] = found
    return found


def _straddle_positions(text: str, secret: bytes, alt: str | None) -> list[tuple[int, int]]:
    """Anchors (start, length) of a wrapped form for the windows across its line breaks (the
    others are windows of the plain form).

    Around each break, one anchor before it serves the windows that start early, one after it
    the others; neither holds the break (extension steps over it), since an anchor starting
    with a line break would be entered at every line of a log. Anchors of ANCHOR characters
    ending at the break and starting right after it always do; shorter ones may start on
    rarer pairs (see ``_anchor_positions``).
    """
    length = len(text)
    tiers = _start_tiers(text, alt)

    def usable(q: int, size: int) -> bool:
        return (
            q >= 0
            and q + size <= length
            and 0 not in secret[q : q + size]
            and "\n" not in text[q : q + size]
        )

    positions: set[tuple[int, int]] = set()
    brk = text.find("\n")
    while brk >= 0:
        chosen: list[tuple[int, int]] = []
        # After the break: it must lie within the window starting at the break. (Whether an
        # anchor is usable is asked first: that also keeps its start within the text.)
        for after in range(ANCHOR, _SHORTEST - 1, -1):
            for r in range(brk + 1, brk + COPY_LENGTH - after + 1):
                if usable(r, after) and tiers[r] < _GOOD_TIERS:
                    # Before the break: it must serve every window from the one starting
                    # COPY_LENGTH - 1 before the break to the first one the other misses.
                    for before in range(ANCHOR, _SHORTEST - 1, -1):
                        for q in range(brk - before, r + after - COPY_LENGTH - 2, -1):
                            if usable(q, before) and tiers[q] < _GOOD_TIERS:
                                chosen = [(q, before), (r, after)]
                                break
                        if chosen:
                            break
                if chosen:
                    break
            if chosen:
                break
        if not chosen:
            chosen = [(brk - ANCHOR, ANCHOR), (brk + 1, ANCHOR)]
        positions.update(c for c in chosen if usable(*c))
        brk = text.find("\n", brk + 1)
    return sorted(positions)


# One single-byte string per tier, best first, for ``bytes.rfind``.
_TIER_BYTES = tuple(bytes((tier,)) for tier in range(_WORST_TIER + 1))


def _without_public(tiers: bytes, secret: bytes, size: int) -> bytes:
    """``tiers`` with every start whose ``size`` characters hold a public one made unusable
    (a tier no search asks for)."""
    out = bytearray(tiers)
    for public in _PUBLIC_RUN.finditer(secret):
        lo = max(public.start() - size + 1, 0)
        out[lo : public.end()] = bytes((_WORST_TIER + 1,)) * (public.end() - lo)
    return bytes(out)


def _anchor_positions(text: str, secret: bytes, alt: str | None = None) -> list[tuple[int, int]]:
    """Anchors of ``text`` as (start, length): every window of COPY_LENGTH characters holds
    one, and each anchor covers secret characters only.

    An anchor of ANCHOR characters may start at any of STRIDE positions for the first window
    it must serve, so each next anchor is, among them, the one whose start is rarest in log
    text (see ``_TIERS``), the furthest one of those (fewest anchors). Where none of them has a
    start of the first two tiers, a shorter anchor (down to ``_SHORTEST``) may start further
    on, which such a start often does: a single anchor that starts on a character common in
    logs slows down the scan of every log (see ``_TIERS``), while a shorter one that starts on
    a rare pair still seldom matches by chance. Where a good start is at hand, a shorter anchor
    still starts further on when its start is as good, and once the last window of a run of
    secret characters is served no other anchor is added: each anchor fewer is a needle fewer
    to build into the automaton.
    """
    length = len(text)
    last_start = length - ANCHOR
    tiers = _start_tiers(text, alt)
    dense = 0 not in secret  # the usual form: every character secret, nothing to check
    # The best start in a range is found by one rfind per tier, best tier first, at C speed:
    # the same choice as comparing each start, at a fraction of a build's time. Starts whose
    # full-length anchor would hold a public character are ruled out of that search.
    usable = tiers if dense else _without_public(tiers, secret, ANCHOR)
    # With at least COPY_LENGTH secret characters, the windows to serve are the runs of
    # COPY_LENGTH secret ones: once none starts at or after a position of a run, that run needs
    # no more anchors (a copy of its last characters is too short to count).
    whole_windows = secret.count(1) >= COPY_LENGTH
    positions = []
    last = -1
    while last < last_start:
        if whole_windows:
            run_end = secret.find(0, last + 1)
            if run_end < 0:
                run_end = length
            if run_end - (last + 1) < COPY_LENGTH:
                following = secret.find(1, run_end)
                if following < 0:
                    break
                last = following - 1
                continue
        lo, hi = last + 1, min(last + STRIDE, last_start)
        chosen = -1
        size = ANCHOR
        best = _WORST_TIER + 1
        for tier in _TIER_BYTES:
            q = usable.rfind(tier, lo, hi + 1)
            if q >= 0:
                chosen, best = q, tier[0]
                break
        if best >= _GOOD_TIERS:
            for shorter in range(ANCHOR - 1, _SHORTEST - 1, -1):
                q = lo + COPY_LENGTH - shorter
                if q + shorter > length:
                    break
                if tiers[q] < best and (dense or 0 not in secret[q : q + shorter]):
                    chosen, size, best = q, shorter, tiers[q]
                    if best < _GOOD_TIERS:
                        break
        elif hi == lo + STRIDE - 1:
            # A good start further on, for a shorter anchor, serves the same windows and leaves
            # fewer to the next anchor: fewer anchors, a smaller automaton, a faster build.
            for shorter in range(_SHORTEST, ANCHOR):
                q = lo + COPY_LENGTH - shorter
                if q + shorter > length:
                    continue
                if tiers[q] <= best and (dense or 0 not in secret[q : q + shorter]):
                    chosen, size, best = q, shorter, tiers[q]
                    break
        if chosen < 0:
            # Nothing but public characters here: no window of secret ones to find.
            last = hi
            continue
        positions.append((chosen, size))
        last = chosen
    return positions


# --- extending an anchor hit into a run ---------------------------------------------------------


def _break_after(s: str, i: int) -> int:
    """Length of the line break starting at ``s[i]`` (real or JSON-escaped), else 0."""
    char = s[i]
    if char == "\n":
        return 1
    if char == "\r":
        return 2 if s.startswith("\n", i + 1) else 1
    if char == "\\":
        if s.startswith("\\n", i):
            return 2
        if s.startswith("\\r\\n", i):
            return 4
    return 0


def _break_before(s: str, i: int) -> int:
    """Length of the line break ending at ``s[i]`` (exclusive), else 0."""
    char = s[i - 1]
    if char == "\n":
        return 2 if i >= 2 and s[i - 2] == "\r" else 1
    if char == "\r":
        return 1
    if char == "n" and i >= 2 and s[i - 2] == "\\":
        return 4 if i >= 4 and s.startswith("\\r", i - 4) else 2
    return 0


def _unescape(s: str, i: int) -> str | None:
    """The ASCII character a ``%xx`` escape at ``s[i]`` stands for (``+`` is a space)."""
    if s[i] == "+":
        return " "
    if s[i] == "%" and i + 3 <= len(s):
        try:
            code = int(s[i + 1 : i + 3], 16)
        except ValueError:
            return None
        if code < 128 and s[i + 1] not in "+- " and s[i + 2] not in "+- ":
            return chr(code)
    return None


def _same(a: str, form: _WindowForm, j: int) -> bool:
    return a == form.text[j] or (form.alt is not None and a == form.alt[j])


def _equivalent_after(text: str, i: int, form: _WindowForm, j: int) -> tuple[int, int, bool]:
    """How far a copy that differs from ``form`` at (i, j) goes on: (text step, form step,
    whether the step is a matched character rather than a skipped line break); (0, 0, _) if
    the copy ends here."""
    skip_text = _break_after(text, i)
    skip_form = _break_after(form.text, j)
    if skip_text or skip_form:
        return skip_text, skip_form, False
    char = _unescape(text, i)
    if char is not None and _same(char, form, j):
        return (1 if text[i] == "+" else 3), 1, True
    char = _unescape(form.text, j)
    if char is not None and text[i] == char:
        return 1, (1 if form.text[j] == "+" else 3), True
    if text[i] == "+" and form.text.startswith("%20", j):
        return 1, 3, True
    if form.text[j] == "+" and text.startswith("%20", i):
        return 3, 1, True
    return 0, 0, False


def _equivalent_before(text: str, i: int, form: _WindowForm, j: int) -> tuple[int, int, bool]:
    """:func:`_equivalent_after` looking backwards from (i, j), exclusive."""
    skip_text = _break_before(text, i)
    skip_form = _break_before(form.text, j)
    if skip_text or skip_form:
        return skip_text, skip_form, False
    fwd = form.text
    if i >= 3 and text[i - 3] == "%":
        char = _unescape(text, i - 3)
        if char is not None and _same(char, form, j - 1):
            return 3, 1, True
    if j >= 3 and fwd[j - 3] == "%" and _unescape(fwd, j - 3) == text[i - 1]:
        return 1, 3, True
    if text[i - 1] == "+" and (
        _same(" ", form, j - 1) or (j >= 3 and fwd.startswith("%20", j - 3))
    ):
        return 1, (1 if fwd[j - 1] == " " else 3), True
    if fwd[j - 1] == "+" and (text[i - 1] == " " or (i >= 3 and text.startswith("%20", i - 3))):
        return (1 if text[i - 1] == " " else 3), 1, True
    return 0, 0, False


def _agree_forward(text: str, i: int, stop: int, form: _WindowForm, j: int) -> int:
    """How many characters of ``text[i:stop]`` match ``form`` from ``j`` on, each in either
    spelling.

    Runs of one spelling are measured by halving slice comparisons (at C speed), so a copy
    that differs from the form every few dozen characters (a re-wrapped or escaped PEM) costs
    a few comparisons per difference rather than one Python step per character.
    """
    fwd, alt = form.text, form.alt
    k = i
    while k < stop:
        f = j + k - i
        char = text[k]
        if char == fwd[f]:
            spelling = fwd
        elif alt is not None and char == alt[f]:
            spelling = alt
        else:
            break
        # The longest common prefix of text[k:stop] and spelling[f:], at least 1.
        lo, hi = 1, stop - k
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if text[k + lo : k + mid] == spelling[f + lo : f + mid]:
                lo = mid
            else:
                hi = mid - 1
        k += lo
    return k - i


def _agree_backward(text: str, i: int, stop: int, form: _WindowForm, j: int) -> int:
    """:func:`_agree_forward` looking backwards: how many characters of ``text[stop:i]``,
    from its end, match ``form`` up to ``j`` (exclusive)."""
    fwd, alt = form.text, form.alt
    k = i
    while k > stop:
        f = j - (i - k)
        char = text[k - 1]
        if char == fwd[f - 1]:
            spelling = fwd
        elif alt is not None and char == alt[f - 1]:
            spelling = alt
        else:
            break
        # The longest common suffix of text[stop:k] and spelling[:f], at least 1.
        lo, hi = 1, k - stop
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if text[k - mid : k - lo] == spelling[f - mid : f - lo]:
                lo = mid
            else:
                hi = mid - 1
        k -= lo
    return i - k


def _extend_right(text: str, i: int, form: _WindowForm, j: int) -> tuple[int, int, bool]:
    """Where a copy of ``form`` from text ``i`` / form ``j`` ends: (text end, form end,
    whether the text ran out before the form did)."""
    n, m = len(text), len(form.text)
    fwd, alt = form.text, form.alt
    good_i, good_j = i, j
    while i < n and j < m:
        step = min(_CHUNK, n - i, m - j)
        piece = text[i : i + step]
        if piece == fwd[j : j + step] or (alt is not None and piece == alt[j : j + step]):
            i += step
            j += step
            good_i, good_j = i, j
            continue
        # The difference is inside this piece (or it mixes the form and its alt spelling).
        stop = i + step
        agree = _agree_forward(text, i, stop, form, j)
        i += agree
        j += agree
        if i > good_i:
            good_i, good_j = i, j
        if i == stop:
            continue
        di, dj, matched = _equivalent_after(text, i, form, j)
        if not (di or dj):
            break
        i += di
        j += dj
        if matched:
            good_i, good_j = i, j
    return good_i, good_j, i >= n and j < m


def _extend_left(text: str, i: int, form: _WindowForm, j: int) -> tuple[int, int]:
    """Where a copy of ``form`` that reaches text ``i`` / form ``j`` (exclusive) starts."""
    fwd, alt = form.text, form.alt
    good_i, good_j = i, j
    while i > 0 and j > 0:
        step = min(_CHUNK, i, j)
        piece = text[i - step : i]
        if piece == fwd[j - step : j] or (alt is not None and piece == alt[j - step : j]):
            i -= step
            j -= step
            good_i, good_j = i, j
            continue
        stop = i - step
        agree = _agree_backward(text, i, stop, form, j)
        i -= agree
        j -= agree
        if i < good_i:
            good_i, good_j = i, j
        if i == stop:
            continue
        di, dj, matched = _equivalent_before(text, i, form, j)
        if not (di or dj) or di > i or dj > j:
            break
        i -= di
        j -= dj
        if matched:
            good_i, good_j = i, j
    return good_i, good_j


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
