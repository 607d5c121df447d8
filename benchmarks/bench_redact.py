"""Throughput of the Redactor against a naive ``re`` alternation of the same needles.

Scenario: 100 connections (Kalshi-style UUID key ids with RSA-2048-sized PEM private keys,
40-character secrets, API keys and passphrases), every value searched for in all its encodings,
over ~16 MB of bot log text (JSON log lines, order books, prices, timestamps) in which some
lines carry secrets in assorted encodings and some carry pattern-shaped tokens.

Prints MB/s for the Redactor (one large text, and line by line as a logger would call it) and
for the naive alternation, plus their ratio, and checks that neither output leaks a needle.
The naive alternation is measured on a sample: over the whole text it would take minutes.

Run: ``python benchmarks/bench_redact.py`` (about 20 s on a 2-core machine).
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import sys
import time
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


def leak_line(rng: random.Random, value: str) -> str:
    """A log line that carries ``value`` in one of the ways secrets really leak."""
    how = rng.randrange(7)
    if how == 0:
        return json.dumps({"level": "debug", "msg": "signing request", "key": value})
    if how == 1:
        token = base64.b64encode(f"user:{value}".encode()).decode()
        return f'{{"level":"debug","msg":"auth header","authorization":"Basic {token}"}}'
    if how == 2:
        return f"GET /trade-api/v2/portfolio?key={quote(value, safe='')} HTTP/1.1 200"
    if how == 3:
        return f"config dump: {value.encode().hex()}"
    if how == 4:
        blob = base64.b64encode(json.dumps({"k": value, "n": rng.random()}).encode()).decode()
        return f'{{"level":"info","msg":"state blob","b64":"{blob}"}}'
    if how == 5:
        line = next((ln for ln in value.splitlines() if len(ln) >= 40), value)
        return f"ERROR unexpected value {line} in config"
    return f"Traceback (most recent call last): ValueError: bad key {value!r}"


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


def make_log(rng: random.Random, secrets: list[tuple[str, str, str]]) -> tuple[str, int]:
    lines = []
    size = 0
    planted = 0
    t = 1_793_000_000.0
    while size < TARGET_BYTES:
        t += rng.uniform(0.001, 0.5)
        if rng.randrange(SECRET_LINE_EVERY) == 0:
            line = leak_line(rng, rng.choice(secrets)[2])
            planted += 1
        elif rng.randrange(SECRET_LINE_EVERY) == 0:
            line = pattern_line(rng)
        else:
            line = ordinary_line(rng, t)
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n", planted


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
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> int:
    rng = random.Random(SEED)
    t0 = time.perf_counter()
    secrets = make_secrets(rng)
    text, planted = make_log(rng, secrets)
    lines = text.splitlines(keepends=True)
    mb = len(text.encode()) / 1e6
    print(
        f"setup: {len(secrets)} secret values of {CONNECTIONS} connections, "
        f"{mb:.1f} MB of log in {len(lines)} lines, {planted} lines carry a secret "
        f"({time.perf_counter() - t0:.1f} s)"
    )

    start = time.perf_counter()
    redactor = Redactor(secrets)
    build = time.perf_counter() - start
    needles = all_needles(secrets)
    print(
        f"Redactor build: {build * 1000:.0f} ms for {len(needles)} needles "
        f"+ {len(redactor.patterns)} patterns"
    )

    redactor.redact(text[:100_000])  # warm up
    bulk_out, bulk_s = min(
        (timed(lambda: redactor.redact(text)) for _ in range(3)), key=lambda r: r[1]
    )
    bulk_mbps = mb / bulk_s
    per_line_out, per_line_s = timed(lambda: "".join(map(redactor.redact, lines)))
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
    markers = bulk_out.count("[REDACTED:")
    ratio = bulk_mbps / naive_mbps

    print()
    print(f"{'':34}{'MB/s':>10}{'input':>12}{'leaks':>8}")
    print(f"{'Redactor, whole text':34}{bulk_mbps:>10.1f}{mb:>9.1f} MB{bulk_leaks:>8}")
    print(f"{'Redactor, line by line':34}{per_line_mbps:>10.1f}{mb:>9.1f} MB{'-':>8}")
    print(
        f"{'naive re alternation + sub':34}{naive_mbps:>10.2f}{sample_mb:>9.1f} MB{naive_leaks:>8}"
    )
    print(f"(naive regex compile: {naive_build:.1f} s; markers written by Redactor: {markers})")
    print()
    print(f"ratio Redactor / naive: {ratio:.1f}x")
    ok_speed = bulk_mbps >= TARGET_MBPS
    ok_ratio = ratio >= TARGET_RATIO
    ok_leaks = bulk_leaks == 0 and naive_leaks == 0 and markers >= planted
    print(
        f"targets: >= {TARGET_MBPS:.0f} MB/s {'OK' if ok_speed else 'MISSED'}, "
        f">= {TARGET_RATIO:.0f}x naive {'OK' if ok_ratio else 'MISSED'}, "
        f"no leak {'OK' if ok_leaks else 'FAILED'}"
    )
    print(f"total time {time.perf_counter() - t0:.0f} s")
    return 0 if ok_leaks else 1


if __name__ == "__main__":
    sys.exit(main())
