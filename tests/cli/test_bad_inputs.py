"""Every refusal: one clear ``error:`` line, a non-zero exit, no traceback, no echoed value, and
nothing lost (the vault still opens with every connection as it was)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from watchdog_lab.vault import Throttled, Vault

from .conftest import (
    FAST_KDF,
    GENERIC_TOKEN,
    KEY_ID,
    PASSWORD,
    Cli,
    Result,
    kalshi_json,
    vault_contents,
)

SECRET = "sk-live-0123456789abcdefSECRET"


@pytest.fixture(scope="session")
def seeded_contents(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    copy = tmp_path_factory.mktemp("contents") / "home"
    shutil.copytree(seeded_template, copy)
    contents = vault_contents(copy)
    assert set(contents) == {"Kalshi", "Other"}
    return contents


def refused(result: Result, *phrases: str) -> str:
    """The one-line error message, after checking the shape every refusal must have."""
    assert result.rc == 1, f"rc={result.rc} out={result.out!r} err={result.err!r}"
    assert "Traceback" not in result.text
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert lines[-1].startswith("error: "), result.err
    for phrase in phrases:
        assert phrase in lines[-1]
    return lines[-1]


def test_wrong_password_is_refused_and_loses_nothing(seeded: Cli, seeded_contents: dict) -> None:
    refused(seeded.run("connections", "list", password="not the password"), "Wrong vault password")
    assert vault_contents(seeded.home) == seeded_contents


def test_no_password_source_without_a_terminal_fails_fast(seeded: Cli) -> None:
    message = refused(seeded.run("connections", "list", password=None))
    assert "--password-file" in message and "WATCHDOG_LAB_PASSWORD" in message


def test_empty_password_variable_is_an_error_not_a_prompt(seeded: Cli) -> None:
    refused(
        seeded.run("connections", "list", password=""), "WATCHDOG_LAB_PASSWORD is set but empty"
    )


def test_weak_password_creates_no_vault(cli: Cli) -> None:
    refused(cli.run("init", *FAST_KDF, password="short"), "Password refused")
    assert not (cli.home / "vault.db").exists()


def test_weak_new_password_keeps_the_old_one(seeded: Cli, seeded_contents: dict) -> None:
    result = seeded.run(
        "password", "change", *FAST_KDF, env={"WATCHDOG_LAB_NEW_PASSWORD": "        "}
    )
    refused(result, "Password refused")
    assert vault_contents(seeded.home) == seeded_contents


@pytest.mark.parametrize(
    "name",
    ["../x", "", "a" * 65, "<script>", "K\u0430lshi", "bad\x07name", "new\nline", " lead"],
    ids=["path", "empty", "65-chars", "script", "homoglyph", "bell", "newline", "leading-space"],
)
def test_invalid_names_are_refused(seeded: Cli, seeded_contents: dict, name: str) -> None:
    doc = json.dumps({"fields": {"token": SECRET}})
    result = seeded.run(
        "connections", "add", name, "--kind", "generic", "--from-json", "-", stdin=doc
    )
    refused(result, "Invalid connection name")
    assert SECRET not in result.text
    assert vault_contents(seeded.home) == seeded_contents


def test_invalid_new_name_on_rename_is_refused(seeded: Cli, seeded_contents: dict) -> None:
    refused(seeded.run("connections", "rename", "Other", "../Other"), "Invalid connection name")
    assert vault_contents(seeded.home) == seeded_contents


def test_duplicate_name_differing_in_case_is_refused(
    seeded: Cli, seeded_contents: dict, rsa_pem: str
) -> None:
    other_key = "00000000-1111-4222-8333-444455556666"
    result = seeded.run(
        "connections",
        "add",
        "KALSHI",
        "--from-json",
        "-",
        stdin=kalshi_json(rsa_pem, key_id=other_key),
    )
    refused(result, "already exists", "'Kalshi'")
    assert vault_contents(seeded.home)["Kalshi"]["api_key_id"] == KEY_ID


def test_rename_onto_an_existing_name_is_refused(seeded: Cli, seeded_contents: dict) -> None:
    refused(seeded.run("connections", "rename", "Other", "kalshi"), "already exists")
    assert vault_contents(seeded.home) == seeded_contents


@pytest.mark.parametrize(
    ("kind", "phrase"),
    [("bogus", "Unknown connection kind"), ("ccxt:Bin/ance", "Invalid ccxt exchange id")],
)
def test_bad_kinds_are_refused_before_asking_anything(seeded: Cli, kind: str, phrase: str) -> None:
    result = seeded.run("connections", "add", "New", "--kind", kind, password=None)
    refused(result, phrase)  # no password source was given: the kind was checked first


def test_kind_in_json_must_agree_with_kind_option(seeded: Cli, rsa_pem: str) -> None:
    result = seeded.run(
        "connections",
        "add",
        "New",
        "--kind",
        "generic",
        "--from-json",
        "-",
        stdin=kalshi_json(rsa_pem),
    )
    refused(result, "disagree")


def test_missing_required_field_is_refused(seeded: Cli, seeded_contents: dict) -> None:
    doc = json.dumps({"kind": "kalshi", "fields": {"api_key_id": KEY_ID}})
    result = seeded.run("connections", "add", "New", "--from-json", "-", stdin=doc)
    refused(result, "needs field(s): private_key_pem")
    assert vault_contents(seeded.home) == seeded_contents


def test_invalid_private_key_is_refused_without_echo(seeded: Cli) -> None:
    doc = json.dumps(
        {"kind": "kalshi", "fields": {"api_key_id": KEY_ID, "private_key_pem": SECRET}}
    )
    result = seeded.run("connections", "add", "New", "--from-json", "-", stdin=doc)
    refused(result, "private_key_pem")
    assert SECRET not in result.text


@pytest.mark.parametrize(
    "doc",
    [
        '{"kind": "generic", "fields": {"token": "' + SECRET + '" oops}}',
        '{"kind": "generic", "fields": {"token": "' + SECRET + "\\q" + SECRET + '"}}',
        '{"kind": "generic", "fields": {"token": "' + SECRET,
        "{'fields': {'token': '" + SECRET + "'}}",
        '{"fields": {"token": "' + SECRET + '\x01"}}',
    ],
    ids=["garbage", "bad-escape", "unterminated", "single-quotes", "control-char"],
)
def test_invalid_json_is_refused_without_echoing_it(seeded: Cli, doc: str) -> None:
    result = seeded.run(
        "connections", "add", "New", "--kind", "generic", "--from-json", "-", stdin=doc
    )
    message = refused(result, "invalid JSON", "line 1 column")
    assert SECRET not in result.text
    assert SECRET[:12] not in message


@pytest.mark.parametrize(
    ("doc", "phrase"),
    [
        ({"fields": {"token": 123}}, "field 'token' must be a string, not a number"),
        ({"fields": {"token": [SECRET]}}, "field 'token' must be a string, not an array"),
        ({"fields": [SECRET]}, '"fields" must be an object'),
        ([SECRET], "expected a JSON object"),
        ({"kind": 5, "fields": {}}, '"kind" must be a string'),
        ({"fields": {SECRET: "x"}}, "field names use letters"),
        ({"fields": {"token": SECRET}, SECRET: 1}, "unknown key(s) (a key that is not"),
        ({"fields": {"token": SECRET}, "name": "x"}, "unknown key(s) 'name'"),
    ],
    ids=[
        "number",
        "array",
        "fields-array",
        "top-array",
        "kind-number",
        "bad-key",
        "bad-top-key",
        "extra-key",
    ],
)
def test_wrong_json_shapes_are_refused_without_echo(seeded: Cli, doc: object, phrase: str) -> None:
    result = seeded.run(
        "connections", "add", "New", "--kind", "generic", "--from-json", "-", stdin=json.dumps(doc)
    )
    refused(result, phrase)
    assert SECRET not in result.text


def test_field_unknown_to_the_kind_is_refused(seeded: Cli, seeded_contents: dict) -> None:
    doc = json.dumps({"fields": {"passphrase": SECRET}})
    result = seeded.run("connections", "update", "Kalshi", "--from-json", "-", stdin=doc)
    refused(result, "has no field 'passphrase'")
    assert SECRET not in result.text
    assert vault_contents(seeded.home) == seeded_contents


def test_huge_json_input_is_refused(seeded: Cli, tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"fields": {"token": "x" * (10 * 1024 * 1024)}}))
    result = seeded.run("connections", "add", "New", "--kind", "generic", "--from-json", str(huge))
    refused(result, "larger than 4 MiB")


def test_huge_json_on_stdin_is_refused(seeded: Cli) -> None:
    doc = json.dumps({"fields": {"token": "x" * (10 * 1024 * 1024)}})
    result = seeded.run(
        "connections", "add", "New", "--kind", "generic", "--from-json", "-", stdin=doc
    )
    refused(result, "larger than 4 MiB")


def test_json_input_linked_to_a_device_is_refused(seeded: Cli, tmp_path: Path) -> None:
    link = tmp_path / "fields.json"
    link.symlink_to("/dev/zero")
    result = seeded.run("connections", "add", "New", "--kind", "generic", "--from-json", str(link))
    refused(result, "is a device, not a regular file")


def test_json_input_from_a_fifo_nobody_writes_is_an_error_not_a_hang(
    seeded: Cli, tmp_path: Path
) -> None:
    fifo = tmp_path / "fields.json"
    os.mkfifo(fifo)
    result = seeded.run("connections", "add", "New", "--kind", "generic", "--from-json", str(fifo))
    refused(result, "invalid JSON")


def test_missing_json_file_is_refused(seeded: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = seeded.run(
        "connections", "add", "New", "--kind", "generic", "--from-json", str(missing)
    )
    refused(result, "no such file", str(missing))


def _corrupt_one_field(home: Path, connection_id: str) -> None:
    db = sqlite3.connect(home / "vault.db")
    with db:
        tag, value = db.execute(
            "SELECT tag, value FROM connection_fields WHERE connection_id = ? LIMIT 1",
            (connection_id,),
        ).fetchone()
        flipped = bytearray(value)
        flipped[len(flipped) // 2] ^= 0x01
        db.execute(
            "UPDATE connection_fields SET value = ? WHERE connection_id = ? AND tag = ?",
            (bytes(flipped), connection_id, tag),
        )
    db.close()


def _id_of(cli: Cli, name: str) -> str:
    return cli.ok("connections", "show", name, "--json").json()["id"]  # type: ignore[index]


def test_tampered_record_is_named_and_the_others_stay_readable(seeded: Cli) -> None:
    kalshi_id = _id_of(seeded, "Kalshi")
    _corrupt_one_field(seeded.home, kalshi_id)
    refused(seeded.run("connections", "show", "Kalshi"), "corrupted", kalshi_id, "'Kalshi'")
    assert seeded.ok("connections", "show", "Other", "--json").json()["fields"] == {"token": "***"}
    listed = seeded.ok("connections", "list", "--json").json()["connections"]
    assert [(c["name"], c["status"]) for c in listed] == [("Other", "ok"), (None, "corrupted")]
    assert f"connections remove --id {kalshi_id}" in seeded.ok("connections", "list").out


def test_tampered_record_can_be_removed_by_id(seeded: Cli, seeded_contents: dict) -> None:
    kalshi_id = _id_of(seeded, "Kalshi")
    _corrupt_one_field(seeded.home, kalshi_id)
    seeded.ok("connections", "remove", "--id", kalshi_id, "--yes")
    assert vault_contents(seeded.home) == {"Other": seeded_contents["Other"]}


def test_init_twice_leaves_the_vault_untouched(seeded: Cli, seeded_contents: dict) -> None:
    refused(seeded.run("init", *FAST_KDF, password="another password entirely"), "already exists")
    assert vault_contents(seeded.home) == seeded_contents


@pytest.mark.parametrize(
    "args",
    [
        ("connections", "list"),
        ("connections", "show", "X"),
        ("connections", "add", "X", "--kind", "generic", "--from-json", "-"),
        ("connections", "rename", "X", "Y"),
        ("connections", "remove", "X", "--yes"),
        ("password", "change"),
        ("audit",),
    ],
    ids=lambda a: "-".join(a[:2]),
)
def test_commands_before_init_say_to_run_init(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli.run(*args, stdin='{"fields": {"token": "abcdefgh"}}')
    refused(result, "No vault at", "watchdog-lab init")
    assert not cli.home.exists()


def test_update_of_a_missing_connection_is_refused(seeded: Cli) -> None:
    doc = json.dumps({"fields": {"token": SECRET}})
    result = seeded.run("connections", "update", "Nope", "--from-json", "-", stdin=doc)
    refused(result, "No connection named 'Nope'")
    assert SECRET not in result.text


def test_remove_without_yes_and_without_terminal_asks_for_yes(
    seeded: Cli, seeded_contents: dict
) -> None:
    refused(seeded.run("connections", "remove", "Other"), "--yes")
    assert vault_contents(seeded.home) == seeded_contents


def test_remove_needs_a_name_or_an_id_but_not_both(seeded: Cli) -> None:
    result = seeded.run("connections", "remove", "Other", "--id", "abc", "--yes")
    assert result.rc == 2 and result.err.startswith("error: give either")


def test_repeated_wrong_passwords_are_throttled_with_a_wait_time(
    seeded: Cli, seeded_contents: dict
) -> None:
    for _ in range(10):
        result = seeded.run("connections", "list", password="not the password")
        if "Too many failed unlock attempts" in result.err:
            break
    else:
        pytest.fail("ten wrong passwords in a row were never throttled")
    message = refused(result)
    assert "Try again in" in message and "second" in message
    # While throttled even the right password is refused, before it is looked at.
    with Vault(seeded.home) as vault, pytest.raises(Throttled):
        vault.unlock(PASSWORD)
    assert vault_contents(seeded.home) == seeded_contents


def test_secret_of_existing_connection_never_printed_by_errors(seeded: Cli) -> None:
    """Even a refusal that mentions the connection prints no value of it."""
    doc = json.dumps({"fields": {"token": GENERIC_TOKEN}})
    result = seeded.run(
        "connections", "add", "other", "--kind", "generic", "--from-json", "-", stdin=doc
    )
    refused(result, "already exists")
    assert GENERIC_TOKEN not in result.text
