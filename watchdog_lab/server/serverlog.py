"""Redaction of every log record the server process creates, whichever handler writes it.

Wrapping the formatters of the handlers that exist at start-up (what
:func:`watchdog_lab.redact.install_log_redaction` does) misses every handler added later: a
``logging_config`` reload, a test harness capturing logs, an extension adding a file handler.
So the server also installs a log *record factory*: each record is redacted as it is created,
before any handler sees it. The message is formatted once (``msg % args``) and redacted, the
exception and stack texts are rendered and redacted, and the live exception object is dropped
from the record so that no handler can render its unredacted text again.

Not covered: attributes passed with ``extra=``, which logging sets after the factory runs; the
formatter wrappers on the server's own handlers cover those.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..redact import Redactor

_exception_formatter = logging.Formatter()


class RedactingRecordFactory:
    """A ``logging`` record factory that redacts what the wrapped factory produces."""

    def __init__(self, previous: Callable[..., logging.LogRecord], redactor: Redactor) -> None:
        self.previous = previous
        self.redactor = redactor

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        try:
            redact_record(record, self.redactor)
        except Exception:  # never lose a record, never let one through unredacted
            record.msg = "[a log record WatchDog Lab could not redact was dropped]"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return record


def redact_record(record: logging.LogRecord, redactor: Redactor) -> None:
    """Replace the record's texts by their redacted, fully rendered forms, in place."""
    try:
        message = record.getMessage()
    except Exception:
        # Arguments that do not fit the format: logging would print them raw to stderr.
        message = f"{record.msg} (log arguments could not be formatted)"
    record.msg = redactor.redact(str(message))
    record.args = ()
    if record.exc_info:
        if not record.exc_text:
            record.exc_text = _exception_formatter.formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = redactor.redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redactor.redact(record.stack_info)


def install_record_redaction(redactor: Redactor) -> RedactingRecordFactory:
    """Make every new log record of this process redacted by ``redactor`` (idempotent)."""
    current = logging.getLogRecordFactory()
    if isinstance(current, RedactingRecordFactory):
        current.redactor = redactor
        return current
    factory = RedactingRecordFactory(current, redactor)
    logging.setLogRecordFactory(factory)
    return factory


def uninstall_record_redaction() -> None:
    """Restore the factory that was in place before (when ours is still the current one)."""
    current = logging.getLogRecordFactory()
    if isinstance(current, RedactingRecordFactory):
        logging.setLogRecordFactory(current.previous)
