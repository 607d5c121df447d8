"""RFC 6238 vectors and the once-only rule for codes."""

from __future__ import annotations

import base64

import pyotp
import pytest

from watchdog_lab.vault import totp
from watchdog_lab.vault.errors import InvalidTotpCode

RFC_SEED = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc6238_appendix_b_sha1_vectors(at: int, code: str) -> None:
    assert totp.code_at(RFC_SEED, at, digits=8) == code


def test_current_code_is_accepted_and_returns_its_step() -> None:
    secret = totp.new_secret()
    now = 1_800_000_000.0
    assert totp.accept(secret, pyotp.TOTP(secret).at(int(now)), now, 0) == int(now) // 30


def test_code_from_the_previous_step_is_accepted_for_clock_drift() -> None:
    secret = totp.new_secret()
    now = 1_800_000_000.0
    assert totp.accept(secret, pyotp.TOTP(secret).at(int(now) - 30), now, 0) == int(now) // 30 - 1


def test_replayed_code_is_refused() -> None:
    secret = totp.new_secret()
    now = 1_800_000_000.0
    code = pyotp.TOTP(secret).at(int(now))
    step = totp.accept(secret, code, now, 0)
    with pytest.raises(InvalidTotpCode):
        totp.accept(secret, code, now + 1, step)


def test_code_older_than_drift_window_is_refused() -> None:
    secret = totp.new_secret()
    now = 1_800_000_000.0
    with pytest.raises(InvalidTotpCode):
        totp.accept(secret, pyotp.TOTP(secret).at(int(now) - 90), now, 0)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_code_is_refused(code: str) -> None:
    with pytest.raises(InvalidTotpCode):
        totp.accept(totp.new_secret(), code, 1_800_000_000.0, 0)


def test_provisioning_uri_names_the_issuer() -> None:
    uri = totp.provisioning_uri(totp.new_secret(), "vault")
    assert uri.startswith("otpauth://totp/") and "issuer=WatchDog" in uri
