"""The AI Fix tab: this kernel's last failing cell; Preview (the exact payload), Send (with the
vault password), the explanation and an escaped diff; Apply.

Apply replaces the failing cell in the open notebook through the lab extension (one undoable
edit, refused if the cell changed since it failed). Where the extension is absent the fixed
cell is inserted below instead: IPython's ``set_next_input``, which the front end applies with
the reply of the next cell run (a kernel cannot edit the notebook outside a reply).

What is shown is text others chose (the cell, its error, the model's answer): it goes through
the same escaping as ``%wd fix`` (:mod:`..fixview`).
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Any, Final

import ipywidgets as widgets

from ..failures import Failure, FailureRecorder
from ..fixview import fix_bundle, payload_bundle, payload_summary
from .bridge import FrontendBridge
from .common import WIDE_LABEL, Context, SecretField, Status, button, css_class, lines, text

#: Cell ids remembered for failures (execution count -> cell id), newest last.
KEPT_CELL_IDS: Final = 64
#: Height of the payload and proposal boxes (they scroll).
SCROLL_HEIGHT: Final = "22em"
#: Characters of the failing cell's source shown before it is cut.
SHOWN_SOURCE_CHARS: Final = 4000


class AIFixTab:
    title = "AI Fix"

    def __init__(self, context: Context, bridge: FrontendBridge, recorder: FailureRecorder) -> None:
        self.context = context
        self.bridge = bridge
        self.recorder = recorder
        self.cell_ids: OrderedDict[int, str] = OrderedDict()
        self.failure_view = widgets.HTML(value="")
        self.failure_view.add_class(css_class("fix-failure"))
        self.refresh = button("fix-refresh", "Refresh")
        self.refresh.on_click(lambda _: self.show_failure())
        self.preview = button("fix-preview", "Preview", tooltip="Show the exact payload")
        self.preview.on_click(lambda _: self._preview())
        self.connection = widgets.Text(
            description="Connection",
            placeholder="anthropic connection (optional)",
            style=WIDE_LABEL,
        )
        self.connection.add_class(css_class("fix-connection"))
        self.password = SecretField("fix-password", "Password", "vault password")
        self.send = button("fix-send", "Send", style="primary", tooltip="Send to Anthropic")
        self.send.on_click(lambda _: self._send())
        self.send.disabled = True
        self.payload = widgets.HTML(value="")
        self.payload.add_class(css_class("fix-payload"))
        self.proposal = widgets.HTML(value="")
        self.proposal.add_class(css_class("fix-proposal"))
        self.apply = button("fix-apply", "Apply", style="success", tooltip="Use the fixed cell")
        self.apply.on_click(lambda _: self._apply())
        self.apply.disabled = True
        self.status = Status("fix")
        self.widget = widgets.VBox(
            [
                self.failure_view,
                widgets.HBox([self.refresh, self.preview]),
                self.payload,
                widgets.HBox([self.connection, self.password.widget, self.send]),
                self.proposal,
                self.apply,
                self.status,
            ]
        )
        self.widget.add_class(css_class("aifix"))
        self.failure: Failure | None = None
        self.cell: dict[str, Any] | None = None
        self.sha256 = ""
        self.fixed_source: str | None = None
        self.fixed_for: Failure | None = None

    # ------------------------------------------------------------------ the failing cell

    def install(self, shell: Any) -> None:
        if shell is not None:
            shell.events.register("post_run_cell", self._after_cell)

    def uninstall(self, shell: Any) -> None:
        if shell is not None:
            with contextlib.suppress(ValueError):
                shell.events.unregister("post_run_cell", self._after_cell)

    def _after_cell(self, result: Any) -> None:
        """Keep the failing cell's id (the front end sends it with each cell it runs)."""
        with contextlib.suppress(Exception):
            if result.error_in_exec is None and result.error_before_exec is None:
                return
            cell_id = getattr(getattr(result, "info", None), "cell_id", None)
            count = getattr(result, "execution_count", None)
            if isinstance(cell_id, str) and isinstance(count, int):
                self.cell_ids[count] = cell_id
                while len(self.cell_ids) > KEPT_CELL_IDS:
                    self.cell_ids.popitem(last=False)
            self.show_failure()

    def show_failure(self) -> None:
        """The failing cell's source and the name of its error; not the message, which can
        hold whatever the cell read (the widget's state may be saved with the notebook)."""
        failure = self.recorder.latest()
        if failure is not self.failure:
            self.failure = failure
            self.cell = failure.as_cell() if failure else None
            self.sha256 = ""
            self.payload.value = ""
            self.send.disabled = True
        if failure is None:
            self.failure_view.value = (
                "<p>No failing cell in this kernel yet. When a cell raises, it shows here.</p>"
            )
            self.preview.disabled = True
            return
        self.preview.disabled = False
        where = f"In [{failure.execution_count}]" if failure.execution_count else "The last cell"
        source = failure.source
        if len(source) > SHOWN_SOURCE_CHARS:
            source = source[:SHOWN_SOURCE_CHARS] + "\n[...]"
        self.failure_view.value = (
            f"<p><strong>{text(where)}</strong> raised <code>{text(failure.ename)}</code> "
            "(Preview shows its message and traceback as they would be sent, secrets "
            "redacted).</p>"
            f"<pre style='white-space: pre-wrap'>{lines(source)}</pre>"
        )

    # ------------------------------------------------------------------ preview, send, apply

    def _preview(self) -> None:
        cell = self.cell
        if cell is None:
            return

        def shown(preview: dict[str, Any]) -> None:
            self.sha256 = str(preview.get("sha256", ""))
            self.payload.value = _scrolling(payload_bundle(preview)["text/html"])
            self.send.disabled = not self.sha256
            self.status.show(f"Nothing sent yet: {payload_summary(preview)}.", "info")

        self.context.run(
            self.status, "Building the payload…", lambda c: c.ai_fix_preview(cell), shown
        )

    def _send(self) -> None:
        password = self.password.take()
        cell, sha256, failure = self.cell, self.sha256, self.failure
        if not password or cell is None or not sha256:
            del password
            self.status.show("Preview the payload, then type the vault password.", "error")
            return
        connection = self.connection.value.strip() or None

        def shown(fix: dict[str, Any]) -> None:
            if fix.get("outcome") != "fixed" or not isinstance(fix.get("fixed_source"), str):
                reason = fix.get("no_fix_reason") or "the model proposed no change"
                self.proposal.value = (
                    f"<p>No fix to offer: {text(reason)}.</p>"
                    f"<p style='white-space: pre-wrap'>{lines(fix.get('explanation') or '')}</p>"
                )
                self.apply.disabled = True
                return
            self.proposal.value = _scrolling(fix_bundle(fix)["text/html"])
            self.fixed_source = str(fix["fixed_source"])
            self.fixed_for = failure
            self.apply.disabled = False

        self.context.run(
            self.status,
            "Sent; waiting for the proposal…",
            lambda client: client.ai_fix(cell, sha256, password, connection),
            shown,
        )

    def _apply(self) -> None:
        fixed, failure = self.fixed_source, self.fixed_for
        if fixed is None or failure is None:
            return
        count = failure.execution_count
        cell_id = self.cell_ids.get(count) if isinstance(count, int) else None
        self.status.show("Applying through JupyterLab…", "busy")

        def answered(answer: dict[str, Any]) -> None:
            if answer.get("ok"):
                self.apply.disabled = True
                self.status.show(
                    "The failing cell now holds the fix (Undo in the notebook takes it back). "
                    "Review it, then run it.",
                    "ok",
                )
            elif answer.get("absent"):
                self._insert_below(fixed)
            else:
                self.status.show(
                    f"Not applied: {answer.get('error') or 'the front end refused'}.", "error"
                )

        self.bridge.replace_cell(cell_id or "", failure.source, fixed, answered)

    def _insert_below(self, fixed: str) -> None:
        shell = self.context.shell
        if shell is None:
            self.status.show("Not applied: no IPython shell to insert the cell with.", "error")
            return
        shell.set_next_input(fixed, replace=False)
        self.apply.disabled = True
        self.status.show(
            "This front end cannot edit cells from the kernel (the WatchDog Lab lab extension "
            "is absent): the fixed cell is inserted below the next cell you run.",
            "ok",
        )


def _scrolling(html: str) -> str:
    """``html`` (escaped already) in a box of bounded height: a payload is pages long."""
    return (
        "<div role='region' tabindex='0' aria-label='AI Fix' "
        f"style='max-height: {SCROLL_HEIGHT}; overflow: auto'>{html}</div>"
    )
