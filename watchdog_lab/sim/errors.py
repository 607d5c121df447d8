"""What the simulator refuses, each with the status and code Kalshi's API answers with.

Every refusal reaches the client as Kalshi's error shape, ``{"error": {"code", "message"}}``,
so a bot's error handling is exercised as it would be against the exchange.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BadRequest",
    "Conflict",
    "InsufficientBalance",
    "NotFound",
    "SimError",
    "SimulatorConfigError",
]


class SimError(Exception):
    """A refused request: ``status`` and ``code`` go into the response as Kalshi writes them."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(SimError):
    """A malformed or impossible order or command."""


class AuthError(SimError):
    """A request whose key, signature or timestamp does not authenticate it (401)."""

    status = 401
    code = "authentication_error"


class NotFound(SimError):
    """An unknown market, order or route."""

    status = 404
    code = "not_found"


class Conflict(SimError):
    """An order that cannot be placed now (not enough balance, a duplicate client order id)."""

    status = 409
    code = "conflict"


class SimulatorConfigError(ValueError):
    """The simulator cannot start as asked (a public host, an unreadable key file)."""


class InsufficientBalance(Conflict):
    """An order whose cost is more than the account's balance."""

    code = "insufficient_balance"
