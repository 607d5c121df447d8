"""The Connections tab: the masked list; add one through a form built from the kind registry;
grant to or revoke from this kernel; remove.

Granting, adding and removing carry the vault password (each makes a secret reachable or
changes the vault). Secret and hint fields are :class:`~.common.SecretField` inputs, emptied
as soon as the kernel has them. A field whose value is usually a file (a PEM key) is given as
a path the kernel reads when the form is submitted: a password input cannot hold line breaks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import ipywidgets as widgets

from .common import WIDE_LABEL, Context, SecretField, Status, badge, button, css_class, table, text

#: Rows for field names of an open kind (``generic``), whose fields the user names.
OPEN_KIND_ROWS: Final = 3
#: A key file larger than this is not a key.
MAX_KEY_FILE_BYTES: Final = 64 * 1024


class _FieldInput:
    """One field of the add form: a secret input, a text input, a choice or a file path."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.name = str(spec.get("name", ""))
        self.required = bool(spec.get("required"))
        label = self.name + (" *" if self.required else "")
        self.secret: SecretField | None = None
        self.from_file = bool(spec.get("from_file"))
        choices = [str(c) for c in spec.get("choices") or []]
        default = spec.get("default")
        if self.from_file:
            self.control: widgets.Widget = widgets.Text(
                description=label,
                placeholder="path of the file (read by this kernel when you add)",
                style={"description_width": "initial"},
            )
        elif spec.get("visibility") in ("secret", "hint"):
            self.secret = SecretField(
                f"field-{self.name}", label, str(spec.get("description") or "")
            )
            self.control = self.secret.widget
        elif choices:
            self.control = widgets.Dropdown(
                description=label, options=choices, value=default if default in choices else None
            )
        else:
            self.control = widgets.Text(
                description=label,
                value=str(default or ""),
                placeholder=str(spec.get("description") or ""),
                style={"description_width": "initial"},
            )
        self.control.add_class(css_class(f"field-{self.name}"))

    def take(self) -> str:
        if self.secret is not None:
            return self.secret.take()
        value = str(getattr(self.control, "value", "") or "")
        if self.from_file and value:
            path = Path(value).expanduser()
            if path.stat().st_size > MAX_KEY_FILE_BYTES:
                raise ValueError(f"{self.name}: the file is larger than a key file")
            return path.read_text(encoding="utf-8")
        return value

    def forget(self) -> None:
        if self.secret is not None:
            self.secret.forget()


