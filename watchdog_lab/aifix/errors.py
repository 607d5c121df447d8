"""Everything AI Fix can refuse or fail with, each worded so the user knows what to do next.

No message carries the payload, the reply or the API key: at most a connection's name, a
status code, a size or a wait, all of which the user may see.
"""

from __future__ import annotations

__all__ = [
    "AIFixError",
    "AmbiguousConnection",
    "FixTimeout",
    "KeyRefused",
    "MalformedReply",
    "NetworkUnreachable",
    "NoConnection",
    "NoFix",
    "NoRecordedFailure",
    "PayloadChanged",
    "PayloadTooLarge",
    "RateLimited",
    "RequestRefused",
    "ServerError",
    "VaultLocked",
]


class AIFixError(Exception):
    """Base class: every AI Fix failure a face maps to a status, an exit code or a message.

    ``outcome`` is the short word the audit entry records.
    """

    outcome = "error"


class VaultLocked(AIFixError):
    outcome = "vault_locked"

    def __init__(self) -> None:
        super().__init__(
            "The vault is locked. Unlock it first: AI Fix redacts every value the vault holds "
            "before anything leaves, and reads the Anthropic key from it."
        )


class NoConnection(AIFixError):
    outcome = "no_connection"

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            message = (
                "No connection of kind 'anthropic' in the vault. Add one with your Anthropic "
                "API key (`watchdog-lab connections add --kind anthropic NAME`, or the sidebar)."
            )
        else:
            message = f"No connection of kind 'anthropic' named {name!r}."
        super().__init__(message)


class AmbiguousConnection(AIFixError):
    outcome = "no_connection"

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(
            "Several connections of kind 'anthropic' exist "
            f"({', '.join(repr(n) for n in names)}); name the one to use."
        )


class NoRecordedFailure(AIFixError):
    """A bot has no failing cell that a fix could replace in the version it runs."""

    outcome = "no_failure"

    def __init__(self, bot: str, why: str = "it has no recorded failure") -> None:
        super().__init__(
            f"Nothing to fix in bot {bot!r}: {why}. AI Fix works from the cell that failed in "
            "the notebook version the bot runs; start the bot and let it fail first."
        )


class PayloadTooLarge(AIFixError):
    outcome = "payload_too_large"

    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit
        super().__init__(
            f"The AI Fix request would be {size} bytes, over the limit of {limit} "
            "(c.WatchdogLab.ai_max_payload_bytes). Split the cell, or raise the limit."
        )


class PayloadChanged(AIFixError):
    """What would be sent now differs from what the user was shown: nothing is sent."""

    outcome = "payload_changed"

    def __init__(self) -> None:
        super().__init__(
            "The request would differ from the preview you approved (the cell, its error, the "
            "vault's values or a setting changed since). Nothing was sent: preview again."
        )


class KeyRefused(AIFixError):
    outcome = "key_refused"

    def __init__(self, status: int, connection: str) -> None:
        self.status = status
        what = "is not valid" if status == 401 else "may not use this model or endpoint"
        super().__init__(
            f"Anthropic refused the API key of connection {connection!r} (HTTP {status}): it "
            f"{what}. Update the connection with a working key, or check c.WatchdogLab.ai_model."
        )


class RateLimited(AIFixError):
    outcome = "rate_limited"

    def __init__(self, retry_after: float | None, attempts: int) -> None:
        self.retry_after = retry_after
        wait = (
            f"Try again in {max(1, int(retry_after + 0.999))} s."
            if retry_after is not None
            else "Try again in a minute."
        )
        super().__init__(
            f"Anthropic's rate limit was hit (HTTP 429, {attempts} attempt"
            f"{'s' if attempts != 1 else ''}). {wait}"
        )


class ServerError(AIFixError):
    outcome = "server_error"

    def __init__(self, status: int, attempts: int) -> None:
        self.status = status
        super().__init__(
            f"The Messages API failed (HTTP {status}) after {attempts} attempt"
            f"{'s' if attempts != 1 else ''}. This is on the API's side: try again later."
        )


class NetworkUnreachable(AIFixError):
    outcome = "network_unreachable"

    def __init__(self, host: str) -> None:
        super().__init__(
            f"Could not reach {host}. Check the network, a proxy, or c.WatchdogLab.ai_base_url."
        )


class FixTimeout(AIFixError):
    outcome = "timeout"

    def __init__(self, seconds: float, attempts: int) -> None:
        super().__init__(
            f"No reply within {seconds:g} s ({attempts} attempt{'s' if attempts != 1 else ''}). "
            "Try again, or raise c.WatchdogLab.ai_timeout."
        )


class MalformedReply(AIFixError):
    outcome = "malformed_reply"

    def __init__(self, why: str) -> None:
        super().__init__(
            f"The reply could not be read as a proposed fix ({why}). Nothing was applied; "
            "try again, or another model (c.WatchdogLab.ai_model)."
        )


class NoFix(AIFixError):
    """The model answered, but with nothing worth offering."""

    outcome = "no_fix"

    def __init__(self, why: str, explanation: str = "") -> None:
        self.explanation = explanation
        super().__init__(f"No fix to offer: {why}.")


class RequestRefused(AIFixError):
    """Any other 4xx: the API understood the request and refused it (an unknown model, say)."""

    outcome = "request_refused"

    def __init__(self, status: int, error_type: str) -> None:
        self.status, self.error_type = status, error_type
        super().__init__(
            f"The Messages API refused the request (HTTP {status}, {error_type}). Check "
            "c.WatchdogLab.ai_model and c.WatchdogLab.ai_base_url."
        )
