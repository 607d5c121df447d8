"""One CLI run's access to the vault: open it, unlock it, and teach the console its secrets.

Every command that reads or changes connections goes through :func:`unlocked`, so the unlock
is always the real one (throttling and two-factor included) and the console's redactor always
knows every value the vault holds before anything is printed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..backup.restore import recover
from ..paths import home_dir
from ..settings import WatchdogLab
from ..vault import KdfParams, Vault, VaultError, VaultNotFound, VaultState, resolve_kind
from .console import Console
from .passwords import current_password, totp_code

VAULT_LABEL = "vault"


@dataclass
class Context:
    """What every command gets: the console, the options common to all, and the settings read
    from the same Jupyter config files as the server (``c.WatchdogLab.*``)."""

    console: Console
    home: str | None
    password_file: str | None
    settings: WatchdogLab = field(default_factory=WatchdogLab)

    def __post_init__(self) -> None:
        # --home wins over c.WatchdogLab.home, as a server's command line wins over its files.
        if self.home is None:
            self.home = self.settings.home

    def vault(self, kdf: KdfParams | None = None) -> Vault:
        """The vault; a new one or a new password gets ``kdf``, else the configured costs."""
        self._finish_interrupted_restore()
        return Vault(self.home, kdf=kdf or self.settings.kdf)

    def _finish_interrupted_restore(self) -> None:
        """A restore killed halfway left the home half swapped: finish or undo it before the
        vault is opened, as the server does when it starts."""
        done = recover(home_dir(self.home))
        if done is not None:
            self.console.note(f"note: {done}.")

    def existing_vault(self, kdf: KdfParams | None = None) -> Vault:
        vault = self.vault(kdf)
        if vault.state is VaultState.ABSENT:
            raise VaultNotFound(str(vault.path))
        return vault

    def unlock(self, vault: Vault) -> str:
        """Unlock with the password (and code) from their sources; return the password.

        A missing vault is said before any password is asked for."""
        if vault.state is VaultState.ABSENT:
            raise VaultNotFound(str(vault.path))
        password = current_password(self.console, self.password_file)
        self.console.remember([(VAULT_LABEL, "password", password)])
        code = totp_code(self.console) if vault.totp_enabled else None
        vault.unlock(password, code)
        learn_secrets(self.console, vault)
        return password

    @contextlib.contextmanager
    def unlocked(self, kdf: KdfParams | None = None) -> Iterator[Vault]:
        with self.existing_vault(kdf) as vault:
            self.unlock(vault)
            yield vault


def learn_secrets(console: Console, vault: Vault) -> None:
    """Every non-public value in the vault, for the console's redactor.

    Public fields (an exchange's environment, a wallet address) are shown in full by design;
    redacting them would only garble listings.
    """
    kinds = {}
    for described in vault.list_connections():
        if described.name is not None and described.kind is not None:
            kinds[described.name] = resolve_kind(described.kind)
    console.remember(
        (name, field, value)
        for name, field, value in vault.iter_secrets()
        if name not in kinds or kinds[name].visibility(field) != "public"
    )


def remember_fields(console: Console, connection: str, kind: str, fields: dict[str, str]) -> None:
    """Values just read from the user, before anything about them is printed."""
    try:
        spec = resolve_kind(kind)
    except VaultError:  # an unknown kind is reported later, by the vault
        spec = None
    console.remember(
        (connection, field, value)
        for field, value in fields.items()
        if spec is None or spec.visibility(field) != "public"
    )
