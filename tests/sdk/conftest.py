"""Fixtures for the SDK tests: a connection whose every field value is easy to spot in text, and
a hand-over pipe like the one a bot's runner gives its kernel."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import pytest

from watchdog_lab.sdk import Connection

# Distinctive values: if any rendering leaks one, a substring search finds it.
KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"  # hint: only "a95***" may show
PEM = "-----BEGIN PRIVATE KEY-----\nZmFrZS1wZW0tYm9keS1zM2NyM3Q=\n-----END PRIVATE KEY-----\n"
PASSPHRASE = "pp-7Hq2"  # hint but shorter than 12: nothing may show
TOKEN = "tok_live_93kf02mc81nd"  # unlisted in visibility: secret by default
ENVIRONMENT = "demo"  # public: shown whole

MASKED = (
    "Connection(name='Kalshi', kind='kalshi', api_key_id='a95***', private_key_pem='***', "
    "passphrase='***', token='***', environment='demo')"
)
SECRETS = (KEY_ID, PEM, "ZmFrZS1wZW0t", PASSPHRASE, TOKEN, "tok_live")


def make_connection() -> Connection:
    return Connection(
        "Kalshi",
        "kalshi",
        {
            "api_key_id": KEY_ID,
            "private_key_pem": PEM,
            "passphrase": PASSPHRASE,
            "token": TOKEN,
            "environment": ENVIRONMENT,
        },
        {
            "api_key_id": "hint",
            "private_key_pem": "secret",
            "passphrase": "hint",
            "environment": "public",
        },
    )


def assert_masked(text: str) -> None:
    """The text shows the masked form and none of the secret values (nor the PEM's repr)."""
    for secret in (*SECRETS, repr(PEM)[1:-1]):
        assert secret not in text
    assert MASKED in text


@pytest.fixture
def conn() -> Connection:
    return make_connection()


@contextlib.contextmanager
def handed_over(payload: str | bytes) -> Iterator[int]:
    """A pipe carrying ``payload`` the way a bot's runner hands connections over.

    Yields the read end (inheritable, for ``pass_fds``); a thread writes the payload (it may
    exceed a pipe's buffer) and closes the write end. On exit the read end is closed unless
    the reader already closed it (checked by inode: the number may have been reused since).
    """
    data = payload.encode("ascii") if isinstance(payload, str) else payload
    read_end, write_end = os.pipe()
    os.set_inheritable(read_end, True)
    inode = os.fstat(read_end).st_ino

    def write() -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
        except BrokenPipeError:
            pass
        finally:
            os.close(write_end)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield read_end
    finally:
        with contextlib.suppress(OSError):
            if os.fstat(read_end).st_ino == inode:
                os.close(read_end)
        writer.join(5)
        assert not writer.is_alive(), "the writer of a hand-over pipe hung"


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
