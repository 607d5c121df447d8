"""Fields asked one by one on a real terminal: hidden input, Enter to keep, confirmations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .conftest import GENERIC_TOKEN, KEY_ID, PASSWORD, Cli, Terminal, vault_contents


def test_update_prompts_keep_what_is_left_empty(
    seeded: Cli, terminal: Callable[..., Terminal]
) -> None:
    before = vault_contents(seeded.home)["Kalshi"]
    term = terminal(
        "connections", "update", "Kalshi", home=seeded.home, WATCHDOG_LAB_PASSWORD=PASSWORD
    )
    term.expect("api_key_id [Enter keeps a95***] (hidden): ")
    term.line("")
    term.expect("private_key_pem [Enter keeps ***] (hidden): ")
    term.line("")
    term.expect("environment (demo|prod) [Enter keeps demo]: ")
    term.line("staging")
    term.expect("environment must be one of: demo, prod.")
    term.expect("environment (demo|prod) [Enter keeps demo]: ")
    term.line("prod")
    assert term.wait() == 0, term.screen
    assert vault_contents(seeded.home)["Kalshi"] == {**before, "environment": "prod"}
    assert KEY_ID not in term.screen


def test_generic_prompts_ask_for_field_names_then_hidden_values(
    cli: Cli, terminal: Callable[..., Terminal]
) -> None:
    cli.init()
    term = terminal(
        "connections",
        "add",
        "Svc",
        "--kind",
        "generic",
        home=cli.home,
        WATCHDOG_LAB_PASSWORD=PASSWORD,
    )
    term.expect("New field name (Enter to finish): ")
    term.line("api_token")
    term.expect("api_token * (hidden): ")
    term.line(GENERIC_TOKEN)
    term.expect("New field name (Enter to finish): ")
    term.line("")
    assert term.wait() == 0, term.screen
    assert vault_contents(cli.home) == {"Svc": {"api_token": GENERIC_TOKEN}}
    assert "api_token" in term.screen and GENERIC_TOKEN not in term.screen


def test_declined_confirmation_removes_nothing(
    seeded: Cli, terminal: Callable[..., Terminal]
) -> None:
    term = terminal(
        "connections", "remove", "Other", home=seeded.home, WATCHDOG_LAB_PASSWORD=PASSWORD
    )
    term.expect("Remove connection 'Other' (generic)? This cannot be undone. [y/N] ")
    term.line("n")
    assert term.wait() == 1
    assert "aborted" in term.screen
    assert set(vault_contents(seeded.home)) == {"Kalshi", "Other"}


def test_ctrl_c_at_a_prompt_exits_130(seeded: Cli, terminal: Callable[..., Terminal]) -> None:
    term = terminal("connections", "list", home=seeded.home)
    term.expect("Vault password: ")
    term.type("\x03")
    assert term.wait() == 130
    assert "interrupted" in term.screen and "Traceback" not in term.screen


def test_a_key_field_reads_its_pem_from_a_file_given_as_at_path(
    cli: Cli, terminal: Callable[..., Terminal], rsa_pem: str, tmp_path: Path
) -> None:
    cli.init()
    key_file = tmp_path / "kalshi.key"
    key_file.write_text(rsa_pem)
    key_file.chmod(0o600)
    term = terminal(
        "connections", "add", "K", "--kind", "kalshi", home=cli.home, WATCHDOG_LAB_PASSWORD=PASSWORD
    )
    term.expect("or read from a file: @PATH at private_key_pem.")
    term.expect("api_key_id * (hidden): ")
    term.line(KEY_ID)
    term.expect("private_key_pem * (hidden): ")
    term.line(f"@{tmp_path / 'missing.key'}")
    term.expect("no such file.")
    term.expect("private_key_pem * (hidden): ")
    term.line(f"@{key_file}")
    term.expect("environment (demo|prod) [demo]: ")
    term.line("")
    assert term.wait() == 0, term.screen
    assert vault_contents(cli.home)["K"]["private_key_pem"] == rsa_pem.strip() + "\n"
    assert "PRIVATE KEY" not in term.screen


def test_at_path_is_an_ordinary_value_for_fields_not_kept_in_files(
    cli: Cli, terminal: Callable[..., Terminal]
) -> None:
    cli.init()
    term = terminal(
        "connections",
        "add",
        "A",
        "--kind",
        "anthropic",
        home=cli.home,
        WATCHDOG_LAB_PASSWORD=PASSWORD,
    )
    term.expect("api_key * (hidden): ")
    term.line("@not-a-path")
    assert term.wait() == 0, term.screen
    assert vault_contents(cli.home)["A"] == {"api_key": "@not-a-path"}
