"""``sync setup|status|push|pull|disable``: the vault through PostgreSQL, as ciphertext only.

The database is named by a vault connection of kind ``postgres``; its connection string is a
secret field like any other and is never an option. A home with no vault yet is made by
``sync pull``, which then needs the connection string before there is a vault to hold it: from
the ``WATCHDOG_LAB_SYNC_DSN`` environment variable (read and unset), the first line of standard
input with ``--dsn-stdin``, or a hidden prompt. The owner uuid is not secret (it is an option or
``WATCHDOG_LAB_SYNC_OWNER``). docs/sync.md has the whole story.
"""

from __future__ import annotations

import argparse
import os
import uuid

from ..sync import ConflictsFound, Report, Status, Sync, Target, clone
from ..sync.state import COLLECTIONS
from ..vault import VaultState
from .errors import InvalidInput, UsageError
from .passwords import current_password
from .session import VAULT_LABEL, Context, learn_secrets

DSN_ENV = "WATCHDOG_LAB_SYNC_DSN"
OWNER_ENV = "WATCHDOG_LAB_SYNC_OWNER"
DSN_MAX = 4096


def _print_report(ctx: Context, report: Report, verb: str) -> None:
    done = {
        verb: report.pushed or report.pulled,
        "removed": report.deleted,
        "already there": report.adopted,
    }
    for label, names in done.items():
        if names:
            ctx.console.out(f"{label}: {', '.join(sorted(names))}")
    if report.header_pushed:
        ctx.console.out("sent the vault's wrapped key (for new homes)")
    if not any(done.values()) and not report.header_pushed:
        ctx.console.out("Nothing to do: both sides agree.")
    for problem in report.problems:
        ctx.console.warn(problem)
    if report.conflicts:
        raise ConflictsFound(report.conflicts, f"{verb.capitalize()} the rest;")


def run_setup(ctx: Context, args: argparse.Namespace) -> int:
    collections = [c for c in COLLECTIONS if getattr(args, c)]
    with ctx.unlocked() as vault:
        owner = Sync(vault).setup(args.connection, collections, migrate=args.migrate)
    what = ", ".join(collections) if collections else "only the wrapped vault key"
    ctx.console.out(f"Sync set up with {args.connection!r}: syncing {what}.")
    ctx.console.out(f"Owner uuid (another home needs it: `sync pull --owner`): {owner}")
    if not collections:
        ctx.console.warn(
            "nothing but the wrapped key will sync; add --connections, --notebooks or --logs."
        )
    ctx.console.out("Send this home's vault with `watchdog-lab sync push`.")
    return 0


