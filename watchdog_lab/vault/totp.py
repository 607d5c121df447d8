"""RFC 6238 second factor, with each accepted code usable once.

A code is accepted for the current 30-second step and one step either side (clock drift), and
only if its step is later than the last step accepted: that is what refuses a replayed code.
"""

from __future__ import annotations

import hmac

import pyotp

from .errors import InvalidTotpCode

ISSUER = "WatchDog Lab"
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def code_at(secret: str, at: float, *, digits: int = 6) -> str:
    return pyotp.TOTP(secret, digits=digits).at(int(at))


def accept(secret: str, code: str, now: float, last_step: int) -> int:
    """Return the time step ``code`` belongs to, or raise :class:`InvalidTotpCode`."""
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        raise InvalidTotpCode
    try:
        totp = pyotp.TOTP(secret)
    except (ValueError, TypeError) as exc:  # a malformed secret can match no code
        raise InvalidTotpCode from exc
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        at = now + offset * totp.interval
        if hmac.compare_digest(totp.at(int(at)), code):
            step = int(at) // totp.interval
            if step <= last_step:
                raise InvalidTotpCode
            return step
    raise InvalidTotpCode
