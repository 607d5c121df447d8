"""The CLI and the server change the vault at the same time, from many processes.

Twenty processes make fifty changes each. Half run the real ``watchdog-lab`` command (its
``main``, fifty times in one process, so the test pays one interpreter start per process, not
per change; each call still opens, unlocks, changes and closes the vault as a separate run
does): they add a connection, then update its value 49 times. The other half send REST requests
to a real ``jupyter server`` process, which holds the vault open throughout: they add a
connection, then rename it 49 times. Every change must be committed exactly once (each
connection there once, under its last name, with its last value; one audit event per change),
and no caller may see SQLite's "database is locked".

The CLI processes unlock fifty times each, ten at once. The unlock throttle counts an attempt
before its Argon2 run and forgives it after, so attempts still in flight look like failures to
the others, and ten parallel correct passwords would be told "too many failed attempts": a
policy, not a lock, so the CLI processes here allow more free attempts (as the bot tests'
vault does).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from watchdog_lab.vault import KdfParams, Vault, VaultBusy, store
from watchdog_lab.vault.audit import Event

from ..server.botapi import http_json, start_server

PASSWORD = "correct horse battery staple"
FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
PROCESSES = 20
CHANGES = 50
#: How long one writer process may take before the test gives up on it (a hang, not a figure).
BUDGET_SECONDS = 60.0

_WORKER = textwrap.dedent(
    """
    import contextlib, io, json, os, sys, urllib.error, urllib.parse, urllib.request
    role, index, home, url, token, changes = sys.argv[1:7]
    index, changes = int(index), int(changes)
    problems = []

    def cli(*args):
        from watchdog_lab.cli.app import main
        from watchdog_lab.vault.ratelimit import RateLimitPolicy

        RateLimitPolicy.__init__.__defaults__ = (10_000, 1.0, 900.0)  # see the module doc
        err = io.StringIO()
        secret = os.path.join(os.environ["WORK"], "password")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            rc = main(["--home", home, "--password-file", secret, *args])
        if rc != 0:
            problems.append(err.getvalue().strip() or f"exit {rc}")

    def rest(path, body):
        request = urllib.request.Request(
            f"{url}watchdog-lab/{path}", data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            problems.append(f"{exc.code} {exc.read().decode(errors='replace')}")

    base = f"{role}-{index}"
    for n in range(changes):
        if role == "rest":
            if n == 0:
                rest("connections", {"name": f"{base}-0", "kind": "generic",
                                     "fields": {"token": f"secret-{base}"}})
            else:
                old = urllib.parse.quote(f"{base}-{n - 1}", safe="")
                rest(f"connections/{old}/rename", {"new_name": f"{base}-{n}"})
            continue
        doc = os.path.join(os.environ["WORK"], f"{n}.json")
        fd = os.open(doc, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            kind = {"kind": "generic"} if n == 0 else {}
            json.dump({**kind, "fields": {"token": f"secret-{base}-{n}"}}, handle)
        cli("connections", "add" if n == 0 else "update", base, "--from-json", doc)
    print(json.dumps(problems))
    """
)


def test_twenty_cli_and_rest_writers_commit_every_change_once_without_database_is_locked(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with Vault(home, kdf=FAST_KDF) as vault:
        vault.create(PASSWORD)
    server = start_server(tmp_path / "server", home, tmp_path / "notebooks")
    try:
        code, body = http_json(server, "POST", "vault/unlock", {"password": PASSWORD})
        assert code == 200, body
        workers = []
        for index in range(PROCESSES):
            role = "cli" if index % 2 == 0 else "rest"
            work = tmp_path / f"work-{index}"
            work.mkdir(mode=0o700)
            (work / "password").write_text(PASSWORD + "\n")
            (work / "password").chmod(0o600)
            env = {"PATH": "/usr/bin:/bin", "WORK": str(work), "HOME": str(work)}
            argv = [sys.executable, "-c", _WORKER, role, str(index), str(home), server.url]
            argv += [server.token, str(CHANGES)]
            workers.append(
                subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            )
        problems: list[str] = []
        for worker in workers:
            out, err = worker.communicate(timeout=BUDGET_SECONDS * 3)
            assert worker.returncode == 0, err.decode(errors="replace")[-2000:]
            problems += json.loads(out)
    finally:
        assert server.terminate() == 0, server.log()[-3000:]
    assert problems == [], problems[:5]
    assert "database is locked" not in server.log()

    last = CHANGES - 1
    with Vault(home, kdf=FAST_KDF) as vault:
        vault.unlock(PASSWORD)
        names = Counter(c.name for c in vault.list_connections())
        values = {name: vault.get_connection(name).fields["token"] for name in names}
        events = dict(vault.store.query("SELECT event, COUNT(*) FROM audit GROUP BY event"))
    expected = {}
    for index in range(PROCESSES):
        if index % 2 == 0:
            expected[f"cli-{index}"] = f"secret-cli-{index}-{last}"
        else:
            expected[f"rest-{index}-{last}"] = f"secret-rest-{index}"
    assert set(names.values()) == {1}
    assert values == expected
    per_role = PROCESSES // 2
    assert events[Event.CONNECTION_ADDED.value] == PROCESSES
    assert events[Event.CONNECTION_UPDATED.value] == per_role * (CHANGES - 1)
    assert events[Event.CONNECTION_RENAMED.value] == per_role * (CHANGES - 1)


def _hold_write_lock(path: Path, seconds: float, held: threading.Event) -> None:
    """Another process's writer, as SQLite sees it: a connection of its own that takes the
    write lock and keeps it."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        db.execute("ROLLBACK")
    finally:
        db.close()


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> float:
    """SQLite's own wait cut to 50 ms, the store's retries to half a second: the same code
    paths as the ten and thirty seconds of a real vault, in a fraction of the time."""
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(store, "BUSY_RETRY_SECONDS", 0.5)
    return 0.5


def test_a_writer_kept_out_past_the_busy_timeout_tries_again_and_commits(
    tmp_path: Path, short_busy_timeout: float
) -> None:
    db = store.Store(tmp_path / "vault.db")
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(db.path, 0.3, held))
    holder.start()
    held.wait(5)
    with db.transaction() as tx:  # SQLite alone would say "database is locked" after 50 ms
        tx.execute("INSERT INTO bots (id, name, created_at, config) VALUES ('a', 'a', 0, '{}')")
    holder.join()
    assert db.query("SELECT id FROM bots") == [("a",)]
    db.close()


def test_a_writer_kept_out_for_good_is_told_the_vault_is_busy_and_nothing_changes(
    tmp_path: Path, short_busy_timeout: float
) -> None:
    db = store.Store(tmp_path / "vault.db")
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(db.path, 1.0, held))
    holder.start()
    held.wait(5)
    with pytest.raises(VaultBusy, match="The vault is busy"), db.transaction() as tx:
        tx.execute("INSERT INTO bots (id, name, created_at, config) VALUES ('b', 'b', 0, '')")
    holder.join()
    assert db.query("SELECT id FROM bots") == []
    db.close()
