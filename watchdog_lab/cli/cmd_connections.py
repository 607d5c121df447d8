"""``connections add|list|show|update|rename|remove|kinds``: the contents, masked on the way out.

The kinds a connection may have, their fields and how they are asked for all come from the
kinds registry (:mod:`watchdog_lab.kinds`). The one exception is ``add --generate-key``, which
makes a Kalshi key pair in this process: the private half goes straight into the vault, and
only the public half is printed, for the user to give Kalshi.
"""

from __future__ import annotations

import argparse

from ..kinds import FieldSpec, KindSpec, all_kinds, kalshi
from ..vault import (
    ConnectionNotFound,
    CreateConnection,
    DescribeConnection,
    DuplicateConnection,
    ListConnectionsResponse,
    UpdateConnection,
    Vault,
    resolve_kind,
)
from ..vault.kinds import describe_kinds, validate_name
from . import render
from .errors import Aborted, InvalidInput, UsageError
from .jsoninput import connection_to_add, fields_to_update, read_document
from .prompts import ask_fields
from .session import Context, remember_fields


def _print_connection(ctx: Context, args: argparse.Namespace, c: DescribeConnection) -> None:
    if getattr(args, "json", False):
        ctx.console.json(c.model_dump(mode="json"))


def _check_free(vault: Vault, name: str) -> None:
    """Refuse a taken name before the user types a whole key for nothing."""
    try:
        existing = vault.describe_connection(name)
    except ConnectionNotFound:
        return
    raise DuplicateConnection(name, existing.name)


def run_add(ctx: Context, args: argparse.Namespace) -> int:
    name = validate_name(args.name)
    if args.generate_key:
        return _add_generated_key(ctx, args, name)
    if args.environment is not None:
        raise UsageError("--environment goes with --generate-key.")
    given = None
    if args.from_json is not None:
        given = connection_to_add(read_document(args.from_json, ctx.console))
        if given.kind is not None and args.kind is not None and given.kind != args.kind:
            raise InvalidInput(
                f"--kind {args.kind!r} and the kind in --from-json ({given.kind[:40]!r}) "
                "disagree; give one, or make them the same."
            )
    kind_name = args.kind or (given.kind if given else None)
    if kind_name is None:
        raise UsageError('give --kind KIND (or "kind" in the --from-json document).')
    kind = resolve_kind(kind_name)
    if given is not None:
        remember_fields(ctx.console, name, kind.name, given.fields)
    with ctx.unlocked() as vault:
        _check_free(vault, name)
        if given is not None:
            fields = given.fields
        else:
            fields = ask_fields(ctx.console, kind, f"New connection {name!r}")
            remember_fields(ctx.console, name, kind.name, fields)
        added = vault.add_connection(CreateConnection(name=name, kind=kind.name, fields=fields))
    if args.json:
        _print_connection(ctx, args, added)
    else:
        ctx.console.out(f"Added connection {added.name!r} ({added.kind}).")
        ctx.console.out(render.connection(added))
    return 0


def _add_generated_key(ctx: Context, args: argparse.Namespace, name: str) -> int:
    """A new Kalshi key pair whose private half never leaves this process but into the vault."""
    if args.from_json is not None:
        raise UsageError("--generate-key makes the key; it does not read --from-json.")
    if args.kind is not None and args.kind != kalshi.KIND.name:
        raise UsageError(f"--generate-key makes {kalshi.KIND.name} keys only (--kind kalshi).")
    environment = args.environment or kalshi.DEMO
    fields = {
        # Kalshi issues the id once it has the public key; until then signing says so.
        kalshi.API_KEY_ID_FIELD: kalshi.PENDING_KEY_ID,
        kalshi.ENVIRONMENT_FIELD: environment,
    }
    with ctx.unlocked() as vault:
        _check_free(vault, name)
        pair = kalshi.generate_key(args.bits)
        fields[kalshi.PRIVATE_KEY_FIELD] = pair.private_pem
        remember_fields(ctx.console, name, kalshi.KIND.name, fields)
        added = vault.add_connection(
            CreateConnection(name=name, kind=kalshi.KIND.name, fields=fields)
        )
    if args.json:
        ctx.console.json(
            {"connection": added.model_dump(mode="json"), "public_key_pem": pair.public_pem}
        )
        return 0
    base = kalshi.resolve_endpoint(name, environment).base_url
    ctx.console.out(
        f"Added connection {added.name!r} (kalshi, {environment}) with a new {args.bits}-bit "
        "RSA key. Its private half is only in the vault; this is the public half:"
    )
    ctx.console.out()
    ctx.console.out(pair.public_pem.rstrip("\n"))
    ctx.console.out()
    steps = [
        f"Give Kalshi ({environment}) this public key: on its API keys page "
        f"({kalshi.API_KEYS_PAGES[environment]}), or with POST {base}/api_keys "
        '{"name": ..., "public_key": "<the PEM above>"} signed with a key you already have.',
        "Kalshi answers with the key id (api_key_id).",
    ]
    steps.append(
        f"Record it: `watchdog-lab connections update {added.name}` (Enter keeps the other "
        'fields), or --from-json with {"fields": {"api_key_id": "<id>"}}.'
    )
    steps.append(
        f"Keys work only in the environment that made them: this one is for {environment}."
    )
    ctx.console.out("Next:")
    for number, step in enumerate(steps, 1):
        ctx.console.out(f"  {number}. {step}")
    return 0


