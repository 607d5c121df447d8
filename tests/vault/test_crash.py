"""Kill -9 in the middle of writing: the vault always reopens and every commit survives."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from watchdog_lab.vault import Vault

from .conftest import PASSWORD, open_vault

WRITER = textwrap.dedent(
    """
    import sys
    from watchdog_lab.vault import CreateConnection, KdfParams, RateLimitPolicy, Vault
    from watchdog_lab.vault import UpdateConnection
    policy = RateLimitPolicy(free_attempts=10**6)
    v = Vault(sys.argv[1], kdf=KdfParams(1, 8192, 1), rate_limit=policy)
    v.unlock(sys.argv[2])
    round_ = sys.argv[3]
    print("ready", flush=True)
    i = 0
    while True:
        name = f"r{round_}-c{i}"
        value = f"secret-{round_}-{i}-" + "x" * (i % 50)
        v.add_connection(CreateConnection(name=name, kind="generic", fields={"token": value}))
        v.update_connection(name, UpdateConnection(fields={"second": value[::-1]}))
        print(name, value, flush=True)
        i += 1
    """
)

ROUNDS = 12


def test_kill_9_mid_write_never_loses_a_committed_connection(vault: Vault, home: Path) -> None:
    vault.close()
    committed: dict[str, str] = {}
    rng = random.Random(1234)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for round_ in range(ROUNDS):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(home), PASSWORD, str(round_)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.02, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        # Only newline-terminated lines confirm a commit: the kill can tear the last one.
        for line in out.split("\n")[:-1]:
            name, value = line.split(" ")
            committed[name] = value
        reopened = open_vault(home)
        reopened.unlock(PASSWORD)
        listing = reopened.list_connections()
        assert all(c.status == "ok" for c in listing)
        for name, value in committed.items():
            fields = reopened.get_connection(name).fields
            assert fields["token"] == value
            assert fields["second"] == value[::-1]
        reopened.close()
    assert len(committed) > ROUNDS


def test_the_vault_writes_ahead_and_syncs_every_commit(vault: Vault) -> None:
    """What the kill -9 test above cannot see: a killed process leaves the page cache intact,
    so only the durability settings themselves prove that a power cut loses no commit."""
    store = vault.store
    assert store.query_one("PRAGMA journal_mode") == ("wal",)
    assert store.query_one("PRAGMA synchronous") == (2,)  # FULL: fsync at every commit
