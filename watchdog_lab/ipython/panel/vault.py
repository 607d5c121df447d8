"""The Vault tab: the vault's state, refreshed in the background; unlock and lock."""

from __future__ import annotations

from typing import Any, Final

import ipywidgets as widgets

from .common import Context, SecretField, Status, badge, button, css_class, text

#: Seconds between two looks at the vault's state (the auto-lock countdown moves by these).
REFRESH_SECONDS: Final = 2.0

_STATE_BADGE = {"unlocked": "ok", "locked": "warn", "absent": "error"}


class VaultTab:
    """State line, password (and two-factor code) field, Unlock and Lock."""

    title = "Vault"

    def __init__(self, context: Context) -> None:
        self.context = context
        self.state = widgets.HTML(value="")
        self.state.add_class(css_class("vault-state"))
        self.password = SecretField("vault-password", "Password", "vault password")
        self.totp = SecretField("vault-totp", "Code", "two-factor code, if enabled")
        self.unlock = button("unlock", "Unlock", style="primary")
        self.lock = button("lock", "Lock")
        self.status = Status("vault")
        self.unlock.on_click(self._unlock)
        self.lock.on_click(self._lock)
        self.last: dict[str, Any] = {}
        self.widget = widgets.VBox(
            [
                self.state,
                widgets.HBox([self.password.widget, self.totp.widget]),
                widgets.HBox([self.unlock, self.lock]),
                self.status,
            ]
        )
        self.widget.add_class(css_class("vault"))

    def start(self) -> None:
        self.context.every(REFRESH_SECONDS, self.refresh)

    def refresh(self) -> None:
        self.show(self.context.client().vault())

    def show(self, vault: dict[str, Any]) -> None:
        self.last = vault
        state = str(vault.get("state", "unknown"))
        parts = [badge(state, _STATE_BADGE.get(state, "")), f" the vault is {text(state)}"]
        if vault.get("totp_enabled"):
            parts.append(", two-factor on")
        locks_in = vault.get("locks_in_seconds")
        if state == "unlocked" and isinstance(locks_in, int | float):
            minutes, seconds = divmod(int(locks_in), 60)
            parts.append(f"; it locks itself in {minutes}:{seconds:02d}")
        if state == "absent":
            parts.append(": create it in the WatchDog Lab sidebar or with `watchdog-lab init`")
        html = "".join(parts) + "."
        if self.state.value != html:
            self.state.value = html
        self.totp.widget.layout.display = "" if vault.get("totp_enabled") else "none"

    def _unlock(self, _: Any = None) -> None:
        password, code = self.password.take(), self.totp.take()
        if not password:
            self.status.show("Type the vault password first.", "error")
            return
        self.context.run(
            self.status,
            "Unlocking…",
            lambda client: client.unlock(password, code or None),
            self.show,
        )

    def _lock(self, _: Any = None) -> None:
        self.context.run(self.status, "Locking…", lambda client: client.lock(), self.show)