def run_disable(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.unlocked() as vault:
        Sync(vault).disable()
    ctx.console.out("Sync is off for this home; the database was left as it is.")
    return 0


def _status_json(status: Status) -> dict[str, object]:
    return {
        "configured": status.configured,
        "collections": status.collections,
        "records": [
            {
                "record_id": r.record_id or None,
                "name": r.name,
                "local_version": r.local_version,
                "remote_version": r.remote_version,
                "state": r.state,
            }
            for r in status.records
        ],
    }


def run_status(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.unlocked() as vault:
        status = Sync(vault).status()
    if args.json:
        ctx.console.json(_status_json(status))
        return 0
    if not status.configured:
        ctx.console.out("Sync is not set up (`watchdog-lab sync setup CONNECTION`).")
        return 0
    ctx.console.out(f"Syncing: {', '.join(status.collections) or 'only the wrapped vault key'}")
    for r in status.records:
        remote = "-" if r.remote_version is None else str(r.remote_version)
        label = r.name or "(not here)"
        ctx.console.out(
            f"  {r.state:<18} {label:<24} here v{r.local_version}  server v{remote}  "
            f"{r.record_id or '(new)'}"
        )
    return 0


def run_push(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.unlocked() as vault:
        report = Sync(vault).push(mine=args.mine or ())
    _print_report(ctx, report, "sent")
    return 0


def _read_dsn(ctx: Context, from_stdin: bool) -> str:
    if from_stdin:
        value = ctx.console.stdin.readline(DSN_MAX + 1).rstrip("\r\n")
        if not value:
            raise InvalidInput("--dsn-stdin: standard input held no connection string.")
    else:
        env = os.environ.pop(DSN_ENV, None)
        if env is not None:
            value = env
        else:
            ctx.console.require_interactive(
                "the sync database's connection string",
                f"Give it in the {DSN_ENV} environment variable or on standard input with "
                "--dsn-stdin.",
            )
            value = ctx.console.ask_hidden("Connection string: ", "the connection string")
    if len(value) > DSN_MAX:
        raise InvalidInput(f"the connection string is longer than {DSN_MAX} characters.")
    return value.strip()


def _read_owner(args: argparse.Namespace) -> str:
    owner = args.owner or os.environ.get(OWNER_ENV)
    if not owner:
        raise UsageError(
            f"give the owner uuid of the first home's sync connection with --owner or {OWNER_ENV}."
        )
    try:
        return str(uuid.UUID(owner))
    except ValueError:
        raise InvalidInput("the owner must be a uuid.") from None


def _clone(ctx: Context, args: argparse.Namespace) -> int:
    if args.theirs:
        raise UsageError("--theirs has nothing to choose from in a home without a vault.")
    target = Target(_read_dsn(ctx, args.dsn_stdin), _read_owner(args))
    ctx.console.remember([("sync", "dsn", target.dsn)])
    password = current_password(ctx.console, ctx.password_file)
    ctx.console.remember([(VAULT_LABEL, "password", password)])
    with ctx.vault() as vault:
        report = clone(vault, target, password)
        learn_secrets(ctx.console, vault)
    ctx.console.out(f"Made this home's vault from the sync database ({len(report.pulled)} pulled).")
    _print_report(ctx, report, "pulled")
    return 0


def run_pull(ctx: Context, args: argparse.Namespace) -> int:
    if ctx.vault().state is VaultState.ABSENT:
        return _clone(ctx, args)
    if args.dsn_stdin or args.owner:
        raise UsageError(
            "--dsn-stdin and --owner are for a home without a vault; this one syncs through "
            "its sync connection."
        )
    with ctx.unlocked() as vault:
        report = Sync(vault).pull(theirs=args.theirs or ())
    _print_report(ctx, report, "pulled")
    return 0


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: dict[str, argparse.ArgumentParser],
) -> None:
    common = [parents["home"], parents["password"]]
    sync = sub.add_parser(
        "sync",
        parents=common,
        help="sync the vault through a PostgreSQL database that holds ciphertext only",
        description="Sync the vault (off until set up) through PostgreSQL (Supabase works). "
        "The database sees only random ids, versions and ciphertext; see docs/sync.md.",
    )
    actions = sync.add_subparsers(dest="sync_command", required=True, metavar="ACTION")

    setup = actions.add_parser(
        "setup", parents=common, help="choose the postgres connection and what may sync"
    )
    setup.add_argument("connection", metavar="CONNECTION", help="a connection of kind postgres")
    setup.add_argument(
        "--connections", action="store_true", help="sync the vault's connections (opt-in)"
    )
    setup.add_argument(
        "--notebooks",
        action="store_true",
        help="sync bots' notebook versions (opt-in; other homes keep them in an archive that "
        "never runs)",
    )
    setup.add_argument(
        "--logs", action="store_true", help="sync bots' logs, their last 4 MiB (opt-in)"
    )
    setup.add_argument(
        "--migrate",
        action="store_true",
        help="create the tables first (needs a role that may create schemas; on Supabase run "
        "the migration in the SQL editor instead)",
    )
    setup.set_defaults(handler=run_setup)

    disable = actions.add_parser("disable", parents=common, help="stop syncing this home")
    disable.set_defaults(handler=run_disable)

    status = actions.add_parser("status", parents=common, help="what each side has changed")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=run_status)

    push = actions.add_parser("push", parents=common, help="send this home's changes")
    push.add_argument(
        "--mine",
        action="append",
        metavar="NAME",
        help="after a conflict, keep this home's NAME (or record id) over the server's",
    )
    push.set_defaults(handler=run_push)

    pull = actions.add_parser(
        "pull",
        parents=common,
        help="apply the server's changes (in a home without a vault: make it from the server)",
    )
    pull.add_argument(
        "--theirs",
        action="append",
        metavar="NAME",
        help="after a conflict, take the server's NAME (or record id) over this home's",
    )
    pull.add_argument(
        "--dsn-stdin",
        action="store_true",
        help="new home only: read the connection string from standard input's first line "
        f"(else {DSN_ENV}, else a hidden prompt)",
    )
    pull.add_argument(
        "--owner",
        metavar="UUID",
        help=f"new home only: the owner uuid of the first home's sync connection ({OWNER_ENV})",
    )
    pull.set_defaults(handler=run_pull)
