"""``doctor``: the installation's facts (see :mod:`watchdog_lab.doctor`), printed; no password."""

from __future__ import annotations

import argparse

from ..doctor import DoctorReport, FileMode, gather
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
    ]
    lines = [table(["CHECK", "RESULT"], rows)]
    if report.warnings:
        lines += ["", "warnings:", *(f"  - {w}" for w in report.warnings)]
    else:
        lines += ["", "No problems found."]
    return "\n".join(lines)


def run_doctor(ctx: Context, args: argparse.Namespace) -> int:
    report = gather(ctx.home)
    if args.json:
        ctx.console.json(report.model_dump(mode="json"))
    else:
        ctx.console.out(_text(report))
    return 0


def register(sub: argparse._SubParsersAction, parents: dict[str, argparse.ArgumentParser]) -> None:
    doctor = sub.add_parser(
        "doctor",
        parents=[parents["home"]],
        help="check the installation (no password needed)",
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.set_defaults(handler=run_doctor)
