"""Redaction for the standard ``logging`` machinery.

Redacting ``record.msg`` alone is not enough: secrets arrive through ``%`` arguments, exception
messages, tracebacks (``exc_text``), ``stack_info`` and whatever a custom formatter adds. So the
redaction wraps the formatter and works on the final formatted string, the one text that really
leaves the process.

(This module is ``logs``, not ``logging``, so that nobody reading ``import logging`` in this
package has to wonder which one it is.)
"""

from __future__ import annotations

import logging

from .redactor import Redactor, get_redactor

__all__ = ["RedactingFormatter", "install_log_redaction"]


class RedactingFormatter(logging.Formatter):
    """Formats with ``inner`` and then redacts the whole result."""

    def __init__(self, inner: logging.Formatter | None, redactor: Redactor) -> None:
        super().__init__()
        self.inner = inner if inner is not None else logging.Formatter()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(self.inner.format(record))

    # Handlers and libraries sometimes call these directly (the names are logging's API); they
    # must not bypass redaction.
    def formatException(self, ei: object) -> str:
        return self.redactor.redact(self.inner.formatException(ei))  # type: ignore[arg-type]  # logging passes exc_info tuples

    def formatStack(self, stack_info: str) -> str:
        return self.redactor.redact(self.inner.formatStack(stack_info))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self.inner.formatTime(record, datefmt)

    def usesTime(self) -> bool:
        return self.inner.usesTime()


def install_log_redaction(
    redactor: Redactor | None = None, logger: logging.Logger | None = None
) -> int:
    """Make every handler of ``logger`` (the root logger by default) redact what it writes.

    Idempotent: a handler already redacting keeps its wrapper and just gets ``redactor``.
    Handlers added later are not covered; call this again after configuring logging.
    Returns the number of handlers that now redact.
    """
    redactor = redactor if redactor is not None else get_redactor()
    target = logger if logger is not None else logging.getLogger()
    handlers = list(target.handlers)
    for handler in handlers:
        current = handler.formatter
        if isinstance(current, RedactingFormatter):
            current.redactor = redactor
        else:
            handler.setFormatter(RedactingFormatter(current, redactor))
    return len(handlers)
