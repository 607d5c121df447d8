"""One whole headless session, run once, then checked a behaviour per test.

init -> add from JSON -> add through hidden prompts on a real terminal -> list / show (text and
JSON) -> update -> rename -> remove -> password change -> audit -> doctor.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import (
    FAST_KDF,
    KEY_ID,
    PASSWORD,
    Cli,
    Result,
    Terminal,
    clean_env,
    kalshi_json,
    make_rsa_pem,
)

NEW_PASSWORD = "a new and longer passphrase"
KEY_ID_2 = "f0e1d2c3-b4a5-4697-8899-aabbccddeeff"
KEY_ID_3 = "0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9"


@dataclass
class Session:
    cli: Cli
    pem: str
    pem_typed: str
    steps: dict[str, Result] = field(default_factory=dict)
    screen: str = ""
    screen_rc: int | None = None

    def outputs(self) -> list[str]:
        return [r.text for r in self.cli.transcript] + [self.screen]

    def secrets(self) -> list[str]:
        pem_lines = [
            line
            for pem in (self.pem, self.pem_typed)
            for line in pem.splitlines()
            if line and not line.startswith("-----")
        ]
        return [PASSWORD, NEW_PASSWORD, KEY_ID, KEY_ID_2, KEY_ID_3, *pem_lines]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, rsa_pem: str) -> Session:
    home = tmp_path_factory.mktemp("happy") / "home"
    s = Session(Cli(home), rsa_pem, make_rsa_pem())
    run, steps = s.cli.run, s.steps
    steps["init"] = run("init", *FAST_KDF)
    steps["add_json"] = run(
        "connections", "add", "Kalshi", "--from-json", "-", stdin=kalshi_json(rsa_pem)
    )

    term = Terminal(["connections", "add", "Kalshi Prod", "--kind", "kalshi"], clean_env(home))
    term.expect("Vault password: ")
    term.line(PASSWORD)
    term.expect("api_key_id * (hidden): ")
    term.line(KEY_ID_2)
    term.expect("private_key_pem * (hidden): ")
    term.type(s.pem_typed)
    term.expect("environment (demo|prod) [demo]: ")
    term.line("prod")
    s.screen_rc = term.wait()
    s.screen = term.screen

    steps["list"] = run("connections", "list")
    steps["list_json"] = run("connections", "list", "--json")
    steps["show"] = run("connections", "show", "Kalshi")
    steps["show_json"] = run("connections", "show", "kalshi", "--json")
    steps["update"] = run(
        "connections",
        "update",
        "Kalshi",
        "--from-json",
        "-",
        stdin=json.dumps({"fields": {"api_key_id": KEY_ID_3}}),
    )
    steps["show_updated"] = run("connections", "show", "Kalshi", "--json")
    steps["rename"] = run("connections", "rename", "Kalshi Prod", "Kalshi Live")
    steps["remove"] = run("connections", "remove", "Kalshi", "--yes")
    steps["after_remove"] = run("connections", "list", "--json")
    steps["password"] = run(
        "password", "change", *FAST_KDF, env={"WATCHDOG_LAB_NEW_PASSWORD": NEW_PASSWORD}
    )
    steps["old_password"] = run("connections", "list")
    steps["new_password"] = run("connections", "list", "--json", password=NEW_PASSWORD)
    steps["audit"] = run("audit", password=NEW_PASSWORD)
    steps["audit_json"] = run("audit", "--json", "--limit", "1000", password=NEW_PASSWORD)
    steps["audit_page1"] = run("audit", "--json", "--limit", "3", password=NEW_PASSWORD)
    older = str(steps["audit_page1"].json()["next_before"])  # type: ignore[index]
    steps["audit_page2"] = run(
        "audit", "--json", "--limit", "3", "--before", older, password=NEW_PASSWORD
    )
    steps["doctor"] = run("doctor", password=None)
    steps["doctor_json"] = run("doctor", "--json", password=None)
    return s


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_a_private_vault(session: Session) -> None:
    assert session.steps["init"].rc == 0
    assert _mode(session.cli.home) == 0o700
    assert _mode(session.cli.home / "vault.db") == 0o600


def test_add_from_json_prints_only_masked_fields(session: Session) -> None:
    added = session.steps["add_json"]
    assert added.rc == 0, added.err
    shown = dict(line.split() for line in added.out.split("fields (masked):\n")[1].splitlines())
    assert shown == {"api_key_id": "a95***", "environment": "demo", "private_key_pem": "***"}


def test_add_through_prompts_stores_what_was_typed(session: Session) -> None:
    assert session.screen_rc == 0, session.screen
    listed = {c["name"]: c for c in session.steps["list_json"].json()["connections"]}
    assert listed["Kalshi Prod"]["fields"] == {
        "api_key_id": "f0e***",
        "environment": "prod",
        "private_key_pem": "***",
    }


def test_hidden_prompts_do_not_echo_what_is_typed(session: Session) -> None:
    screen = session.screen
    assert "prod" in screen  # the public field is echoed: the screen does show typed text
    for secret in [PASSWORD, KEY_ID_2, *session.pem_typed.splitlines()[1:-1]]:
        assert secret not in screen


def test_list_shows_every_connection_masked(session: Session) -> None:
    text = session.steps["list"].out
    lines = {line.split("  ")[0]: line for line in text.splitlines()[1:]}
    assert set(lines) == {"Kalshi", "Kalshi Prod"}
    assert "api_key_id=a95***" in lines["Kalshi"]
    assert "private_key_pem=***" in lines["Kalshi"]


def test_show_json_is_the_masked_description(session: Session) -> None:
    shown = session.steps["show_json"].json()
    assert shown["name"] == "Kalshi"  # looked up as "kalshi": names are case-insensitive
    assert shown["fields"] == {
        "api_key_id": "a95***",
        "environment": "demo",
        "private_key_pem": "***",
    }
    assert "id:" in session.steps["show"].out and "Kalshi" in session.steps["show"].out


def test_update_changes_only_the_given_field(session: Session) -> None:
    assert session.steps["update"].rc == 0, session.steps["update"].err
    fields = session.steps["show_updated"].json()["fields"]
    assert fields == {"api_key_id": "0a1***", "environment": "demo", "private_key_pem": "***"}


def test_rename_and_remove(session: Session) -> None:
    assert session.steps["rename"].rc == 0
    assert session.steps["remove"].rc == 0
    names = [c["name"] for c in session.steps["after_remove"].json()["connections"]]
    assert names == ["Kalshi Live"]


def test_password_change_retires_the_old_password(session: Session) -> None:
    assert session.steps["password"].rc == 0, session.steps["password"].err
    old = session.steps["old_password"]
    assert old.rc == 1 and old.err == "error: Wrong vault password.\n"
    names = [c["name"] for c in session.steps["new_password"].json()["connections"]]
    assert names == ["Kalshi Live"]


def test_audit_lists_what_happened(session: Session) -> None:
    events = [e["event"] for e in session.steps["audit_json"].json()["events"]]
    for expected in (
        "vault.created",
        "connection.added",
        "connection.updated",
        "connection.renamed",
        "connection.removed",
        "vault.password_changed",
        "vault.unlock_failed",
    ):
        assert expected in events
    text = session.steps["audit"].out
    assert "connection.renamed" in text and "renamed from Kalshi Prod" in text


def test_audit_pages_back_with_before(session: Session) -> None:
    page1 = session.steps["audit_page1"].json()
    page2 = session.steps["audit_page2"].json()
    seqs1 = [e["seq"] for e in page1["events"]]
    seqs2 = [e["seq"] for e in page2["events"]]
    assert len(seqs1) == len(seqs2) == 3
    assert seqs1 == sorted(seqs1, reverse=True) and page1["next_before"] == seqs1[-1]
    assert max(seqs2) < min(seqs1)


def test_doctor_reports_the_vault_and_its_modes(session: Session) -> None:
    report = session.steps["doctor_json"].json()
    assert report["vault"] == {"state": "locked", "totp_enabled": False, "error": None}
    assert report["home"]["mode"] == "0700" and not report["home"]["too_open"]
    assert report["vault_file"]["mode"] == "0600"
    assert report["sandbox"]["best"] in {"landlock", "bubblewrap", "unsandboxed"}
    assert "locked, two-factor off" in session.steps["doctor"].out


def test_no_secret_appears_in_any_output(session: Session) -> None:
    outputs = session.outputs()
    assert len(outputs) == len(session.steps) + 1
    for secret in session.secrets():
        for text in outputs:
            assert secret not in text
