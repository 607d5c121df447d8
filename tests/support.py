"""Small helpers several test packages share: notebooks, waiting, keys, processes."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def write_notebook(path: Path, *sources: str) -> Path:
    """A Python notebook with one code cell per source."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def wait_for(
    predicate: Callable[[], object], timeout: float = 60.0, what: str = "", poll: float = 0.05
) -> object:
    """The first truthy value of ``predicate``, or an AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def rsa_pem() -> str:
    """A fresh unencrypted RSA private key (PKCS#8 PEM), as an exchange would hand out."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def process_exists(pid: int | None) -> bool:
    """True for a live, non-zombie process."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


_TRUE = ("1", "true", "yes")


def in_ci() -> bool:
    """CI sets ``CI`` (``.ci/run`` exports ``true``; other runners use ``1``)."""
    return os.environ.get("CI", "").lower() in _TRUE


def skip_or_fail(reason: str, optional_env: str) -> None:
    """Skip where the machine lacks a mechanism, but fail in CI: a CI runner that silently
    skipped a promise's test would let the promise rot unnoticed. ``optional_env`` set to 1
    declares a CI machine where the mechanism cannot exist."""
    if in_ci() and os.environ.get(optional_env, "").lower() not in _TRUE:
        pytest.fail(f"{reason}; CI expects it (set {optional_env}=1 where it cannot exist)")
    pytest.skip(reason)


#: How long a call that must not block may take before the test calls it blocked.
RETURNS_WITHIN_SECONDS = 10


def returns_within(call: Callable[[], object], seconds: float = RETURNS_WITHIN_SECONDS) -> object:
    """``call()``'s result, or the exception it raised, failing the test if it blocks instead
    (run in a daemon thread, so a blocked call cannot hang the suite)."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"the call blocked for more than {seconds} s"
    return outcome[0]
