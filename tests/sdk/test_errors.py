"""SDK errors: catchable as one family, as the matching built-in, and readable."""

from __future__ import annotations

import pickle

from watchdog_lab.sdk.errors import (
    ConnectionConfigError,
    ConnectionKindError,
    ConnectionNotAvailable,
    InjectionError,
    SdkError,
    UnknownField,
)


def test_every_error_is_an_sdk_error_and_the_matching_builtin() -> None:
    assert issubclass(ConnectionNotAvailable, SdkError) and issubclass(
        ConnectionNotAvailable, LookupError
    )
    assert issubclass(InjectionError, SdkError) and issubclass(InjectionError, ValueError)
    assert issubclass(UnknownField, SdkError) and issubclass(UnknownField, KeyError)
    assert issubclass(ConnectionKindError, SdkError) and issubclass(
        ConnectionKindError, AttributeError
    )
    assert issubclass(ConnectionConfigError, SdkError) and issubclass(
        ConnectionConfigError, ValueError
    )


def test_connection_not_available_survives_pickling_with_its_details() -> None:
    error = ConnectionNotAvailable("Coinbase", ["Kalshi", "Binance"])
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.requested, copy.available) == ("Coinbase", ("Kalshi", "Binance"))
    assert str(copy) == str(error)


def test_connection_not_available_lists_names_or_says_none_were_granted() -> None:
    assert "Available: 'Kalshi', 'Binance'." in str(
        ConnectionNotAvailable("X", ["Kalshi", "Binance"])
    )
    assert "no connections were granted" in str(ConnectionNotAvailable("X"))


def test_unknown_field_reads_as_a_sentence_not_a_quoted_key() -> None:
    assert (
        str(UnknownField("Connection 'K' has no field 'x'.")) == "Connection 'K' has no field 'x'."
    )
