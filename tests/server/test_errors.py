"""The status and reason each failure gets over HTTP (watchdog_lab/server/errors.py)."""

from __future__ import annotations

import pytest

from watchdog_lab.bots.errors import (
    BotError,
    BotNotFound,
    DuplicateBot,
    RunNotFound,
    StartupCodeRefused,
)
from watchdog_lab.server.broker_errors import NotGranted
from watchdog_lab.server.errors import ApiError, mappings, to_api_error
from watchdog_lab.vault import errors as vault_errors


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        (vault_errors.VaultLocked(), 423, "vault_locked"),
        (vault_errors.WrongPassword(), 422, "wrong_password"),
        (vault_errors.TotpRequired(), 422, "totp_required"),
        (vault_errors.InvalidTotpCode(), 422, "invalid_totp_code"),
        (vault_errors.VaultNotFound("/x"), 409, "vault_absent"),
        (vault_errors.VaultExists("/x"), 409, "vault_exists"),
        (vault_errors.InvalidName("<x>", "bad"), 422, "invalid_name"),
        (vault_errors.InvalidConnection("bad"), 422, "invalid_connection"),
        (vault_errors.WeakPassword("short"), 422, "weak_password"),
        (vault_errors.ConnectionNotFound("X"), 404, "connection_not_found"),
        (vault_errors.DuplicateConnection("X"), 409, "duplicate_connection"),
        (vault_errors.CorruptedRecord("connection 1"), 409, "corrupted_record"),
        (vault_errors.TamperedHeader("digest"), 409, "vault_tampered"),
        (vault_errors.UnsupportedVault(9, 2), 409, "vault_unsupported"),
        (BotNotFound("b"), 404, "bot_not_found"),
        (DuplicateBot("b"), 409, "duplicate_bot"),
        (BotError("anything"), 400, "bot_error"),
    ],
)
def test_each_known_failure_has_its_status_and_reason(error, status: int, reason: str) -> None:
    mapped = to_api_error(error)
    assert mapped is not None
    assert (mapped.status_code, mapped.reason_code) == (status, reason)
    assert mapped.message == str(error)


def test_throttling_says_when_to_retry_in_whole_seconds() -> None:
    mapped = to_api_error(vault_errors.Throttled(2.1))
    assert mapped is not None
    assert mapped.status_code == 429
    assert mapped.headers == {"Retry-After": "3"}


def test_an_unexpected_error_is_not_mapped() -> None:
    assert to_api_error(RuntimeError("hunter2")) is None
    assert to_api_error(KeyError("x")) is None


def test_no_entry_of_the_error_table_hides_behind_an_earlier_base_class() -> None:
    """The first matching class wins, so a subclass listed after its base would never be
    reached (its status and reason silently replaced by the base's)."""
    table = [cls for cls, _ in mappings()]
    for index, cls in enumerate(table):
        hiding = [earlier for earlier in table[:index] if issubclass(cls, earlier)]
        assert not hiding, f"{cls.__name__} comes after its base {hiding[0].__name__}"


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        (StartupCodeRefused([("evil", "evil.pth")]), 422, "startup_code_refused"),
        (RunNotFound("x.ipynb"), 404, "run_not_found"),
        (BotError("other"), 400, "bot_error"),
        (NotGranted("Kalshi"), 403, "not_granted"),
        (vault_errors.VaultBusy(15.0), 503, "vault_busy"),
    ],
)
def test_each_service_s_errors_map_through_the_one_table(
    error: BaseException, status: int, reason: str
) -> None:
    mapped = to_api_error(error)
    assert mapped is not None
    assert (mapped.status_code, mapped.reason_code) == (status, reason)


def test_api_errors_pass_through_unchanged() -> None:
    error = ApiError("nope", status=418, reason="teapot")
    assert to_api_error(error) is error


def test_a_busy_vault_tells_the_client_when_to_try_again() -> None:
    mapped = to_api_error(vault_errors.VaultBusy(15.0))
    assert mapped is not None and mapped.headers == {"Retry-After": "1"}
