"""AI Fix: the cost of building a payload, and of a round trip, against their targets.

Scenario: a real vault (cheap Argon2, everything else real) with 100 connections (a third
with RSA-2048-sized PEM keys, the rest API keys, secrets and passphrases); a 200-line failing
cell and a 500-line traceback that carry secrets of several connections, raw, base64, hex,
URL-escaped and JSON-escaped.

Prints:
- payload build + redaction with a compiled redactor (the code path of every preview and send
  once the vault's values are known): median and worst CPU time, against the target;
- a whole ``AIFix.preview`` (reads and decrypts every vault value, checks they are unchanged,
  builds the payload), warm, and the first one (which compiles the redactor);
- the round trip ``preview`` + ``send`` through a local fake Messages API, beside a raw
  ``anthropic`` client call with the same body, and the overhead between them;
and checks the result: no 16-character window of any planted spelling is in the body.

Run: ``python benchmarks/bench_aifix.py`` (about 10 s on a 2-core machine).
"""

from __future__ import annotations

import base64
import json
import random
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

# Run from a checkout without installing: the repository root holds the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.aifix.fake_anthropic import FakeAnthropic
from watchdog_lab.aifix import AIFix, FailingCell, FixSettings
from watchdog_lab.aifix.payload import build_payload
from watchdog_lab.redact import Redactor
from watchdog_lab.vault import CreateConnection, KdfParams, Vault

SEED = 20261206
CONNECTIONS = 100
CELL_LINES = 200
TRACEBACK_LINES = 500
PLANTED_CONNECTIONS = 8
RUNS = 30
ROUND_TRIPS = 20
TARGET_MS = 20.0
WINDOW = 16
ALNUM = string.ascii_letters + string.digits
API_KEY = "sk-ant-api03-" + "bench" * 16


def fake_pem(rng: random.Random) -> str:
    der = b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00" + rng.randbytes(1180)
    body = base64.b64encode(der).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----\n"


