"""An AI Fix request body, built by the same code that builds the real one.

The page shows what leaves the machine; writing that by hand would drift the first time the
payload changed. Here an example failing cell that holds a vault value goes through
:func:`watchdog_lab.aifix.payload.build_payload` with a redactor that knows that value, exactly
as a preview does, and the page prints the resulting body and its SHA-256.
"""

from __future__ import annotations

import json

__all__ = ["EXAMPLE_SECRET", "ExampleLeaked", "example_body", "render"]

#: A made-up vault value: the example cell leaks it, and the body must not carry it.
EXAMPLE_SECRET = "kid-7d1e0c2b-4f5a-4e6b-9c3d-2a1b0f9e8d7c"  # noqa: S105 - shown redacted

EXAMPLE_SOURCE = f"""import requests

KEY_ID = "{EXAMPLE_SECRET}"
prices = requests.get("https://example.invalid/prices", timeout=5).json()
print(prices["last"] * 2)
"""

#: What the environment has: only the packages the cell imports are sent.
EXAMPLE_VERSIONS = {"requests": "2.32.3", "numpy": "2.1.0"}

EXAMPLE_TRACEBACK = [
    "\x1b[0;31mKeyError\x1b[0m                    Traceback (most recent call last)",
    "Cell \x1b[0;32mIn[3], line 5\x1b[0m\n      4 prices = requests.get(...).json()\n"
    '----> 5 print(prices["last"] * 2)',
    "\x1b[0;31mKeyError\x1b[0m: 'last'",
]


class ExampleLeaked(RuntimeError):
    """The example body carries the value the redactor knows: the page would show a leak."""


def example_body() -> tuple[bytes, str]:
    """The exact request body for the example cell, and its SHA-256."""
    from watchdog_lab.aifix.models import FailingCell
    from watchdog_lab.aifix.options import DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MODEL
    from watchdog_lab.aifix.payload import build_payload
    from watchdog_lab.redact import Redactor

    cell = FailingCell(
        source=EXAMPLE_SOURCE,
        ename="KeyError",
        evalue="'last'",
        traceback=EXAMPLE_TRACEBACK,
        language="python",
        language_version="3.12.7",
        versions=EXAMPLE_VERSIONS,
    )
    redactor = Redactor([("Exchange", "api_key_id", EXAMPLE_SECRET)])
    payload = build_payload(
        cell, redactor, model=DEFAULT_MODEL, max_bytes=DEFAULT_MAX_PAYLOAD_BYTES
    )
    return payload.body, payload.sha256


def render() -> str:
    """The example body (indented for reading; sent compact) and its hash, as MyST Markdown."""
    body, sha256 = example_body()
    if EXAMPLE_SECRET.encode() in body:
        raise ExampleLeaked("the example AI Fix body carries the vault value it must redact")
    parsed = json.loads(body)
    readable = json.dumps(parsed, indent=2, sort_keys=True)
    message = parsed["messages"][0]["content"]
    return "\n".join(
        [
            "```json",
            readable,
            "```",
            "",
            f"On the wire this is one line of {len(body):,} bytes of canonical JSON (sorted "
            "keys, no spaces, ASCII only), whose SHA-256 the preview shows and the send must "
            f"name: `{sha256}` for this example.",
            "",
            "The one user message, as the model reads it (the example's environment also has "
            f"numpy {EXAMPLE_VERSIONS['numpy']}, which the cell does not import: it is not "
            "sent):",
            "",
            "````text",
            message,
            "````",
            "",
        ]
    )
