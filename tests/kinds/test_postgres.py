"""The ``postgres`` kind: a sync database's connection string (secret) and owner uuid."""

from __future__ import annotations

import uuid

import pytest

from watchdog_lab.kinds import InvalidFields, resolve_kind

DSN = "postgresql://wdl:s3cret-pw-0123456789@db.example.supabase.co:5432/postgres"


def test_the_connection_string_is_secret_and_the_owner_public() -> None:
    spec = resolve_kind("postgres")
    assert spec.visibility("dsn") == "secret"
    assert spec.visibility("owner") == "public"


def test_a_connection_without_an_owner_gets_a_fresh_uuid() -> None:
    first = resolve_kind("postgres").validate({"dsn": DSN})
    second = resolve_kind("postgres").validate({"dsn": DSN})
    assert uuid.UUID(first["owner"]) and first["owner"] != second["owner"]


def test_a_given_owner_is_kept_in_canonical_form() -> None:
    owner = uuid.uuid4()
    fields = resolve_kind("postgres").validate({"dsn": DSN, "owner": owner.hex.upper()})
    assert fields["owner"] == str(owner)


@pytest.mark.parametrize("dsn", ["mysql://u:p@h/db", "s3cret-pw-0123456789", "  "])
def test_something_else_than_a_connection_string_is_refused_without_echoing_it(dsn: str) -> None:
    with pytest.raises(InvalidFields) as caught:
        resolve_kind("postgres").validate({"dsn": dsn})
    assert "connection string" in str(caught.value)
    assert dsn.strip() == "" or dsn not in str(caught.value)


def test_libpq_keyword_form_is_accepted() -> None:
    fields = resolve_kind("postgres").validate({"dsn": "host=/tmp dbname=x user=y"})
    assert fields["dsn"] == "host=/tmp dbname=x user=y"


def test_an_owner_that_is_not_a_uuid_is_refused() -> None:
    with pytest.raises(InvalidFields, match="uuid"):
        resolve_kind("postgres").validate({"dsn": DSN, "owner": "me"})