def run_list(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.unlocked() as vault:
        items = vault.list_connections()
    if args.json:
        ctx.console.json(ListConnectionsResponse(connections=items).model_dump(mode="json"))
    elif not items:
        ctx.console.out(
            "No connections yet. Add one with `watchdog-lab connections add NAME --kind KIND`."
        )
    else:
        ctx.console.out(render.connections(items))
    return 0


def run_show(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.unlocked() as vault:
        found = vault.describe_connection(args.name)
    if args.json:
        _print_connection(ctx, args, found)
    else:
        ctx.console.out(render.connection(found))
    return 0


def run_update(ctx: Context, args: argparse.Namespace) -> int:
    fields = None
    if args.from_json is not None:
        fields = fields_to_update(read_document(args.from_json, ctx.console))
    with ctx.unlocked() as vault:
        current = vault.describe_connection(args.name)
        kind = resolve_kind(current.kind)
        if fields is None:
            fields = ask_fields(
                ctx.console,
                kind,
                f"Update {current.name!r}" + (" (replacing every field)" if args.replace else ""),
                None if args.replace else current.fields,
            )
        remember_fields(ctx.console, current.name or args.name, kind.name, fields)
        if not fields and not args.replace:
            ctx.console.out("Nothing to change.")
            return 0
        updated = vault.update_connection(
            args.name, UpdateConnection(fields=fields, replace=args.replace)
        )
    if args.json:
        _print_connection(ctx, args, updated)
    else:
        ctx.console.out(f"Updated connection {updated.name!r}: {', '.join(sorted(fields))}.")
        ctx.console.out(render.connection(updated))
    return 0


def run_rename(ctx: Context, args: argparse.Namespace) -> int:
    validate_name(args.new_name)
    with ctx.unlocked() as vault:
        renamed = vault.rename_connection(args.name, args.new_name)
    if args.json:
        _print_connection(ctx, args, renamed)
    else:
        ctx.console.out(f"Renamed connection {args.name!r} to {renamed.name!r}.")
    return 0


def run_remove(ctx: Context, args: argparse.Namespace) -> int:
    if (args.name is None) == (args.id is None):
        raise UsageError("give either a connection NAME or --id ID (not both).")
    if not args.yes:
        ctx.console.require_interactive(
            "a confirmation", "Add --yes to remove without being asked."
        )
    with ctx.unlocked() as vault:
        if args.id is not None:
            question = f"Remove the record {args.id}? This cannot be undone."
        else:
            found = vault.describe_connection(args.name)
            question = f"Remove connection {found.name!r} ({found.kind})? This cannot be undone."
        if not args.yes and not ctx.console.confirm(question):
            raise Aborted
        if args.id is not None:
            vault.remove_connection_by_id(args.id)
            ctx.console.out(f"Removed the record {args.id}.")
        else:
            vault.remove_connection(args.name)
            ctx.console.out(f"Removed connection {found.name!r}.")
    return 0


def _field_text(spec: FieldSpec) -> str:
    details = [spec.visibility, *(["required"] if spec.required and spec.default is None else [])]
    if spec.choices:
        details.append("|".join(spec.choices))
    if spec.default is not None:
        details.append(f"default {spec.default}")
    return f"{spec.name} ({', '.join(details)})"


def _fields_text(kind: KindSpec) -> str:
    if kind.open:
        return "any field names (secret)"
    return ", ".join(_field_text(spec) for spec in kind.fields) or "-"


def run_kinds(ctx: Context, args: argparse.Namespace) -> int:
    kinds = all_kinds()
    if args.json:
        ctx.console.json(describe_kinds().model_dump(mode="json"))
    else:
        ctx.console.out(
            render.table(
                ["KIND", "DESCRIPTION", "FIELDS"],
                [[kind.label, kind.description, _fields_text(kind)] for kind in kinds],
            )
        )
    return 0


def _kinds_help() -> str:
    labels = [kind.label for kind in all_kinds()]
    listed = ", ".join(labels[:-1]) + f" or {labels[-1]}" if len(labels) > 1 else "".join(labels)
    return f"{listed} (see `connections kinds`)"


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: dict[str, argparse.ArgumentParser],
) -> None:
    pw = [parents["home"], parents["password"]]
    group = sub.add_parser("connections", help="add, list, show, update, rename, remove, kinds")
    csub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    json_help = "print the result as JSON"
    from_json_help = (
        "read the fields from a JSON file, or - for standard input (a pipe); otherwise "
        "each field is asked for with a hidden prompt"
    )

    add = csub.add_parser(
        "add",
        parents=pw,
        help="add a connection",
        description=(
            'Add a connection. --from-json takes {"kind": KIND, "fields": {NAME: VALUE, ...}}.'
        ),
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--kind", help=_kinds_help())
    add.add_argument("--from-json", metavar="PATH|-", help=from_json_help)
    add.add_argument("--json", action="store_true", help=json_help)
    keygen = add.add_argument_group("a new Kalshi key made here (--kind kalshi)")
    keygen.add_argument(
        "--generate-key",
        action="store_true",
        help=(
            "make an RSA key pair in the vault and print only its public key, for Kalshi; "
            "record the key id Kalshi gives with `connections update`"
        ),
    )
    keygen.add_argument(
        "--environment", choices=kalshi.ENVIRONMENTS, help="the Kalshi environment (default demo)"
    )
    keygen.add_argument(
        "--bits",
        type=int,
        choices=kalshi.GENERATED_KEY_BITS_CHOICES,
        default=kalshi.GENERATED_KEY_BITS,
        help="RSA key size",
    )
    add.set_defaults(handler=run_add)

    lst = csub.add_parser("list", parents=pw, help="list connections (masked)")
    lst.add_argument("--json", action="store_true", help=json_help)
    lst.set_defaults(handler=run_list)

    show = csub.add_parser("show", parents=pw, help="show one connection (masked)")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true", help=json_help)
    show.set_defaults(handler=run_show)

    update = csub.add_parser(
        "update",
        parents=pw,
        help="change some fields of a connection",
        description=(
            'Change fields. --from-json takes {"fields": {NAME: VALUE, ...}}; the fields not '
            "given keep their values unless --replace is given."
        ),
    )
    update.add_argument("name", metavar="NAME")
    update.add_argument("--from-json", metavar="PATH|-", help=from_json_help)
    update.add_argument(
        "--replace", action="store_true", help="the given fields become the whole set"
    )
    update.add_argument("--json", action="store_true", help=json_help)
    update.set_defaults(handler=run_update)

    rename = csub.add_parser("rename", parents=pw, help="rename a connection")
    rename.add_argument("name", metavar="OLD")
    rename.add_argument("new_name", metavar="NEW")
    rename.add_argument("--json", action="store_true", help=json_help)
    rename.set_defaults(handler=run_rename)

    remove = csub.add_parser(
        "remove",
        parents=pw,
        help="remove a connection",
        description="Remove a connection by name, or an unreadable record by --id.",
    )
    remove.add_argument("name", metavar="NAME", nargs="?")
    remove.add_argument(
        "--id", metavar="ID", help="remove the record with this id (for a corrupted record)"
    )
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(handler=run_remove)

    kinds = csub.add_parser(
        "kinds",
        help="list the kinds a connection can have, with their fields",
        description="List the connection kinds, their fields and how much of each is shown.",
    )
    kinds.add_argument("--json", action="store_true", help=json_help)
    kinds.set_defaults(handler=run_kinds)
