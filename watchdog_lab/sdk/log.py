"""``wd.log``: the bot's logger.

Records go to the process's stderr, which the runner captures, redacts and writes to the bot's
log. As a second line of defence the logger itself replaces the values of the connections this
process holds (the runner's redactor also catches their encodings and known key formats).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import TYPE_CHECKING, TextIO

from .errors import SdkError
from .lookup import default_registry
from .sources import PipeSource

if TYPE_CHECKING:
    from .connection import Connection

    _StreamHandler = logging.StreamHandler[TextIO]
else:  # subscriptable at run time only from Python 3.11 on
    _StreamHandler = logging.StreamHandler

LOGGER_NAME = "wd.bot"
MIN_SECRET_LENGTH = 8


class _HeldSecretsFilter(logging.Filter):
    """Replace held connection values in the formatted message (args merged first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for conn in _held():
            for field in conn.field_names:
                value = conn[field]
                if len(value) >= MIN_SECRET_LENGTH and value in message:
                    message = message.replace(value, f"[REDACTED:{conn.name}.{field}]")
        record.msg, record.args = message, None
        return True


def _held() -> list[Connection]:
    """Connections handed to this process by its runner (bots). Broker-held ones (interactive
    kernels) would cost a round trip per log record; there the saved-notebook scrubbing applies."""
    held: list[Connection] = []
    for source in default_registry().sources:
        if isinstance(source, PipeSource):
            with contextlib.suppress(SdkError):
                held += [c for n in source.names() if (c := source.get(n.casefold()))]
    return held


class _CurrentStderr(_StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (ipykernel replaces it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def get_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not getattr(logger, "_wd_configured", False):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler.addFilter(_HeldSecretsFilter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        # A mark on the shared logger, so that a second import adds no second handler.
        logger._wd_configured = True  # type: ignore[attr-defined]  # our own mark
    return logger
