"""Log records leave the process redacted: message, arguments, exceptions and stacks."""

from __future__ import annotations

import io
import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.redact import RedactingFormatter, Redactor, install_log_redaction

KEY = "kalshi-secret-value-0001"
TOKEN = "exchange-api-token-0002"
PASSPHRASE = "passphrase in exception 0003"
REDACTOR = Redactor(
    [("kalshi", "api_secret", KEY), ("binance", "token", TOKEN), ("coinbase", "pass", PASSPHRASE)]
)


@pytest.fixture
def bot_logger() -> Iterator[logging.Logger]:
    log = logging.getLogger(f"test-redact-{uuid.uuid4().hex}")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def _log_everything(log: logging.Logger) -> None:
    try:
        raise ValueError(f"exchange refused passphrase {PASSPHRASE!r}")
    except ValueError:
        log.error(
            "login with %s failed; config=%r",
            KEY,
            {"token": TOKEN},
            exc_info=True,
            stack_info=True,
        )


def test_message_args_exception_and_stack_are_redacted_in_a_real_file(
    bot_logger: logging.Logger, tmp_path: Path
) -> None:
    path = tmp_path / "bot.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    bot_logger.addHandler(handler)
    install_log_redaction(REDACTOR, bot_logger)

    _log_everything(bot_logger)
    handler.flush()
    written = path.read_text(encoding="utf-8")

    for secret in (KEY, TOKEN, PASSPHRASE):
        assert secret not in written
    assert "login with [REDACTED:kalshi.api_secret] failed" in written
    assert "{'token': '[REDACTED:binance.token]'}" in written
    assert "ValueError: exchange refused passphrase '[REDACTED:coinbase.pass]'" in written
    assert "Traceback (most recent call last)" in written
    assert "Stack (most recent call last)" in written


def test_every_handler_of_the_logger_redacts(bot_logger: logging.Logger) -> None:
    first, second = io.StringIO(), io.StringIO()
    bot_logger.addHandler(logging.StreamHandler(first))
    bot_logger.addHandler(logging.StreamHandler(second))
    # (pytest may attach capture handlers of its own: they must be covered as well)
    assert install_log_redaction(REDACTOR, bot_logger) == len(bot_logger.handlers) >= 2
    assert all(isinstance(h.formatter, RedactingFormatter) for h in bot_logger.handlers)

    _log_everything(bot_logger)

    for stream in (first, second):
        text = stream.getvalue()
        assert "[REDACTED:kalshi.api_secret]" in text
        assert all(secret not in text for secret in (KEY, TOKEN, PASSPHRASE))


def test_the_inner_format_is_kept_apart_from_the_redaction(bot_logger: logging.Logger) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("[%(levelname)s] <%(message)s>"))
    bot_logger.addHandler(handler)
    install_log_redaction(REDACTOR, bot_logger)

    bot_logger.warning("key=%s", KEY)

    assert stream.getvalue() == "[WARNING] <key=[REDACTED:kalshi.api_secret]>\n"


def test_a_handler_without_formatter_gets_the_default_format(bot_logger: logging.Logger) -> None:
    stream = io.StringIO()
    bot_logger.addHandler(logging.StreamHandler(stream))
    install_log_redaction(REDACTOR, bot_logger)

    bot_logger.info("token %s", TOKEN)

    assert stream.getvalue() == "token [REDACTED:binance.token]\n"


def test_installing_twice_wraps_once_and_takes_the_new_redactor(bot_logger: logging.Logger) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    bot_logger.addHandler(handler)
    install_log_redaction(Redactor([("old", "key", "old-secret-value")]), bot_logger)
    install_log_redaction(REDACTOR, bot_logger)

    formatter = handler.formatter
    assert isinstance(formatter, RedactingFormatter)
    assert not isinstance(formatter.inner, RedactingFormatter)
    bot_logger.info("%s %s", KEY, "old-secret-value")
    assert stream.getvalue() == "[REDACTED:kalshi.api_secret] old-secret-value\n"


def test_the_root_logger_is_the_default_target() -> None:
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        install_log_redaction(REDACTOR)
        child = logging.getLogger(f"test-redact-child-{uuid.uuid4().hex}")
        child.propagate = True
        child.error("secret %s", KEY)
    finally:
        root.removeHandler(handler)
    assert stream.getvalue() == "secret [REDACTED:kalshi.api_secret]\n"


def test_format_exception_called_directly_is_redacted_too() -> None:
    formatter = RedactingFormatter(logging.Formatter(), REDACTOR)
    try:
        raise RuntimeError(KEY)
    except RuntimeError:
        text = formatter.formatException(sys.exc_info())
    assert KEY not in text
    assert "RuntimeError: [REDACTED:kalshi.api_secret]" in text
