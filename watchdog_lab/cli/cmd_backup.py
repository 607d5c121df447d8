"""``backup create | list | verify [ID] | restore ID [--into DIR] | prune``.

Listing and pruning read only the snapshots' clear headers: no password. Creating and verifying
need the vault's backup key (the vault is unlocked for it); restoring opens the snapshot with
the password it was made under, which may be an older one than the vault's today.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from ..backup import (
    BackupKey,
    BackupManager,
    check_backup_id,
    key_from_password,
    key_from_vault,
)
from ..backup.environments import (
    EnvironmentBuilder,
    RebuildReport,
    bots_without_venv,
    rebuild_environments,
)
from ..backup.keys import restore_keys
from ..vault import VAULT_FILE, Vault, VaultError, VaultState
from . import render
from .passwords import current_password
from .session import VAULT_LABEL, Context


def _manager(ctx: Context) -> BackupManager:
    manager = BackupManager(ctx.home, retention_days=ctx.settings.backup_retention_days)
    done = manager.recover()
    if done is not None:
        ctx.console.note(f"note: {done}.")
    return manager


def run_create(ctx: Context, args: argparse.Namespace) -> int:
    manager = _manager(ctx)
    with ctx.unlocked() as vault:
        created = manager.create(key_from_vault(vault), "manual")
    pruned = manager.prune()
    if args.json:
        ctx.console.json({**created.model_dump(mode="json"), "pruned": pruned})
        return 0
    ctx.console.out(f"Backup {created.id} written ({created.size_bytes} bytes).")
    if pruned:
        ctx.console.out(f"Removed {len(pruned)} backup(s) older than the retention.")
    return 0


def run_list(ctx: Context, args: argparse.Namespace) -> int:
    backups = _manager(ctx).list()
    if args.json:
        ctx.console.json({"backups": [b.model_dump(mode="json") for b in backups]})
        return 0
    if not backups:
        ctx.console.out("No backups yet (`watchdog-lab backup create`).")
        return 0
    rows = [[b.id, b.created_at, b.reason, str(b.size_bytes)] for b in backups]
    ctx.console.out(render.table(["ID", "CREATED (UTC)", "REASON", "BYTES"], rows))
    return 0


def _current_key(ctx: Context) -> BackupKey:
    with ctx.unlocked() as vault:
        return key_from_vault(vault, "Verifying a backup")


def run_verify(ctx: Context, args: argparse.Namespace) -> int:
    manager = _manager(ctx)
    ids = [check_backup_id(args.id)] if args.id else [b.id for b in manager.list()]
    if args.id:
        manager.header(args.id)  # an unknown id is said before any password is asked
    if not ids:
        ctx.console.out("No backups to verify.")
        return 0
    if (Path(str(ctx.home)) / VAULT_FILE).exists():
        key = _current_key(ctx)
        results = [manager.verify(backup_id, key) for backup_id in ids]
    else:  # no vault here (lost, or a copy of backups/ alone): each opens with its password
        password = current_password(ctx.console, ctx.password_file)
        ctx.console.remember([(VAULT_LABEL, "password", password)])
        results = [
            manager.verify(backup_id, key_from_password(manager.header(backup_id), password))
            for backup_id in ids
        ]
    if args.json:
        ctx.console.json({"results": [r.model_dump(mode="json") for r in results]})
    else:
        for result in results:
            if result.ok:
                ctx.console.out(f"{result.id}: ok ({result.checked_files} file(s))")
            else:
                ctx.console.out(f"{result.id}: FAILED: {'; '.join(result.problems)}")
    return 0 if all(r.ok for r in results) else 1


def run_restore(ctx: Context, args: argparse.Namespace) -> int:
    manager = _manager(ctx)
    backup_id = check_backup_id(args.id)
    header = manager.header(backup_id)
    password = current_password(ctx.console, ctx.password_file)
    ctx.console.remember([(VAULT_LABEL, "password", password)])
    if args.into is not None:
        key = key_from_password(header, password)
        restored = manager.restore_into(backup_id, key, Path(args.into))
    else:
        keys = restore_keys(header, password, Path(str(ctx.home)) / VAULT_FILE)
        restored = manager.restore_in_place(backup_id, keys.snapshot, lambda: keys.current)
    home = Path(args.into) if args.into is not None else Path(str(ctx.home))
    report = _rebuild(ctx, home, password)
    if args.json:
        ctx.console.json(
            {**restored.model_dump(mode="json"), "rebuilt": report.rebuilt, "failed": report.failed}
        )
        return 0
    where = f"into {args.into}" if args.into is not None else "in place"
    ctx.console.out(
        f"Restored backup {restored.id} (made {restored.restored_from}) {where}: "
        f"{restored.connections} connection(s), {restored.bots} bot(s)."
    )
    if restored.safety_backup:
        ctx.console.out(
            f"What was there before is in backup {restored.safety_backup} "
            f"(`watchdog-lab backup restore {restored.safety_backup}` undoes this restore)."
        )
    ctx.console.out("The vault opens with the password it had when the backup was made.")
    if report.rebuilt:
        ctx.console.out(f"Rebuilt the environment of {len(report.rebuilt)} bot(s).")
    for bot_id, problem in report.failed.items():
        ctx.console.warn(f"bot {bot_id}: its environment could not be rebuilt: {problem}")
    return 0


def _rebuild(ctx: Context, home: Path, password: str) -> RebuildReport:
    """Venvs for the restored bots that have none; with the restored vault unlocked when its
    password is this one (no second factor to ask), so a bot restored into another folder can
    have its lock sealed again for the venv built there."""
    if not bots_without_venv(home):
        return RebuildReport()
    configured = ctx.settings.uv_cache_dir
    # This home's cache (the new folder has none yet: everything would be fetched again).
    cache = Path(configured).expanduser() if configured else Path(str(ctx.home)) / "cache" / "uv"
    builder = EnvironmentBuilder(cache_dir=cache.absolute(), wheels_only=ctx.settings.wheels_only)
    vault = Vault(home, kdf=ctx.settings.kdf)
    try:
        if not vault.totp_enabled:
            with contextlib.suppress(VaultError):
                vault.unlock(password)
        unlocked = vault if vault.state is VaultState.UNLOCKED else None
        return rebuild_environments(home, builder, unlocked, lambda line: None)
    finally:
        vault.close()


def run_prune(ctx: Context, args: argparse.Namespace) -> int:
    manager = _manager(ctx)
    removed = manager.prune()
    if args.json:
        ctx.console.json({"removed": removed, "retention_days": manager.retention_days})
        return 0
    ctx.console.out(
        f"Removed {len(removed)} backup(s) older than {manager.retention_days} day(s)"
        + (f": {', '.join(removed)}." if removed else ".")
    )
    return 0


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: dict[str, argparse.ArgumentParser],
) -> None:
    backup = sub.add_parser(
        "backup",
        help="encrypted snapshots of the vault and the bots: create, list, verify, restore",
        description="Snapshots live in <home>/backups/, sealed under a key derived from the "
        "vault's data key. See docs/backups.md.",
    )
    actions = backup.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = [parents["home"], parents["password"]]

    create = actions.add_parser("create", parents=common, help="write a snapshot now")
    create.set_defaults(handler=run_create)

    listing = actions.add_parser("list", parents=[parents["home"]], help="snapshots, newest first")
    listing.set_defaults(handler=run_list)

    verify = actions.add_parser(
        "verify", parents=common, help="decrypt and check one snapshot (or all of them)"
    )
    verify.add_argument("id", nargs="?", metavar="ID", help="the backup's id (default: all)")
    verify.set_defaults(handler=run_verify)

    restore = actions.add_parser(
        "restore",
        parents=common,
        help="restore a snapshot in place (saving the current state first) or into a new folder",
    )
    restore.add_argument("id", metavar="ID", help="the backup's id, as `backup list` shows it")
    restore.add_argument(
        "--into", metavar="DIR", help="restore into DIR (absent or empty) instead of in place"
    )
    restore.set_defaults(handler=run_restore)

    prune = actions.add_parser(
        "prune",
        parents=[parents["home"]],
        help="delete snapshots older than c.WatchdogLab.backup_retention_days (newest kept)",
    )
    prune.set_defaults(handler=run_prune)

    for parser in (create, listing, verify, restore, prune):
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
