"""The vault's lifecycle and its connections, through the public API only."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest

from watchdog_lab.vault import (
    ConnectionNotFound,
    CreateConnection,
    DuplicateConnection,
    InvalidConnection,
    InvalidName,
    InvalidTotpCode,
    TotpRequired,
    UpdateConnection,
    Vault,
    VaultExists,
    VaultLocked,
    VaultNotFound,
    VaultState,
    WeakPassword,
    WrongPassword,
)

from .conftest import KEY_ID, PASSWORD, generic, kalshi, open_vault


def test_state_is_absent_before_create_and_creates_no_file(home: Path) -> None:
    v = open_vault(home)
    assert v.state is VaultState.ABSENT
    assert not home.exists()


def test_create_leaves_the_vault_unlocked(vault: Vault) -> None:
    assert vault.state is VaultState.UNLOCKED


def test_create_twice_is_refused_and_keeps_the_first_vault(vault: Vault, home: Path) -> None:
    vault.add_connection(generic("Keep", token="t" * 20))
    with pytest.raises(VaultExists):
        open_vault(home).create("another password")
    vault.lock()
    vault.unlock(PASSWORD)
    assert vault.get_connection("Keep").fields == {"token": "t" * 20}


@pytest.mark.parametrize("password", ["short", " " * 12, "x" * 1025])
def test_weak_password_is_refused_at_create(home: Path, password: str) -> None:
    with pytest.raises(WeakPassword):
        open_vault(home).create(password)


def test_unlock_without_vault_says_to_create_one(home: Path) -> None:
    with pytest.raises(VaultNotFound, match="watchdog-lab init"):
        open_vault(home).unlock(PASSWORD)


def test_lock_drops_access_to_connections(vault: Vault, rsa_pem: str) -> None:
    vault.add_connection(kalshi(rsa_pem))
    vault.lock()
    assert vault.state is VaultState.LOCKED
    with pytest.raises(VaultLocked):
        vault.get_connection("Kalshi")
    with pytest.raises(VaultLocked):
        vault.list_connections()


def test_wrong_password_is_refused(vault: Vault) -> None:
    vault.lock()
    with pytest.raises(WrongPassword):
        vault.unlock("not the password")
    assert vault.state is VaultState.LOCKED


def test_reopened_vault_unlocks_with_its_password(vault: Vault, home: Path, rsa_pem: str) -> None:
    vault.add_connection(kalshi(rsa_pem))
    vault.close()
    again = open_vault(home)
    again.unlock(PASSWORD)
    secrets = again.get_connection("Kalshi")
    assert secrets.fields["private_key_pem"].strip() == rsa_pem.strip()
    assert secrets.fields["api_key_id"] == KEY_ID


def test_connection_round_trip_and_masked_description(vault: Vault, rsa_pem: str) -> None:
    described = vault.add_connection(kalshi(rsa_pem))
    assert described.fields == {
        "api_key_id": "a95***",
        "private_key_pem": "***",
        "environment": "demo",
    }
    assert rsa_pem not in described.model_dump_json() and KEY_ID not in described.model_dump_json()


def test_lookup_is_case_insensitive(vault: Vault) -> None:
    vault.add_connection(generic("Binance Main", apiKey="k" * 16))
    assert vault.get_connection("binance main").name == "Binance Main"


def test_duplicate_name_is_refused_case_insensitively(vault: Vault) -> None:
    vault.add_connection(generic("Kalshi", token="t" * 16))
    with pytest.raises(DuplicateConnection, match="case-insensitive"):
        vault.add_connection(generic("KALSHI", token="u" * 16))
    assert vault.get_connection("kalshi").fields == {"token": "t" * 16}


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x" * 65,
        "../etc",
        "a/b",
        "<script>",
        "name\x00",
        "tab\tname",
        "trailing ",
        " leading",
        "K\u0430lshi",
        "semi;colon",
        "O'Brien",
        "new\nline",
    ],
)
def test_invalid_names_are_refused(vault: Vault, name: str) -> None:
    with pytest.raises(InvalidName):
        vault.add_connection(generic(name, token="t" * 16))
    assert vault.list_connections() == []


@pytest.mark.parametrize("name", ["K", "Kalshi Demo", "binance.us-2", "a_b", "x" * 64])
def test_valid_names_are_accepted(vault: Vault, name: str) -> None:
    assert vault.add_connection(generic(name, token="t" * 16)).name == name


def test_update_merges_fields_and_revalidates(vault: Vault, rsa_pem: str) -> None:
    vault.add_connection(kalshi(rsa_pem))
    vault.update_connection("Kalshi", UpdateConnection(fields={"environment": "prod"}))
    assert vault.get_connection("Kalshi").fields["environment"] == "prod"
    with pytest.raises(InvalidConnection, match="demo, prod"):
        vault.update_connection("Kalshi", UpdateConnection(fields={"environment": "live"}))
    assert vault.get_connection("Kalshi").fields["environment"] == "prod"


def test_update_with_replace_drops_other_fields(vault: Vault) -> None:
    vault.add_connection(generic("G", a="1" * 10, b="2" * 10))
    vault.update_connection("G", UpdateConnection(fields={"c": "3" * 10}, replace=True))
    assert vault.get_connection("G").fields == {"c": "3" * 10}


def test_rename_keeps_fields_and_frees_the_old_name(vault: Vault, rsa_pem: str) -> None:
    vault.add_connection(kalshi(rsa_pem))
    vault.rename_connection("kalshi", "Kalshi Prod")
    assert vault.get_connection("Kalshi Prod").fields["api_key_id"] == KEY_ID
    with pytest.raises(ConnectionNotFound):
        vault.get_connection("Kalshi")
    vault.add_connection(generic("Kalshi", token="t" * 16))


def test_rename_to_a_case_variant_of_itself_is_allowed(vault: Vault) -> None:
    vault.add_connection(generic("kalshi", token="t" * 16))
    assert vault.rename_connection("kalshi", "Kalshi").name == "Kalshi"


def test_rename_onto_another_connection_is_refused(vault: Vault) -> None:
    vault.add_connection(generic("A", token="a" * 16))
    vault.add_connection(generic("B", token="b" * 16))
    with pytest.raises(DuplicateConnection):
        vault.rename_connection("A", "b")


def test_remove_deletes_the_connection_and_its_fields(vault: Vault) -> None:
    vault.add_connection(generic("Gone", token="t" * 16))
    vault.remove_connection("gone")
    with pytest.raises(ConnectionNotFound):
        vault.get_connection("Gone")
    rows = vault._open().query("SELECT COUNT(*) FROM connection_fields")
    assert rows[0][0] == 0


def test_list_is_sorted_by_name(vault: Vault) -> None:
    for name in ("beta", "Alpha", "gamma"):
        vault.add_connection(generic(name, token="t" * 16))
    assert [c.name for c in vault.list_connections()] == ["Alpha", "beta", "gamma"]


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("kraken", {"a": "b"}, "Unknown connection kind"),
        ("ccxt:Bin/ance", {"apiKey": "k"}, "ccxt exchange id"),
        ("ccxt:binance", {"apikey": "k"}, "has no field 'apikey'"),
        ("kalshi", {"api_key_id": "x"}, "needs field"),
        ("kalshi", {"api_key_id": "x", "private_key_pem": "not a pem"}, "PEM private key"),
        ("anthropic", {}, "needs field"),
        ("generic", {}, "at least one"),
        ("generic", {"1bad": "v"}, "Invalid field name"),
        ("generic", {"big": "x" * (64 * 1024 + 1)}, "longer than"),
        ("generic", {"nul": "a\x00b"}, "NUL"),
        ("generic", {f"f{i}": "v" for i in range(33)}, "at most 32"),
    ],
)
def test_invalid_connections_are_refused_with_a_clear_message(
    vault: Vault, kind: str, fields: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidConnection, match=message):
        vault.add_connection(CreateConnection(name="X", kind=kind, fields=fields))
    assert vault.list_connections() == []


def test_ccxt_connection_takes_ccxt_credential_names(vault: Vault) -> None:
    described = vault.add_connection(
        CreateConnection(
            name="Binance", kind="ccxt:binance", fields={"apiKey": "A" * 20, "secret": "S" * 40}
        )
    )
    assert described.fields == {"apiKey": "AAA***", "secret": "***"}


def test_kalshi_rejects_a_non_rsa_key(vault: Vault) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(InvalidConnection, match="RSA"):
        vault.add_connection(
            CreateConnection(
                name="K", kind="kalshi", fields={"api_key_id": KEY_ID, "private_key_pem": pem}
            )
        )


def test_change_password_rewraps_only_the_data_key(vault: Vault, home: Path, rsa_pem: str) -> None:
    vault.add_connection(kalshi(rsa_pem))
    before = vault._open().query("SELECT id, meta FROM connections")
    fields_before = vault._open().query("SELECT value FROM connection_fields ORDER BY tag")
    vault.change_password(PASSWORD, "a brand new password")
    assert vault._open().query("SELECT id, meta FROM connections") == before
    assert vault._open().query("SELECT value FROM connection_fields ORDER BY tag") == fields_before
    vault.close()
    again = open_vault(home)
    with pytest.raises(WrongPassword):
        again.unlock(PASSWORD)
    again.unlock("a brand new password")
    assert again.get_connection("Kalshi").fields["api_key_id"] == KEY_ID


def test_change_password_with_wrong_old_password_changes_nothing(vault: Vault, home: Path) -> None:
    with pytest.raises(WrongPassword):
        vault.change_password("wrong old password", "a brand new password")
    vault.close()
    open_vault(home).unlock(PASSWORD)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _totp_vault(home: Path) -> tuple[Vault, str, _Clock]:
    clock = _Clock()
    v = open_vault(home, clock=clock)
    v.create(PASSWORD)
    enrolment = v.begin_totp(PASSWORD)
    secret = enrolment.secret.get_secret_value()
    assert secret in enrolment.provisioning_uri.get_secret_value()
    v.enable_totp(PASSWORD, secret, pyotp.TOTP(secret).at(int(clock.now)))
    v.lock()
    return v, secret, clock


def test_totp_vault_needs_a_code_to_unlock(home: Path) -> None:
    v, secret, clock = _totp_vault(home)
    assert v.describe().totp_enabled
    with pytest.raises(TotpRequired):
        v.unlock(PASSWORD)
    clock.now += 30
    v.unlock(PASSWORD, pyotp.TOTP(secret).at(int(clock.now)))
    assert v.state is VaultState.UNLOCKED


def test_totp_code_cannot_be_replayed_even_after_reopen(home: Path) -> None:
    v, secret, clock = _totp_vault(home)
    clock.now += 30
    code = pyotp.TOTP(secret).at(int(clock.now))
    v.unlock(PASSWORD, code)
    v.close()
    again = open_vault(home, clock=clock)
    with pytest.raises(InvalidTotpCode):
        again.unlock(PASSWORD, code)
    assert again.state is VaultState.LOCKED


def test_wrong_totp_code_is_refused(home: Path) -> None:
    v, _secret, clock = _totp_vault(home)
    clock.now += 30
    with pytest.raises(InvalidTotpCode):
        v.unlock(PASSWORD, "000000" if pyotp.TOTP(_secret).now() != "000000" else "111111")


def test_totp_can_be_disabled_with_a_fresh_code(home: Path) -> None:
    v, secret, clock = _totp_vault(home)
    clock.now += 30
    v.unlock(PASSWORD, pyotp.TOTP(secret).at(int(clock.now)))
    clock.now += 30
    v.disable_totp(PASSWORD, pyotp.TOTP(secret).at(int(clock.now)))
    v.lock()
    v.unlock(PASSWORD)
    assert not v.totp_enabled


def test_two_factor_changes_need_the_password_even_when_unlocked(home: Path) -> None:
    """An unlocked vault is not the owner's consent: enrolling a seed someone else holds, or
    removing two-factor, takes the password each time."""
    clock = _Clock()
    v = open_vault(home, clock=clock)
    v.create(PASSWORD)
    with pytest.raises(WrongPassword):
        v.begin_totp("not the password")
    secret = v.begin_totp(PASSWORD).secret.get_secret_value()
    with pytest.raises(WrongPassword):
        v.enable_totp("not the password", secret, pyotp.TOTP(secret).at(int(clock.now)))
    assert not v.totp_enabled
    v.enable_totp(PASSWORD, secret, pyotp.TOTP(secret).at(int(clock.now)))
    clock.now += 30
    with pytest.raises(WrongPassword):
        v.disable_totp("not the password", pyotp.TOTP(secret).at(int(clock.now)))
    assert v.totp_enabled


def test_audit_log_records_events_without_values(vault: Vault, rsa_pem: str) -> None:
    vault.add_connection(kalshi(rsa_pem))
    vault.update_connection("Kalshi", UpdateConnection(fields={"environment": "prod"}))
    vault.rename_connection("Kalshi", "K2")
    vault.remove_connection("K2")
    vault.lock()
    with pytest.raises(WrongPassword):
        vault.unlock("wrong password!")
    vault.unlock(PASSWORD)
    vault.change_password(PASSWORD, "another password")
    events = [e.event for e in reversed(vault.audit_log())]
    assert events == [
        "vault.created",
        "connection.added",
        "connection.updated",
        "connection.renamed",
        "connection.removed",
        "vault.locked",
        "vault.unlock_failed",
        "vault.unlocked",
        "vault.password_changed",
    ]
    text = "".join(e.model_dump_json() for e in vault.audit_log())
    assert KEY_ID not in text and "PRIVATE KEY" not in text and PASSWORD not in text
    added = next(e for e in vault.audit_log() if e.event == "connection.added")
    assert added.detail == {
        "name": "Kalshi",
        "kind": "kalshi",
        "fields": ["api_key_id", "environment", "private_key_pem"],
    }


def test_audit_log_pages_with_before(vault: Vault) -> None:
    for i in range(5):
        vault.add_connection(generic(f"c{i}", token="t" * 16))
    first = vault.audit_log(limit=2)
    second = vault.audit_log(limit=2, before=first[-1].seq)
    assert [e.seq for e in first + second] == sorted({e.seq for e in first + second}, reverse=True)
    assert len(first + second) == 4


def test_iter_secrets_yields_every_non_public_field_for_the_redactor(
    vault: Vault, rsa_pem: str
) -> None:
    vault.add_connection(kalshi(rsa_pem))
    triples = set(vault.iter_secrets())
    assert ("Kalshi", "api_key_id", KEY_ID) in triples
    assert {field for _, field, _ in triples} == {"api_key_id", "private_key_pem"}


def test_decrypted_connection_repr_is_masked(vault: Vault, rsa_pem: str) -> None:
    vault.add_connection(kalshi(rsa_pem))
    secrets = vault.get_connection("Kalshi")
    assert KEY_ID not in repr(secrets) and "PRIVATE" not in str(secrets)
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secrets)


def test_verify_password_keeps_the_lock_state(vault: Vault) -> None:
    vault.lock()
    vault.verify_password(PASSWORD)
    assert vault.state is VaultState.LOCKED
    with pytest.raises(WrongPassword):
        vault.verify_password("not the password")


def test_password_checks_of_every_kind_share_the_throttle(home: Path) -> None:
    from watchdog_lab.vault import RateLimitPolicy, Throttled

    v = open_vault(home, rate_limit=RateLimitPolicy(free_attempts=2, base_delay=60))
    v.create(PASSWORD)
    with pytest.raises(WrongPassword):
        v.verify_password("wrong one!")
    with pytest.raises(WrongPassword):
        v.change_password("wrong two!", "new password 123")
    with pytest.raises(Throttled):
        v.verify_password(PASSWORD)
