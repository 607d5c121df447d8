"""Throughput of the Redactor against a naive ``re`` alternation of the same needles.

Scenario: 100 connections (Kalshi-style UUID key ids with RSA-2048-sized PEM private keys,
40-character secrets, API keys and passphrases), every value searched for in all its encodings,
over ~16 MB of bot log text (JSON log lines, order books, prices, timestamps) in which some
lines carry secrets in assorted encodings and some carry pattern-shaped tokens.

Prints MB/s for the Redactor (one large text, and line by line as a logger would call it) and
for the naive alternation, plus their ratio, the Redactor's build time (first build, and a
rebuild with the same values) and memory for the 100 connections, and checks that neither
output leaks a needle. Two leak checks: whole spellings (``variants()``, with pyahocorasick),
and partial copies: no 16-character window of the secret part of any spelling planted in a
line (MIME base64, ``quote`` with its default ``safe``, a PEM in a base64'd JSON document, a
pandas-style truncated repr, ...) may survive in that line.
The naive alternation is measured on a sample: over the whole text it would take minutes.

Times are CPU times of this process (see ``timed``).

Run: ``python benchmarks/bench_redact.py`` (about 20 s on a 2-core machine).
"""

from __future__ import annotations

import base64
import gc
import json
import random
import re
import string
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import ahocorasick  # independent implementation, used only to check for leaks

# Run from a checkout without installing: the repository root holds the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watchdog_lab.redact import Redactor, variants

SEED = 20261102
CONNECTIONS = 100
TARGET_BYTES = 16 * 1024 * 1024
SECRET_LINE_EVERY = 400  # one log line in this many carries a known secret
NAIVE_SAMPLE_BYTES = 1024 * 1024
TARGET_MBPS = 30.0
TARGET_RATIO = 15.0
WINDOW = 16  # a copy of this many consecutive secret characters is a leak

ALNUM = string.ascii_letters + string.digits


def fake_pem(rng: random.Random) -> str:
    """An RSA-2048-sized PKCS#1 PEM (random DER body: redaction never parses keys)."""
    der = b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00" + rng.randbytes(1180)
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    body_text = "\n".join(lines)
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body_text}\n-----END RSA PRIVATE KEY-----\n"


def make_secrets(rng: random.Random) -> list[tuple[str, str, str]]:
    secrets = []
    for i in range(CONNECTIONS):
        kind = i % 3
        name = f"conn{i:03d}"
        if kind == 0:  # Kalshi: key id + RSA private key
            secrets.append((name, "key_id", str(uuid.UUID(int=rng.getrandbits(128)))))
            secrets.append((name, "private_key", fake_pem(rng)))
        elif kind == 1:  # key + 40-char secret + passphrase
            secrets.append((name, "api_key", "".join(rng.choices(ALNUM, k=32))))
            secrets.append((name, "api_secret", base64.b64encode(rng.randbytes(30)).decode()))
            secrets.append((name, "passphrase", "".join(rng.choices(ALNUM + "!@#$%^&*", k=16))))
        else:  # hex api key + secret
            secrets.append((name, "api_key", rng.randbytes(20).hex()))
            secrets.append((name, "api_secret", "".join(rng.choices(ALNUM + "+/", k=40))))
    return secrets


