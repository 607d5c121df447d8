"""The settings one :class:`~.service.AIFix` uses, and their defaults.

Apart from the traits (:mod:`.config`) so that the service and the client depend on plain
values, not on traitlets.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The default model: the newest Sonnet that the ``anthropic`` SDK's model list names (2.17).
#: Sonnet rather than Opus because a fix concerns one cell: quick and inexpensive matters more
#: than the last bit of reasoning, and the user reviews every proposal as a diff anyway.
DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_PAYLOAD_BYTES = 128 * 1024


@dataclass(frozen=True)
class FixSettings:
    """The settings one :class:`~.service.AIFix` uses, fixed for its life.

    ``base_url`` empty: the SDK's own choice (``ANTHROPIC_BASE_URL``, else Anthropic's API).
    """

    model: str = DEFAULT_MODEL
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    base_url: str = ""
