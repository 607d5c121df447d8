"""``init``, ``password change``, ``totp enable|disable``: the vault itself, not its contents."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..vault import (
    InvalidTotpCode,
    KdfParams,
    TotpAlreadyEnabled,
    TotpNotEnabled,
    VaultExists,
    VaultState,
)
from ..vault.crypto import CryptoError
from .errors import CliError, NotInteractive, UsageError
from .passwords import NEW_PASSWORD_ENV, PASSWORD_ENV, TOTP_ENV, new_password
from .session import VAULT_LABEL, Context

TOTP_ATTEMPTS = 3
_DEFAULT_KDF = KdfParams()


def add_kdf_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "key derivation (Argon2id)",
        "Cost of turning the password into a key; the defaults are RFC 9106's second "
        "recommendation. Lower values make unlocking faster and guessing cheaper.",
    )
    group.add_argument(
        "--kdf-time-cost",
        type=int,
        metavar="N",
        help=f"passes over memory (default: c.WatchdogLab.argon2_time_cost, "
        f"{_DEFAULT_KDF.time_cost} unless configured)",
    )
    group.add_argument(
        "--kdf-memory-mib",
        type=int,
        metavar="MIB",
        help=f"memory in MiB (default: c.WatchdogLab.argon2_memory_kib / 1024, "
        f"{_DEFAULT_KDF.memory_kib // 1024} unless configured)",
    )
    group.add_argument(
        "--kdf-parallelism",
        type=int,
        metavar="N",
        help=f"lanes (default: c.WatchdogLab.argon2_parallelism, "
        f"{_DEFAULT_KDF.parallelism} unless configured)",
    )


def kdf_from_args(args: argparse.Namespace, configured: KdfParams) -> KdfParams:
    """The costs given as options, each falling back to the configured one."""
    params = KdfParams(
        time_cost=configured.time_cost if args.kdf_time_cost is None else args.kdf_time_cost,
        memory_kib=configured.memory_kib
        if args.kdf_memory_mib is None
        else args.kdf_memory_mib * 1024,
        parallelism=configured.parallelism
        if args.kdf_parallelism is None
        else args.kdf_parallelism,
    )
    try:
        params.check()
    except CryptoError as exc:
        raise UsageError(f"{exc}.") from None
    return params


def _kdf_text(params: KdfParams) -> str:
    return (
        f"Argon2id t={params.time_cost}, m={params.memory_kib // 1024} MiB, p={params.parallelism}"
    )


def run_init(ctx: Context, args: argparse.Namespace) -> int:
    kdf = kdf_from_args(args, ctx.settings.kdf)
    vault = ctx.vault(kdf)
    if vault.state is not VaultState.ABSENT:
        raise VaultExists(str(vault.path))
    password = new_password(ctx.console, ctx.password_file)
    ctx.console.remember([(VAULT_LABEL, "password", password)])
    with vault:
        vault.create(password)
    ctx.console.out(f"Created the vault at {vault.path} ({_kdf_text(kdf)}).")
    ctx.console.out(
        "Next: add a connection with `watchdog-lab connections add NAME --kind KIND`, and "
        "consider `watchdog-lab totp enable`."
    )
    return 0


def run_password_change(ctx: Context, args: argparse.Namespace) -> int:
    kdf = kdf_from_args(args, ctx.settings.kdf)
    with ctx.existing_vault(kdf) as vault:
        old = ctx.unlock(vault)
        new = new_password(
            ctx.console,
            args.new_password_file,
            option="--new-password-file",
            env=NEW_PASSWORD_ENV,
            label="New vault password",
        )
        ctx.console.remember([(VAULT_LABEL, "new_password", new)])
        if new == old:
            raise CliError("the new password is the same as the current one; nothing changed.")
        vault.change_password(old, new)
    ctx.console.out(f"Vault password changed ({_kdf_text(kdf)}). Connections were not touched.")
    return 0


def _require_terminal(ctx: Context, what: str) -> None:
    ctx.console.require_interactive(what, "Run it in a terminal.")
    if not ctx.console.terminal_out:
        raise NotInteractive(what, "Run it with standard error on a terminal.")


def _confirm_code(ctx: Context, prompt: str, accept: Callable[[str], None]) -> None:
    for attempt in range(1, TOTP_ATTEMPTS + 1):
        code = ctx.console.ask(prompt, "the two-factor code")
        try:
            accept(code)
            return
        except InvalidTotpCode as exc:
            if attempt == TOTP_ATTEMPTS:
                raise
            ctx.console.note(str(exc))


def run_totp_enable(ctx: Context, args: argparse.Namespace) -> int:
    _require_terminal(ctx, "turning on two-factor authentication (it shows a secret once)")
    with ctx.existing_vault() as vault:
        if vault.totp_enabled:
            raise TotpAlreadyEnabled
        password = ctx.unlock(vault)
        enrolment = vault.begin_totp(password)
        secret = enrolment.secret.get_secret_value()
        ctx.console.reveal(
            "Add this vault to your authenticator app. It is shown only this once:\n"
            f"  secret: {secret}\n"
            f"  URI:    {enrolment.provisioning_uri.get_secret_value()}\n"
            "Keep it safe: without the authenticator (or this secret) the vault cannot be "
            "unlocked."
        )
        ctx.console.remember([(VAULT_LABEL, "totp_secret", secret)])
        _confirm_code(
            ctx,
            "Code shown by your authenticator now: ",
            lambda code: vault.enable_totp(password, secret, code),
        )
    ctx.console.out(
        f"Two-factor authentication is on: every unlock now asks for a code (or reads {TOTP_ENV})."
    )
    return 0


def run_totp_disable(ctx: Context, args: argparse.Namespace) -> int:
    _require_terminal(ctx, "turning off two-factor authentication")
    with ctx.existing_vault() as vault:
        if not vault.totp_enabled:
            raise TotpNotEnabled
        password = ctx.unlock(vault)
        ctx.console.note(
            "A code is accepted only once: wait until your authenticator shows a new code."
        )
        _confirm_code(
            ctx,
            "Next code, to confirm turning two-factor off: ",
            lambda code: vault.disable_totp(password, code),
        )
    ctx.console.out("Two-factor authentication is off: unlocking needs only the password.")
    return 0


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: dict[str, argparse.ArgumentParser],
) -> None:
    pw = [parents["home"], parents["password"]]
    init = sub.add_parser(
        "init",
        parents=pw,
        help="create the vault",
        description=(
            "Create an empty vault. The password comes from --password-file, "
            f"{PASSWORD_ENV}, or is typed twice."
        ),
    )
    add_kdf_options(init)
    init.set_defaults(handler=run_init)

    password = sub.add_parser("password", help="change the vault password")
    psub = password.add_subparsers(dest="action", required=True, metavar="ACTION")
    change = psub.add_parser(
        "change",
        parents=pw,
        help="re-wrap the vault key under a new password",
        description=(
            "The current password comes from --password-file, "
            f"{PASSWORD_ENV} or a prompt; the new one from --new-password-file, "
            f"{NEW_PASSWORD_ENV} or is typed twice."
        ),
    )
    change.add_argument(
        "--new-password-file", metavar="FILE", help="read the new password from FILE's first line"
    )
    add_kdf_options(change)
    change.set_defaults(handler=run_password_change)

    totp = sub.add_parser("totp", help="two-factor authentication (TOTP)")
    tsub = totp.add_subparsers(dest="action", required=True, metavar="ACTION")
    enable = tsub.add_parser(
        "enable",
        parents=pw,
        help="turn two-factor on (interactive)",
        description="Shows a new secret once, then asks for a code to prove the app has it.",
    )
    enable.set_defaults(handler=run_totp_enable)
    disable = tsub.add_parser(
        "disable",
        parents=pw,
        help="turn two-factor off (interactive)",
        description="Unlocks (password and code), then asks for the next code to confirm.",
    )
    disable.set_defaults(handler=run_totp_disable)
