"""Backups: create and verify a snapshot of a realistic home, beside the strongest simple peer.

Scenario: a real vault (cheap Argon2, everything else real) with 1,000 connections, and 20 bots
as promote leaves them (registry entry, two sealed notebook versions, packages.lock, bot.json)
with a ``state/`` of 8 files each (nested folders; 1 MiB per bot, 20 MiB in all).

Prints, side by side, for WatchDog Lab's snapshot and for the baseline:
- create: median and worst wall time of several runs (the vault copied with SQLite's online
  backup API, every file streamed through AES-256-GCM in 1 MiB records, fsync, rename);
- verify: decrypt and check every record;
- the file's size, and the peak Python memory of one create (``tracemalloc``);
against the 1 s target for create and verify. The baseline is what one would write by hand:
``sqlite3`` ``.backup`` (the same online backup API), ``tar`` of the bot files, and the whole
tarball encrypted with the same AES-256-GCM in one shot (verify: decrypt, read every member).

Then checks the result is right: the snapshot is restored into a new folder and every
connection's values, the registry and every bot file are compared with the original (and the
baseline's tarball is decrypted and compared the same way).

Run: ``python benchmarks/bench_backup.py`` (about 30 s on a 2-core machine).
"""

from __future__ import annotations

import io
import os
import sqlite3
import statistics
import sys
import tarfile
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

# Run from a checkout without installing: the repository root holds the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.backup.conftest import make_bot, open_vault
from watchdog_lab.backup import BackupManager, key_from_vault
from watchdog_lab.bots.registry import BotRegistry
from watchdog_lab.vault import CreateConnection

CONNECTIONS = 1000
BOTS = 20
STATE_FILES = 8
STATE_BYTES_PER_BOT = 1024 * 1024
RUNS = 5
TARGET_S = 1.0
PASSWORD = "benchmark passphrase"


def build_home(home: Path):  # type: ignore[no-untyped-def]
    vault = open_vault(home)
    vault.create(PASSWORD)
    for i in range(CONNECTIONS):
        vault.add_connection(
            CreateConnection(
                name=f"exchange-{i:04d}",
                kind="generic",
                fields={"api_key": os.urandom(16).hex(), "secret": os.urandom(32).hex()},
            )
        )
    ids = [c.id for c in vault.list_connections()]
    for b in range(BOTS):
        bot = make_bot(vault, f"bot-{b:02d}", ids[b : b + 2])
        size = STATE_BYTES_PER_BOT // STATE_FILES
        for f in range(STATE_FILES):
            target = bot.paths.state / f"series/{f % 3}/part-{f}.bin"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(os.urandom(size))
    return vault


def bot_files(home: Path) -> list[Path]:
    out = []
    for bot in sorted((home / "bots").iterdir()):
        for name in ("bot.json", "packages.lock"):
            out.append(bot / name)
        for folder in ("notebook", "state"):
            out += sorted(p for p in (bot / folder).rglob("*") if p.is_file())
    return out


def baseline_create(home: Path, out: Path, key: bytes) -> None:
    """sqlite3 .backup + tar + one-shot AES-256-GCM, written with fsync and rename."""
    work = Path(tempfile.mkdtemp(dir=out.parent))
    copy = work / "vault.db"
    src, dst = sqlite3.connect(home / "vault.db"), sqlite3.connect(copy)
    src.backup(dst)
    dst.close()
    src.close()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(copy, arcname="vault.db")
        for path in bot_files(home):
            tar.add(path, arcname=str(path.relative_to(home)))
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, buffer.getvalue(), b"baseline")
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        handle.write(sealed)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(tmp, out)
    copy.unlink()
    work.rmdir()


def baseline_verify(out: Path, key: bytes) -> dict[str, bytes]:
    data = out.read_bytes()
    plain = AESGCM(key).decrypt(data[:12], data[12:], b"baseline")
    files = {}
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            if handle is not None:
                files[member.name] = handle.read()
    return files


def timed(work: Callable[[], object], runs: int = RUNS) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def peak_memory(work: Callable[[], object]) -> int:
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def check_restored(vault, manager: BackupManager, backup_id: str, root: Path) -> None:  # type: ignore[no-untyped-def]
    target = root / "restored"
    manager.restore_into(backup_id, key_from_vault(vault), target)
    copy = open_vault(target)
    copy.unlock(PASSWORD)
    original = {c.name: vault.get_connection(c.name).fields for c in vault.list_connections()}
    restored = {c.name: copy.get_connection(c.name).fields for c in copy.list_connections()}
    assert len(original) == CONNECTIONS and restored == original, "connections differ"
    assert BotRegistry(copy.store).list() == BotRegistry(vault.store).list(), "registry differs"
    home = vault.home
    for path in bot_files(home):
        assert (target / path.relative_to(home)).read_bytes() == path.read_bytes(), path
    copy.close()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "home"
        started = time.perf_counter()
        vault = build_home(home)
        print(
            f"home: {CONNECTIONS} connections, {BOTS} bots, "
            f"{len(bot_files(home))} bot files, built in {time.perf_counter() - started:.1f} s"
        )
        key = key_from_vault(vault)
        manager = BackupManager(home)
        made: list[str] = []

        def ours_create() -> None:
            made.append(manager.create(key).id)

        ours_c = timed(ours_create)
        ours_v = timed(lambda: manager.verify(made[-1], key))
        assert manager.verify(made[-1], key).ok
        ours_size = manager.path_of(made[-1]).stat().st_size
        ours_mem = peak_memory(ours_create)

        base_out = root / "baseline.bin"
        base_c = timed(lambda: baseline_create(home, base_out, key.key))
        base_v = timed(lambda: baseline_verify(base_out, key.key))
        base_size = base_out.stat().st_size
        base_mem = peak_memory(lambda: baseline_create(home, base_out, key.key))

        rows = [
            ("create median / worst", ours_c, base_c),
            ("verify median / worst", ours_v, base_v),
        ]
        print(f"\n{'':24}{'WatchDog Lab snapshot':>26}{'sqlite .backup+tar+GCM':>26}")
        for label, ours, base in rows:
            print(
                f"{label:24}{ours[0] * 1000:>15.0f} / {ours[1] * 1000:>4.0f} ms"
                f"{base[0] * 1000:>15.0f} / {base[1] * 1000:>4.0f} ms"
            )
        print(f"{'file size':24}{ours_size / 1e6:>23.2f} MB{base_size / 1e6:>23.2f} MB")
        print(f"{'peak memory (create)':24}{ours_mem / 1e6:>23.1f} MB{base_mem / 1e6:>23.1f} MB")

        check_restored(vault, manager, made[-1], root)
        files = baseline_verify(base_out, key.key)
        for path in bot_files(home):
            assert files[str(path.relative_to(home))] == path.read_bytes(), path
        print("\ncheck: restored snapshot and baseline tarball equal the original: ok")
        ok = ours_c[1] < TARGET_S and ours_v[1] < TARGET_S
        print(f"target: create and verify under {TARGET_S:.0f} s: {'met' if ok else 'MISSED'}")
        vault.close()
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