def _inside_base64(document: bytes, start: int, end: int) -> str:
    """The characters of base64(document) made only of the bits of ``document[start:end]``."""
    blob = base64.b64encode(document).decode()
    return blob[-(-8 * start // 6) : 8 * end // 6]


def _secret_bytes(escaped: bytes) -> tuple[int, int]:
    """The part of a (JSON-escaped) value that is secret: a PEM's body, else all of it."""
    if escaped.startswith(b"-----BEGIN"):
        return escaped.index(b"\\n") + 2, escaped.rindex(b"\\n-----END")
    return 0, len(escaped)


def leak_line(rng: random.Random, value: str) -> tuple[str, list[str]]:
    """A log line that carries ``value`` in one of the ways secrets really leak, and the
    secret-bearing spellings in it (no 16-character window of them may survive)."""
    how = rng.randrange(11)
    if how == 0:
        line = json.dumps({"level": "debug", "msg": "signing request", "key": value})
        return line, [json.dumps(value)[1:-1]]
    if how == 1:
        auth = f"user:{value}".encode()
        token = base64.b64encode(auth).decode()
        line = f'{{"level":"debug","msg":"auth header","authorization":"Basic {token}"}}'
        return line, [_inside_base64(auth, 5, len(auth))]
    if how == 2:
        escaped = quote(value, safe="")
        return f"GET /trade-api/v2/portfolio?key={escaped} HTTP/1.1 200", [escaped]
    if how == 3:
        return f"config dump: {value.encode().hex()}", [value.encode().hex()]
    if how in (4, 9):
        # A value inside a base64'd JSON document: a PEM's armour stays readable (it is the
        # same in every key), its body must not.
        fields = {"k": value, "n": rng.random()} if how == 4 else {"key": value}
        document = json.dumps(fields).encode()
        escaped = json.dumps(value).encode()[1:-1]
        at = document.index(escaped)
        start, end = _secret_bytes(escaped)
        blob = base64.b64encode(document).decode()
        line = f'{{"level":"info","msg":"state blob","b64":"{blob}"}}'
        return line, [_inside_base64(document, at + start, at + end)]
    if how == 5:
        line = next((ln for ln in value.splitlines() if len(ln) >= 40), value)
        return f"ERROR unexpected value {line} in config", [line]
    if how == 6:
        line = f"Traceback (most recent call last): ValueError: bad key {value!r}"
        return line, [repr(value)[1:-1]]
    if how == 7:
        mime = base64.encodebytes(value.encode()).decode()
        line = json.dumps({"level": "debug", "msg": "attachment", "b64": mime})
        return line, [json.dumps(mime)[1:-1]]
    if how == 8:
        escaped = quote(value)  # the default safe="/"
        return f"POST /v1/sign?key={escaped}&ts=1 HTTP/1.1 200", [escaped]
    # A pandas-style truncated cell: 46 characters shown, then an ellipsis (of a PEM, a cell
    # holding one of its body lines).
    cell = value.splitlines()[3] if value.startswith("-----BEGIN") else repr(value)[1:-1]
    shown = cell[:46]
    return f"0    {shown}...\u2026  Name: secret, dtype: object", [shown]


def pattern_line(rng: random.Random) -> str:
    token = rng.choice(
        [
            "ghp_" + "".join(rng.choices(ALNUM, k=36)),
            "sk-ant-api03-" + "".join(rng.choices(ALNUM + "-_", k=80)),
            "sk-proj-" + "".join(rng.choices(ALNUM + "-_", k=48)),
            "AKIA" + "".join(rng.choices(string.ascii_uppercase + "234567", k=16)),
            "xoxb-" + str(rng.randrange(10**11)) + "-" + "".join(rng.choices(ALNUM, k=24)),
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib3QifQ." + "".join(rng.choices(ALNUM, k=43)),
        ]
    )
    return f'{{"level":"warning","msg":"foreign credential seen","value":"{token}"}}'


def ordinary_line(rng: random.Random, t: float) -> str:
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{rng.randrange(1000):03d}Z"
    market = f"KXBTCD-26NOV{rng.randrange(1, 29):02d}-T{rng.randrange(60000, 120000)}"
    kind = rng.randrange(5)
    if kind == 0:
        bids = [[rng.randrange(1, 99), rng.randrange(1, 5000)] for _ in range(rng.randrange(3, 12))]
        asks = [[rng.randrange(1, 99), rng.randrange(1, 5000)] for _ in range(rng.randrange(3, 12))]
        record = {"ts": ts, "level": "info", "msg": "orderbook", "market": market}
        return json.dumps({**record, "yes": bids, "no": asks})
    if kind == 1:
        return (
            f'{{"ts":"{ts}","level":"info","msg":"fill","market":"{market}",'
            f'"order_id":"{uuid.UUID(int=rng.getrandbits(128))}","side":"yes",'
            f'"price":{rng.randrange(1, 99)},"count":{rng.randrange(1, 500)}}}'
        )
    if kind == 2:
        return (
            f"{ts} INFO strategy: edge={rng.uniform(-0.05, 0.05):+.4f} "
            f"fair={rng.uniform(0, 1):.4f} "
            f"risk-limit={rng.randrange(100, 10000)} ask-size={rng.randrange(1, 900)} "
            f"commit {rng.randbytes(20).hex()}"
        )
    if kind == 3:
        return (
            f'{{"ts":"{ts}","level":"debug","msg":"http","method":"GET",'
            f'"path":"/trade-api/v2/markets/{market}/orderbook","status":200,'
            f'"elapsed_ms":{rng.uniform(5, 400):.1f},"eyJ":"not a token"}}'
        )
    return f"{ts} WARNING task-queue backlog={rng.randrange(0, 50)} heartbeat ok"


def make_log(
    rng: random.Random, secrets: list[tuple[str, str, str]]
) -> tuple[str, dict[int, list[str]]]:
    """The log text, and for each line that carries a secret its secret-bearing spellings."""
    lines = []
    size = 0
    planted: dict[int, list[str]] = {}
    t = 1_793_000_000.0
    while size < TARGET_BYTES:
        t += rng.uniform(0.001, 0.5)
        if rng.randrange(SECRET_LINE_EVERY) == 0:
            line, spellings = leak_line(rng, rng.choice(secrets)[2])
            planted[len(lines)] = spellings
        elif rng.randrange(SECRET_LINE_EVERY) == 0:
            line = pattern_line(rng)
        else:
            line = ordinary_line(rng, t)
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n", planted


def window_leaks(out_lines: list[str], planted: dict[int, list[str]]) -> int:
    """Partial copies left: 16-character windows of a planted spelling still in its line."""
    count = 0
    for index, spellings in planted.items():
        out = out_lines[index]
        for spelling in spellings:
            count += sum(
                1 for i in range(len(spelling) - WINDOW + 1) if spelling[i : i + WINDOW] in out
            )
    return count


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def all_needles(secrets: list[tuple[str, str, str]]) -> dict[str, str]:
    needles: dict[str, str] = {}
    for connection, field, value in secrets:
        for form in variants(value):
            needles.setdefault(form, f"[REDACTED:{connection}.{field}]")
    return needles


def leaks(text: str, needles: dict[str, str]) -> int:
    """Needle occurrences left in ``text`` (checked with pyahocorasick, not the redactor)."""
    automaton = ahocorasick.Automaton()
    for needle in needles:
        automaton.add_word(needle, len(needle))
    automaton.make_automaton()
    return sum(1 for _ in automaton.iter(text))


def timed(fn: Callable[[], str]) -> tuple[str, float]:
    """``fn()`` and the CPU time it took: redaction is single-threaded, and on a shared
    machine CPU time measures the code rather than the neighbours (wall time is noisy)."""
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def main() -> int:
    rng = random.Random(SEED)
    t0 = time.perf_counter()
    secrets = make_secrets(rng)
    text, planted = make_log(rng, secrets)
    lines = text.splitlines(keepends=True)
    mb = len(text.encode()) / 1e6
    print(
        f"setup: {len(secrets)} secret values of {CONNECTIONS} connections, "
        f"{mb:.1f} MB of log in {len(lines)} lines, {len(planted)} lines carry a secret "
        f"({time.perf_counter() - t0:.1f} s)"
    )

    gc.collect()
    rss_before = _rss_bytes()
    start = time.process_time()
    redactor = Redactor(secrets)
    build = time.process_time() - start
    rss_growth = _rss_bytes() - rss_before
    # The server rebuilds its redactor at every change of connections, mostly with values it
    # has seen before (their anchor positions are cached).
    start = time.process_time()
    Redactor(secrets)
    rebuild = time.process_time() - start
    # A second build under tracemalloc: Python-side memory (the automaton itself lives in Rust
    # and only shows in the RSS growth above).
    tracemalloc.start()
    kept = Redactor(secrets)
    py_kept, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    needles = all_needles(secrets)
    print(
        f"Redactor build: {build * 1000:.0f} ms, rebuild with the same values "
        f"{rebuild * 1000:.0f} ms ({redactor!r}; {len(needles)} whole spellings "
        f"+ {len(redactor.patterns)} patterns)"
    )
    print(
        f"Redactor memory: RSS +{rss_growth / 1e6:.1f} MB, Python objects kept "
        f"{py_kept / 1e6:.1f} MB (peak {py_peak / 1e6:.1f} MB during build)"
    )

    redactor.redact(text[:100_000])  # warm up
    bulk_out, bulk_s = min(
        (timed(lambda: redactor.redact(text)) for _ in range(3)), key=lambda r: r[1]
    )
    bulk_mbps = mb / bulk_s
    out_lines: list[str] = []

    def per_line() -> str:
        out_lines[:] = map(redactor.redact, lines)
        return "".join(out_lines)

    per_line_out, per_line_s = timed(per_line)
    per_line_mbps = mb / per_line_s
    assert per_line_out == bulk_out, "line-by-line and whole-text redaction disagree"

    sample = text[:NAIVE_SAMPLE_BYTES]
    sample = sample[: sample.rfind("\n") + 1]
    sample_mb = len(sample.encode()) / 1e6
    start = time.perf_counter()
    alternation = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
    naive_build = time.perf_counter() - start
    naive_out, naive_s = timed(lambda: alternation.sub(lambda m: needles[m.group()], sample))
    naive_mbps = sample_mb / naive_s

    bulk_leaks = leaks(bulk_out, needles)
    naive_leaks = leaks(naive_out, needles)
    partial_leaks = window_leaks(out_lines, planted)
    markers = bulk_out.count("[REDACTED:")
    ratio = bulk_mbps / naive_mbps

    print()
    print(f"{'':34}{'MB/s':>10}{'input':>12}{'leaks':>8}")
    print(f"{'Redactor, whole text (best of 3)':34}{bulk_mbps:>10.1f}{mb:>9.1f} MB{bulk_leaks:>8}")
    print(f"{'Redactor, line by line':34}{per_line_mbps:>10.1f}{mb:>9.1f} MB{'-':>8}")
    print(
        f"{'naive re alternation + sub':34}{naive_mbps:>10.2f}{sample_mb:>9.1f} MB{naive_leaks:>8}"
    )
    print(f"(naive regex compile: {naive_build:.1f} s; markers written by Redactor: {markers})")
    print(f"partial copies left by Redactor (16-character windows): {partial_leaks}")
    print()
    print(f"ratio Redactor / naive: {ratio:.1f}x")
    ok_speed = bulk_mbps >= TARGET_MBPS
    ok_ratio = ratio >= TARGET_RATIO
    ok_leaks = (
        bulk_leaks == 0 and naive_leaks == 0 and partial_leaks == 0 and markers >= len(planted)
    )
    print(
        f"targets: >= {TARGET_MBPS:.0f} MB/s {'OK' if ok_speed else 'MISSED'}, "
        f">= {TARGET_RATIO:.0f}x naive {'OK' if ok_ratio else 'MISSED'}, "
        f"no leak {'OK' if ok_leaks else 'FAILED'}"
    )
    print(f"total time {time.perf_counter() - t0:.0f} s")
    return 0 if ok_leaks else 1


if __name__ == "__main__":
    sys.exit(main())