class ConnectionsTab:
    title = "Connections"

    def __init__(self, context: Context) -> None:
        self.context = context
        self.list = widgets.HTML(value="")
        self.list.add_class(css_class("connections-list"))
        self.pick = widgets.Dropdown(description="Connection", options=[], style=WIDE_LABEL)
        self.pick.add_class(css_class("connection-pick"))
        self.password = SecretField("connections-password", "Password", "vault password")
        self.grant = button("grant", "Grant to this kernel", style="primary")
        self.revoke = button("revoke", "Revoke from this kernel")
        self.remove = button("remove", "Remove", style="danger")
        self.status = Status("connections")
        self.grant.on_click(self._grant)
        self.revoke.on_click(self._revoke)
        self.remove.on_click(self._remove)
        # The add form.
        self.kinds: dict[str, dict[str, Any]] = {}
        self.name = widgets.Text(description="Name", placeholder="e.g. Kalshi")
        self.name.add_class(css_class("new-name"))
        self.kind = widgets.Dropdown(description="Kind", options=[])
        self.kind.add_class(css_class("new-kind"))
        self.variant = widgets.Text(
            description="Exchange id", placeholder="e.g. binance", style=WIDE_LABEL
        )
        self.variant.add_class(css_class("new-variant"))
        self.fields_box = widgets.VBox([])
        self.inputs: list[_FieldInput] = []
        self.open_names: list[widgets.Text] = []
        self.open_values: list[SecretField] = []
        self.add_password = SecretField("add-password", "Password", "vault password")
        self.add = button("add", "Add connection", style="primary")
        self.add.on_click(self._add)
        self.kind.observe(lambda _: self._build_form(), names="value")
        form = widgets.VBox(
            [
                widgets.HTML("<strong>Add a connection</strong>"),
                widgets.HBox([self.name, self.kind, self.variant]),
                self.fields_box,
                widgets.HBox([self.add_password.widget, self.add]),
            ]
        )
        self.widget = widgets.VBox(
            [
                self.list,
                widgets.HBox([self.pick, self.password.widget]),
                widgets.HBox([self.grant, self.revoke, self.remove]),
                self.status,
                form,
            ]
        )
        self.widget.add_class(css_class("connections"))

    def start(self) -> None:
        self.context.run(self.status, "Reading the connection kinds…", _kinds, self._show_kinds)
        self.refresh()

    def refresh(self) -> None:
        self.context.run(self.status, "Reading the connections…", _listing, self._show)

    def _show(self, listing: dict[str, Any]) -> None:
        connections = listing.get("connections") or []
        granted = {
            str(g.get("connection", "")).casefold()
            for g in listing.get("grants") or []
            if isinstance(g, dict)
        }
        rows, names = [], []
        for conn in connections:
            name = conn.get("name")
            if name is None:
                rows.append([badge("locked", "warn"), "", "unlock the vault to see", ""])
                continue
            names.append(str(name))
            fields = ", ".join(f"{k}: {v}" for k, v in (conn.get("fields") or {}).items())
            here = badge("granted here", "ok") if str(name).casefold() in granted else ""
            rows.append([text(name), text(conn.get("kind") or ""), text(fields), here])
        if rows:
            self.list.value = table(["Name", "Kind", "Fields (masked)", ""], rows, "conn-table")
        else:
            self.list.value = "<p>No connection yet: add one below.</p>"
        current = self.pick.value
        self.pick.options = names
        self.pick.value = current if current in names else (names[0] if names else None)

    def _show_kinds(self, answer: dict[str, Any]) -> None:
        self.kinds = {str(k.get("kind")): k for k in answer.get("kinds") or []}
        self.kind.options = list(self.kinds)
        self._build_form()

    def _build_form(self) -> None:
        for old in self.inputs:
            old.forget()
        for value in self.open_values:
            value.forget()
        spec = self.kinds.get(str(self.kind.value), {})
        self.variant.layout.display = "" if spec.get("family") else "none"
        self.inputs = [_FieldInput(f) for f in spec.get("fields") or []]
        controls: list[widgets.Widget] = [i.control for i in self.inputs]
        self.open_names, self.open_values = [], []
        if spec.get("open"):
            for row in range(OPEN_KIND_ROWS):
                field_name = widgets.Text(description="Field", placeholder="field name")
                field_name.add_class(css_class(f"open-name-{row}"))
                value = SecretField(f"open-value-{row}", "Value", "secret value")
                self.open_names.append(field_name)
                self.open_values.append(value)
                controls.append(widgets.HBox([field_name, value.widget]))
        self.fields_box.children = controls

    def _kind_name(self) -> str:
        kind = str(self.kind.value or "")
        if self.kinds.get(kind, {}).get("family"):
            return f"{kind.split(':', 1)[0]}:{self.variant.value.strip()}"
        return kind

    def _add(self, _: Any = None) -> None:
        password = self.add_password.take()
        try:
            fields = {i.name: i.take() for i in self.inputs}
            for name_input, value_input in zip(self.open_names, self.open_values, strict=True):
                value = value_input.take()
                if name_input.value.strip() and value:
                    fields[name_input.value.strip()] = value
                name_input.value = ""
        except (OSError, ValueError) as error:
            del password
            self.status.show(f"Could not read a field's file ({type(error).__name__}).", "error")
            return
        fields = {k: v for k, v in fields.items() if v}
        name, kind = self.name.value.strip(), self._kind_name()
        if not password or not name:
            del password, fields
            self.status.show("Give the connection a name and type the vault password.", "error")
            return

        def done(answer: dict[str, Any]) -> None:
            self.name.value = ""
            self._done(f"{answer.get('name') or name} is added.")

        self.context.run(
            self.status,
            f"Adding {name}…",
            lambda client: client.add_connection(name, kind, fields, password),
            done,
        )

    def _grant(self, _: Any = None) -> None:
        name, password = self.pick.value, self.password.take()
        if not name or not password:
            del password
            self.status.show("Pick a connection and type the vault password.", "error")
            return
        self.context.run(
            self.status,
            f"Granting {name} to this kernel…",
            lambda client: client.grant(name, password),
            lambda _: self._done(f"{name} is granted: conn = wd.connection({name!r})"),
        )

    def _revoke(self, _: Any = None) -> None:
        name = self.pick.value
        if not name:
            return
        self.context.run(
            self.status,
            f"Revoking {name}…",
            lambda client: client.revoke(name),
            lambda _: self._done(f"{name} is revoked from this kernel."),
        )

    def _remove(self, _: Any = None) -> None:
        name, password = self.pick.value, self.password.take()
        if not name or not password:
            del password
            self.status.show("Pick a connection and type the vault password.", "error")
            return
        self.context.run(
            self.status,
            f"Removing {name}…",
            lambda client: client.remove_connection(name, password),
            lambda _: self._done(f"{name} is removed from the vault."),
        )

    def _done(self, message: str) -> None:
        """Show ``message`` once the list is read again (the read would clear it)."""

        def show(listing: dict[str, Any]) -> None:
            self._show(listing)
            self.status.show(message, "ok")

        self.context.run(self.status, message, _listing, show)


def _kinds(client: Any) -> dict[str, Any]:
    return dict(client.kinds())


def _listing(client: Any) -> dict[str, Any]:
    """The masked connections, with this kernel's grants to mark them."""
    listing = dict(client.connections())
    listing["grants"] = client.grants().get("grants") or []
    return listing