def fill_vault(vault: Vault, rng: random.Random) -> list[str]:
    """100 connections; returns the plain values of a few, to plant in the cell."""
    values: list[str] = []
    vault.add_connection(
        CreateConnection(name="claude", kind="anthropic", fields={"api_key": API_KEY})
    )
    for i in range(CONNECTIONS - 1):
        if i % 3 == 0:
            fields = {"key_id": "".join(rng.choices(ALNUM, k=36)), "private_key": fake_pem(rng)}
        else:
            fields = {
                "api_key": "".join(rng.choices(ALNUM, k=32)),
                "secret": base64.b64encode(rng.randbytes(30)).decode(),
                "passphrase": "".join(rng.choices(ALNUM + "!@#$%^&*", k=16)),
            }
        vault.add_connection(CreateConnection(name=f"ex{i:03d}", kind="generic", fields=fields))
        if i % (CONNECTIONS // PLANTED_CONNECTIONS) == 1:
            values.extend(v for k, v in fields.items() if k != "private_key")
    return values


def spellings(value: str) -> list[str]:
    raw = value.encode()
    return [
        value,
        base64.b64encode(raw).decode(),
        raw.hex(),
        quote(value, safe=""),
        json.dumps(value)[1:-1],
    ]


def make_cell(rng: random.Random, planted: list[str]) -> FailingCell:
    source = ["import numpy as np", "import pandas as pd"]
    while len(source) < CELL_LINES:
        n = len(source)
        source.append(
            f"signal_{n} = prices['close'].rolling({n % 50 + 2}).mean() * {rng.random():.6f}"
        )
    source[100] = f"headers = {{'X-KEY': {planted[0]!r}}}"
    traceback = ["\x1b[0;31mValueError\x1b[0m  Traceback (most recent call last)"]
    spelled = [s for value in planted for s in spellings(value)]
    while len(traceback) < TRACEBACK_LINES:
        n = len(traceback)
        if n % 19 == 0:
            traceback.append(f"    value = {spelled[(n // 19) % len(spelled)]}")
        else:
            traceback.append(
                f'  File "/lib/python3.11/site-packages/pkg/mod{n}.py", line {n}, in f{n}'
            )
    traceback.append(f"ValueError: bad signature for {planted[1]}")
    return FailingCell(
        source="\n".join(source) + "\n",
        ename="ValueError",
        evalue=f"bad signature for {planted[1]}",
        traceback=traceback,
        language_version="3.11.7",
        versions={"numpy": "1.26.4", "pandas": "2.2.2"},
        name="bench.ipynb",
    )


def cpu_ms(fn: Callable[[], object], runs: int) -> list[float]:
    """CPU times of ``runs`` calls (the code, not the neighbours on a shared machine)."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return times


def wall_ms(fn: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def leaks(body: str, planted: list[str]) -> list[str]:
    text = body + json.loads(body)["messages"][0]["content"]
    found = []
    for value in planted:
        for spelling in spellings(value):
            if any(spelling[i : i + WINDOW] in text for i in range(len(spelling) - WINDOW + 1)):
                found.append(spelling[:6] + "...")
    return found


def main() -> int:
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as home:
        vault = Vault(home, kdf=KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1))
        vault.create("correct horse battery")
        planted = fill_vault(vault, rng)
        cell = make_cell(rng, planted)
        secrets = list(vault.iter_secrets())
        print(
            f"vault: {CONNECTIONS} connections, {len(secrets)} secret fields; cell "
            f"{len(cell.source.splitlines())} lines, traceback {len(cell.traceback)} lines, "
            f"{len(planted)} values planted in 5 spellings each"
        )

        redactor = Redactor(secrets)
        payload = build_payload(cell, redactor, model="m", max_bytes=1 << 20)
        build = cpu_ms(lambda: build_payload(cell, redactor, model="m", max_bytes=1 << 20), RUNS)
        found = leaks(payload.body.decode(), planted)

        fake = FakeAnthropic().start()
        try:
            service = AIFix(vault, FixSettings(base_url=fake.url, max_retries=0))
            start = time.process_time()
            service.preview(cell)
            first = (time.process_time() - start) * 1000
            preview = cpu_ms(lambda: service.preview(cell), RUNS)
            sha = service.preview(cell).sha256
            service.send(cell, sha256=sha)  # the SDK's import and first connection
            trip = wall_ms(
                lambda: service.send(cell, sha256=service.preview(cell).sha256), ROUND_TRIPS
            )
            send = wall_ms(lambda: service.send(cell, sha256=sha), ROUND_TRIPS)
            service.close()
            raw = wall_ms(raw_call(fake.url, json.loads(payload.body)), ROUND_TRIPS)
        finally:
            fake.stop()
        vault.close()

    median = statistics.median(build)
    print(
        f"payload build + redaction: median {median:.2f} ms, worst {max(build):.2f} ms CPU "
        f"(target < {TARGET_MS:g} ms), {payload.redactions} redactions, {len(payload.body)} bytes"
    )
    print(
        f"AIFix.preview (decrypt every vault value, check, build): median "
        f"{statistics.median(preview):.2f} ms CPU warm; first {first:.1f} ms "
        "(compiles the redactor)"
    )
    trip_ms, raw_ms = statistics.median(trip), statistics.median(raw)
    send_ms = statistics.median(send)
    print(
        f"round trip through the fake API (median wall): raw anthropic client {raw_ms:.1f} ms; "
        f"AIFix.send {send_ms:.1f} ms (overhead {send_ms - raw_ms:.1f} ms: rebuild and check "
        f"the payload, audit); preview + send {trip_ms:.1f} ms (overhead {trip_ms - raw_ms:.1f} ms)"
    )
    print(f"leak check: {found or 'no planted spelling in the body'}")
    ok = median < TARGET_MS and not found
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def raw_call(url: str, body: dict) -> Callable[[], object]:
    import anthropic

    client = anthropic.Anthropic(api_key=API_KEY, base_url=url, max_retries=0)
    fields = {
        k: body[k] for k in ("model", "max_tokens", "system", "tools", "tool_choice", "messages")
    }
    client.messages.create(**fields)  # warm: connection and imports, as for the other side
    return lambda: client.messages.create(**fields)


if __name__ == "__main__":
    sys.exit(main())
