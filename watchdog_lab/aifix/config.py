"""The AI Fix settings, as validated traits that the ``c.WatchdogLab`` settings class mixes in.

Declared here, beside the service that uses them, so that their bounds live with the code that
relies on them; the settings class inherits them and so checks them when any face loads its
configuration.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from traitlets import Float, Int, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from .options import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MODEL,
    DEFAULT_TIMEOUT,
    FixSettings,
)

if TYPE_CHECKING:
    from ..redact import Redactor
    from ..vault import Vault
    from .service import AIFix

# Bounds: a request must be able to wait for a long reply yet not hang a face for an hour;
# the payload must hold a cell and its traceback yet not send a whole data file.
TIMEOUT_RANGE = (1.0, 3600.0)
MAX_RETRIES_RANGE = (0, 10)
MAX_PAYLOAD_RANGE = (4 * 1024, 4 * 1024 * 1024)
MODEL_MAX_LENGTH = 128


class AIFixConfig(LoggingConfigurable):
    """``c.WatchdogLab.ai_*``: which model AI Fix asks, where, and within which limits."""

    ai_model = Unicode(
        DEFAULT_MODEL,
        help="Claude model id AI Fix asks (any id the Messages API accepts, e.g. "
        "'claude-sonnet-5-5', 'claude-opus-5-5', 'claude-haiku-5-5').",
    ).tag(config=True)

    @validate("ai_model")
    def _valid_model(self, proposal: Any) -> str:
        model = str(proposal["value"]).strip()
        if not model or len(model) > MODEL_MAX_LENGTH or not model.isprintable() or " " in model:
            raise TraitError(
                f"ai_model: {model[:40]!r} is not a model id (printable, no spaces, at most "
                f"{MODEL_MAX_LENGTH} characters), e.g. {DEFAULT_MODEL!r}."
            )
        return model

    ai_timeout = Float(
        DEFAULT_TIMEOUT,
        help="Seconds one AI Fix request may take (per attempt) before it fails as a timeout.",
    ).tag(config=True)

    @validate("ai_timeout")
    def _valid_timeout(self, proposal: Any) -> float:
        seconds = float(proposal["value"])
        low, high = TIMEOUT_RANGE
        if math.isnan(seconds) or not low <= seconds <= high:
            raise TraitError(f"ai_timeout: {proposal['value']!r} is outside {low:g} to {high:g} s.")
        return seconds

    ai_max_retries = Int(
        DEFAULT_MAX_RETRIES,
        help="Retries of an AI Fix request after a rate limit (429), an overload or a server "
        "error (5xx), a timeout or a dropped connection, with the SDK's backoff (and the "
        "server's retry-after when it gives one no longer than ai_timeout).",
    ).tag(config=True)

    @validate("ai_max_retries")
    def _valid_retries(self, proposal: Any) -> int:
        low, high = MAX_RETRIES_RANGE
        if not low <= proposal["value"] <= high:
            raise TraitError(f"ai_max_retries: {proposal['value']!r} is outside {low} to {high}.")
        return int(proposal["value"])

    ai_max_payload_bytes = Int(
        DEFAULT_MAX_PAYLOAD_BYTES,
        help="Largest AI Fix request body, in bytes (the cell, its cut traceback and the "
        "instructions, as JSON). A larger one is refused before anything is sent.",
    ).tag(config=True)

    @validate("ai_max_payload_bytes")
    def _valid_payload(self, proposal: Any) -> int:
        low, high = MAX_PAYLOAD_RANGE
        if not low <= proposal["value"] <= high:
            raise TraitError(
                f"ai_max_payload_bytes: {proposal['value']!r} is outside {low} to {high} bytes."
            )
        return int(proposal["value"])

    ai_base_url = Unicode(
        "",
        help="Base URL of the Messages API for AI Fix (a proxy or gateway); empty: "
        "ANTHROPIC_BASE_URL when set, else Anthropic's API.",
    ).tag(config=True)

    @validate("ai_base_url")
    def _valid_base_url(self, proposal: Any) -> str:
        url = str(proposal["value"]).strip()
        if url:
            check_base_url(url)
        return url

    def ai_fix_settings(self) -> FixSettings:
        return FixSettings(
            model=self.ai_model,
            timeout=self.ai_timeout,
            max_retries=self.ai_max_retries,
            max_payload_bytes=self.ai_max_payload_bytes,
            base_url=self.ai_base_url,
        )

    def ai_fix(self, vault: Vault, *, remembered: Redactor | None = None) -> AIFix:
        """The AI Fix core over ``vault``, with these settings (``remembered``: see
        :class:`~.service.AIFix`)."""
        from .service import AIFix

        return AIFix(vault, self.ai_fix_settings(), remembered=remembered)


def check_base_url(url: str) -> None:
    """Refuse a base URL the SDK would only fail on later, or one that carries credentials.

    ``http`` is allowed (a local gateway or a test server); the key then travels in clear to
    that address, which the user chose.
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise TraitError(f"ai_base_url: not a URL ({exc}).") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TraitError(
            "ai_base_url: must be an http(s) URL with a host, e.g. 'https://api.anthropic.com' "
            "(the value is not repeated here: it may hold a credential)."
        )
    if parts.username or parts.password:
        raise TraitError(
            "ai_base_url: a URL with a user name or password is refused (it would be logged "
            "and shown as a setting); give the gateway's key as the anthropic connection."
        )
