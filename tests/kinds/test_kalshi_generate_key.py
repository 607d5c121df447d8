"""``connections add --generate-key``: the private key goes into the vault and nowhere else.

The command runs as a real process under an audit hook that records every process it would
start (argv and environment), so "never in argv" is checked, not assumed. The printed public
key is then given to a real simulator, and the stored key signs requests it accepts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from watchdog_lab.sim.app import RunningSimulator, Simulator

from ..cli.conftest import FAST_KDF, PASSWORD, Cli, clean_env, vault_contents
from ..sim.conftest import http_call, kalshi_connection, register_key

# Runs the CLI with an audit hook that logs what any started process would receive.
HOOKED_CLI = """
import sys
log = open(sys.argv[1], "a")
def hook(event, args):
    if event in ("subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.system"):
        log.write(repr((event, args)) + "\\n")
        log.flush()
sys.addaudithook(hook)
from watchdog_lab.cli.app import main
sys.exit(main(sys.argv[2:]))
"""


def secret_pieces(private_pem: str) -> list[bytes]:
    """Every base64 line of the PEM and the private exponent's bytes: any of them is a leak."""
    lines = [line for line in private_pem.splitlines() if line and "-----" not in line]
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    d = key.private_numbers().d  # type: ignore[union-attr]
    return [line.encode() for line in lines] + [d.to_bytes((d.bit_length() + 7) // 8, "big")]


@pytest.fixture(scope="module")
def generated(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Cli, subprocess.CompletedProcess[str], Path]:
    """One vault with one generated key, shared: tests that change it work on a copy."""
    tmp_path = tmp_path_factory.mktemp("generated")
    cli = Cli(tmp_path / "home")
    cli.ok("init", *FAST_KDF)
    audit = tmp_path / "audit.log"
    audit.touch()
    args = [
        "connections",
        "add",
        "K",
        "--kind",
        "kalshi",
        "--generate-key",
        "--environment",
        "prod",
    ]
    done = subprocess.run(
        [sys.executable, "-c", HOOKED_CLI, str(audit), *args],
        capture_output=True,
        text=True,
        env=clean_env(cli.home, WATCHDOG_LAB_PASSWORD=PASSWORD),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return cli, done, audit


def test_only_the_public_half_is_printed_and_it_matches_the_stored_key(
    generated: tuple[Cli, subprocess.CompletedProcess[str], Path],
) -> None:
    cli, done, _ = generated
    stored = vault_contents(cli.home)["K"]
    assert stored["environment"] == "prod" and stored["api_key_id"] == "pending-kalshi-key-id"
    key = serialization.load_pem_private_key(stored["private_key_pem"].encode(), password=None)
    start = done.stdout.index("-----BEGIN PUBLIC KEY-----")
    end = done.stdout.index("-----END PUBLIC KEY-----") + len("-----END PUBLIC KEY-----")
    printed = serialization.load_pem_public_key(done.stdout[start:end].encode())
    assert printed.public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert "connections update K" in done.stdout and "/api_keys" in done.stdout


def test_the_private_key_is_in_no_output_file_or_argv(
    generated: tuple[Cli, subprocess.CompletedProcess[str], Path],
) -> None:
    cli, done, audit = generated
    pieces = secret_pieces(vault_contents(cli.home)["K"]["private_key_pem"])
    output = (done.stdout + done.stderr).encode()
    assert b"PRIVATE KEY" not in output
    assert not [p for p in pieces if p in output]
    files = [p for p in (cli.home, audit.parent) if p.exists()]
    for root in files:
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not [p for p in pieces if p in data], f"key material in {path}"


def test_the_recorded_key_id_makes_the_stored_key_sign_what_the_simulator_accepts(
    generated: tuple[Cli, subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    original, done, _ = generated
    cli = Cli(tmp_path / "home")
    shutil.copytree(original.home, cli.home)
    start = done.stdout.index("-----BEGIN PUBLIC KEY-----")
    public_pem = done.stdout[start : done.stdout.index("-----END PUBLIC KEY-----") + 24] + "\n"
    running = RunningSimulator(Simulator(seed=1))
    try:
        key_id = register_key(running.url, public_pem)
        update = json.dumps({"fields": {"api_key_id": key_id}})
        cli.ok("connections", "update", "K", "--from-json", "-", stdin=update)
        stored = vault_contents(cli.home)["K"]
        conn = kalshi_connection(stored["api_key_id"], stored["private_key_pem"], "prod")
        url = running.url + "/trade-api/v2/portfolio/balance"  # a prod key: no api_endpoint()
        status, body = http_call(url, "GET", headers=conn.sign_request("GET", url))
    finally:
        running.stop()
    assert status == 200 and "balance" in body


def test_generate_key_is_refused_for_other_kinds(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home")
    result = cli.run("connections", "add", "G", "--kind", "generic", "--generate-key")
    assert result.rc == 2 and "makes kalshi keys only" in result.err
