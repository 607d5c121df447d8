"""``audit``: what was done to the vault and when; events carry names and field names, no values."""

from __future__ import annotations

import argparse

from . import render
from .session import Context

AUDIT_MAX = 1000


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if not 1 <= value <= AUDIT_MAX:
        raise argparse.ArgumentTypeError(f"must be between 1 and {AUDIT_MAX}")
    return value


def _seq(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def run_audit(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.unlocked() as vault:
        events = vault.audit_log(limit=args.limit, before=args.before)
    older = events[-1].seq if len(events) == args.limit and events[-1].seq > 1 else None
    if args.json:
        ctx.console.json(
            {"events": [e.model_dump(mode="json") for e in events], "next_before": older}
        )
        return 0
    if not events:
        ctx.console.out("No audit events.")
        return 0
    ctx.console.out(render.audit(events))
    if older is not None:
        ctx.console.out(f"(older events: watchdog-lab audit --before {older})")
    return 0


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: dict[str, argparse.ArgumentParser],
) -> None:
    audit = sub.add_parser(
        "audit",
        parents=[parents["home"], parents["password"]],
        help="show the audit log, newest first",
    )
    audit.add_argument("--json", action="store_true", help="print the events as JSON")
    audit.add_argument(
        "--limit", type=_limit, default=50, metavar="N", help="at most N events (default 50)"
    )
    audit.add_argument(
        "--before", type=_seq, metavar="SEQ", help="only events older than sequence number SEQ"
    )
    audit.set_defaults(handler=run_audit)
