"""``watchdog-lab sim kalshi`` as a real process: it serves, checks keys, and stays on loopback."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from watchdog_lab.kinds.kalshi import generate_key
from watchdog_lab.sim.app import Simulator

from .conftest import http_call, kalshi_connection

CLI = [sys.executable, "-m", "watchdog_lab.cli", "sim", "kalshi"]
START_SECONDS = 20


def read_banner(process: subprocess.Popen[str]) -> str:
    """The lines printed before the simulator waits, up to its Ctrl-C hint."""
    assert process.stdout is not None
    text, deadline = "", time.monotonic() + START_SECONDS
    while "Ctrl-C" not in text:
        ready, _, _ = select.select([process.stdout], [], [], max(0, deadline - time.monotonic()))
        assert ready, f"the simulator printed no banner: {text!r}"
        # os.read, not readline: a buffered reader would keep lines select() cannot see.
        chunk = os.read(process.stdout.fileno(), 65536).decode()
        assert chunk, f"the simulator exited: {text!r}"
        text += chunk
    return text


def test_the_command_serves_the_seeds_markets_and_accepts_a_key_given_by_file(
    tmp_path: Path,
) -> None:
    pair = generate_key()
    key_file = tmp_path / "kalshi.pub"
    key_file.write_text(pair.public_pem)
    args = ["--port", "0", "--seed", "5", "--public-key", str(key_file)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHDOG_LAB_")}
    process = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        banner = read_banner(process)
        found = re.search(r"on (http://127\.0\.0\.1:\d+)/trade-api/v2", banner)
        key_id = re.search(r"Key (\S+) from ", banner)
        assert found and key_id, banner
        conn = kalshi_connection(key_id.group(1), pair.private_pem)
        url = conn.api_endpoint(host=found.group(1)).base_url + "/portfolio/balance"
        status, body = http_call(url, "GET", headers=conn.sign_request("GET", url))
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=START_SECONDS)
    assert status == 200 and "balance" in body
    assert f"Markets: {', '.join(Simulator(seed=5).exchange.markets)}" in banner
    assert process.returncode == 130


def test_the_command_refuses_to_listen_beyond_this_machine() -> None:
    done = subprocess.run(
        [*CLI, "--host", "0.0.0.0", "--port", "0"],  # noqa: S104 - the refused case
        capture_output=True,
        text=True,
        timeout=START_SECONDS,
        check=False,
    )
    assert done.returncode == 1 and "listens on this machine only" in done.stderr


def test_a_private_key_given_as_public_key_is_refused_without_quoting_it(tmp_path: Path) -> None:
    private_pem = generate_key().private_pem
    key_file = tmp_path / "oops.pem"
    key_file.write_text(private_pem)
    done = subprocess.run(
        [*CLI, "--port", "0", "--public-key", str(key_file)],
        capture_output=True,
        text=True,
        timeout=START_SECONDS,
        check=False,
    )
    assert done.returncode == 1 and "give only the public half" in done.stderr
    body = [line for line in private_pem.splitlines() if "-----" not in line]
    assert not [line for line in body if line in done.stdout + done.stderr]
