"""``%wd connect | connections | revoke | status | unlock | lock``: the vault and this
kernel's grants.

``connect`` is sudo-like: on a locked vault it offers to unlock with the same password prompt
(one password, typed once, unlocks and grants), and on an unlocked one it checks that the
connection exists before asking for anything, so a typo fails at once.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from ..sdk.broker import BrokerClient
from .commands import NO_BROKER, Magics, call, command, one_name
from .consent import Act, with_password

CONNECT = "%wd connect NAME"


def _grant_act(name: str, *, unlock: bool) -> Act:
    prompt = (
        f"The vault is locked. Vault password (unlocks it and grants {name!r} to this notebook): "
        if unlock
        else f"Vault password (grants {name!r} to this notebook): "
    )
    return Act(
        prompt=prompt,
        no_stdin=(
            "This frontend cannot ask for a password. Turn on notebook access for "
            f"{name!r} in the WatchDog Lab sidebar instead."
        ),
        cancelled="No password was given; nothing was granted.",
        interrupted="Interrupted; the grant may or may not have been made (see %wd connections).",
        failed="The grant failed; nothing was granted",
    )


def _known(client: BrokerClient, name: str) -> str | None:
    """The connection's name as the vault spells it, or None (names are readable only while
    the vault is unlocked; the caller checks that first)."""
    listing = call(client.connections)
    for entry in listing.get("connections") or []:
        shown = entry.get("name")
        if isinstance(shown, str) and shown.casefold() == name.casefold():
            return shown
    return None


@command(
    "connect",
    CONNECT,
    "ask for the vault password, then grant connection NAME to this notebook",
    "On a locked vault the same password unlocks it first. The name is checked before the "
    "password is asked for when the vault is unlocked.",
)
def connect(magics: Magics, line: str) -> None:
    name = one_name(line, CONNECT)
    client = magics.client()
    state = call(client.vault).get("state")
    if state == "absent":
        raise UsageError(
            "There is no vault yet. Create one in the WatchDog Lab sidebar or with: "
            "watchdog-lab vault create"
        )
    locked = state != "unlocked"
    if not locked and _known(client, name) is None:
        raise UsageError(f"No connection named {name!r}. %wd connections --all lists them.")

    def unlock_and_grant(password: str) -> dict[str, Any]:
        if locked:
            client.unlock(password)
        return client.grant(name, password)

    outcome = with_password(magics.ask_password, _grant_act(name, unlock=locked), unlock_and_grant)
    if isinstance(outcome, str):
        raise UsageError(outcome)
    shown = outcome.get("connection") or name
    print(f"{shown} is granted to this notebook: conn = wd.connection({shown!r})")


@command(
    "connections",
    "%wd connections [--all]",
    "the connections granted to this notebook (--all: every connection of the vault, masked)",
)
def connections(magics: Magics, line: str) -> None:
    client = magics.client()
    if line.strip() == "--all":
        listing = call(client.connections).get("connections") or []
        if not listing:
            print("The vault holds no connection yet.")
        for entry in listing:
            name = entry.get("name") or f"<{entry.get('id', '?')}> (unlock to see)"
            print(f"{name}  ({entry.get('kind') or 'unknown kind'})")
        return
    if line.strip():
        raise UsageError("Usage: %wd connections [--all]")
    grants = call(client.grants).get("grants") or []
    if not grants:
        print("No connection is granted to this notebook. Use %wd connect NAME.")
        return
    for grant in grants:
        print(describe_grant(grant))


@command(
    "revoke",
    "%wd revoke NAME",
    "withdraw NAME from this notebook (also from its remembered grants)",
)
def revoke(magics: Magics, line: str) -> None:
    name = one_name(line, "%wd revoke NAME")
    answer = call(lambda: magics.client().revoke(name))
    shown = answer.get("connection") or name
    also = " and from the grants remembered for it" if answer.get("forgotten") else ""
    print(f"{shown} is revoked from this notebook{also}.")


@command("status", "%wd status", "the vault's state, this kernel, and what it was granted")
def status(magics: Magics, line: str) -> None:
    client = BrokerClient.from_environ()
    if client is None:
        print(NO_BROKER)
        return
    answer = call(client.grants)
    vault = call(client.vault)
    print(f"vault:   {describe_vault(vault)}")
    kernel = answer.get("kernel_id", "unknown")
    notebook = answer.get("path")
    print(f"kernel:  {kernel}" + (f" (notebook {notebook})" if notebook else ""))
    print(f"broker:  {client.url}")
    grants = answer.get("grants") or []
    print("granted: " + (", ".join(describe_grant(g) for g in grants) if grants else "nothing"))


@command(
    "unlock",
    "%wd unlock",
    "unlock the vault (asks for the password, and the two-factor code when it is on)",
)
def unlock(magics: Magics, line: str) -> None:
    client = magics.client()
    vault = call(client.vault)
    if vault.get("state") == "unlocked":
        print(f"The vault is already unlocked ({describe_vault(vault)}).")
        return
    code: str | None = None
    if vault.get("totp_enabled"):
        try:
            code = magics.ask("Two-factor code: ").strip() or None
        except (EOFError, KeyboardInterrupt):
            raise UsageError("No two-factor code was given; the vault stays locked.") from None
    act = Act(
        prompt="Vault password (unlocks the vault): ",
        no_stdin="This frontend cannot ask for a password. Unlock in the WatchDog Lab sidebar.",
        cancelled="No password was given; the vault stays locked.",
        interrupted="Interrupted; see %wd status for whether the vault is unlocked.",
        failed="Unlocking failed; the vault stays locked",
    )
    outcome = with_password(magics.ask_password, act, lambda p: client.unlock(p, code))
    if isinstance(outcome, str):
        raise UsageError(outcome)
    print(f"The vault is {describe_vault(outcome)}.")


@command("lock", "%wd lock", "lock the vault now: every lookup waits for the next unlock")
def lock(magics: Magics, line: str) -> None:
    call(magics.client().lock)
    print("The vault is locked.")


def describe_vault(vault: dict[str, Any]) -> str:
    state = str(vault.get("state", "unknown"))
    locks_in = vault.get("locks_in_seconds")
    if state == "unlocked" and isinstance(locks_in, int | float):
        minutes = max(int(locks_in // 60), 0)
        return f"unlocked, locks after {minutes} min without use"
    return state


def describe_grant(grant: dict[str, Any]) -> str:
    name = grant.get("connection") or f"<{grant.get('connection_id', '?')}> (unlock to see)"
    source = {"password": "password", "ui": "sidebar", "notebook": "remembered"}.get(
        grant.get("source", ""), grant.get("source", "")
    )
    remembered = ", remembered for this notebook" if grant.get("remembered") else ""
    return f"{name} ({source}{remembered})"
