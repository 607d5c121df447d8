"""``doctor``: the installation's facts (see :mod:`watchdog_lab.doctor`), printed; no password.

``doctor --fix`` also removes the files of bots a killed promote left behind, after asking
(``--yes`` to not be asked, e.g. in a script).
"""

from __future__ import annotations

import argparse

from ..bots.leftovers import Leftover, remove_leftovers
from ..doctor import DoctorReport, FileMode, gather, registered_bots
from ..paths import home_dir
from .errors import Aborted
from .render import table
from .session import Context


def _mode(check: FileMode) -> str:
    if not check.exists:
        return "absent"
    state = "ok" if not check.too_open else "TOO OPEN"
    if check.tightened:
        state += f", now {check.expected}"
    return f"{check.mode} ({state}; want {check.expected})"


def _text(report: DoctorReport) -> str:
    vault = report.vault
    if vault.state == "error":
        vault_line = f"error: {vault.error}"
    elif vault.state == "absent":
        vault_line = "absent"
    else:
        vault_line = f"{vault.state}, two-factor {'on' if vault.totp_enabled else 'off'}"
    uv = report.uv
    uv_line = f"{uv.version} ({uv.path})" if uv.version else f"unusable: {uv.error}"
    rows = [
        ["watchdog-lab", report.watchdog_lab],
        [
            "python",
            f"{report.python.version} {report.python.implementation} ({report.python.executable})",
        ],
        ["uv", uv_line],
        *([name, version or "not installed"] for name, version in report.packages.items()),
        ["home", f"{report.home.path}  {_mode(report.home)}"],
        ["vault file", f"{report.vault_file.path}  {_mode(report.vault_file)}"],
        ["vault", vault_line],
        ["sandbox", report.sandbox.summary()],
        ["interactive kernels", report.kernel_sandbox],
        ["bot containment", report.bot_containment],
    ]
    lines = [table(["CHECK", "RESULT"], rows)]
    if report.warnings:
        lines += ["", "warnings:", *(f"  - {w}" for w in report.warnings)]
    else:
        lines += ["", "No problems found."]
    return "\n".join(lines)


def _describe_leftover(leftover: Leftover) -> str:
    where = [p for p in (leftover.folder, leftover.kernelspec) if p]
    return f"{leftover.id}: {' and '.join(where)} ({leftover.size_bytes / 1e6:.0f} MB)"


def _fix(ctx: Context, report: DoctorReport, yes: bool) -> None:
    """Remove the leftovers the report found, once the user agreed to exactly those."""
    if not report.leftovers:
        ctx.console.note("No leftover bot files to remove.")
        return
    if not yes:
        ctx.console.require_interactive("a confirmation", "Add --yes to remove without asking.")
        listing = "\n".join(f"  {_describe_leftover(left)}" for left in report.leftovers)
        question = f"These files belong to no bot:\n{listing}\nRemove them? This cannot be undone."
        if not ctx.console.confirm(question):
            raise Aborted
    home = home_dir(ctx.home)
    removed = remove_leftovers(
        home, lambda: registered_bots(home), {left.id for left in report.leftovers}
    )
    ctx.console.note(f"Removed the files of {len(removed)} leftover bot(s).")


def run_doctor(ctx: Context, args: argparse.Namespace) -> int:
    report = gather(ctx.home)
    if args.json:
        ctx.console.json(report.model_dump(mode="json"))
    else:
        ctx.console.out(_text(report))
    if args.fix:
        _fix(ctx, report, args.yes)
    return 0


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: dict[str, argparse.ArgumentParser],
) -> None:
    doctor = sub.add_parser(
        "doctor",
        parents=[parents["home"]],
        help="check the installation (no password needed)",
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.add_argument(
        "--fix",
        action="store_true",
        help="remove bot folders and kernelspecs left by a killed promote (asks first)",
    )
    doctor.add_argument("--yes", action="store_true", help="with --fix: do not ask")
    doctor.set_defaults(handler=run_doctor)
