"""What every tab of the panel shares: the broker client, passwords that do not stay in a
widget, the busy-kernel notice, background work, and text made safe for HTML.

The panel runs in the notebook's kernel, next to code nobody reviewed, so it holds nothing that
kernel code could not reach anyway: it talks to the server only through this kernel's broker
token (:class:`~watchdog_lab.sdk.broker.BrokerClient`), exactly like ``%wd``.

Two facts of ipywidgets shape this module:

- A widget's value is its state, and JupyterLab's *Save Widget State Automatically* writes the
  state of every widget into the notebook's ``metadata.widgets``. A password must therefore not
  stay in a widget: :class:`SecretField` takes it out of the widget the moment it reaches the
  kernel (``continuous_update=False``: it arrives on Enter or when the field loses focus, not per
  keystroke) and keeps it only until the action that needs it runs.
- Button callbacks run on the kernel's shell thread, after the cell that is running. The panel
  cannot see a click the kernel has not read yet, so :class:`BusyNotice` says, while a cell
  runs, that what is clicked now waits for it.

Widgets are only ever updated by value (``widget.value = ...``) from background threads, never
through an ``Output`` widget's context manager, which captures by the parent message and mixes
up output sent from threads (ipykernel 7.0 broke it, 7.1 fixed the sending).
"""

from __future__ import annotations

import contextlib
import html
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import ipywidgets as widgets
from traitlets import Unicode

from ...sdk.broker import BrokerClient
from ...sdk.errors import BrokerError
from ...textsafe import escape

#: What every tab says when the kernel has no broker (not started by a server with the extension).
NO_BROKER: Final = (
    "This kernel was not started by a Jupyter server with WatchDog Lab, so the panel cannot reach "
    "the vault or the bots. Open the notebook in JupyterLab with WatchDog Lab installed (or "
    "restart its kernel if the extension was installed after it started)."
)
BUSY: Final = (
    "A cell is running: what you click in this panel waits until it finishes (the kernel reads "
    "clicks between cells)."
)
#: How long a cell runs before the panel says that clicks wait for it.
BUSY_AFTER_SECONDS: Final = 0.5
#: How long a typed password is kept, unused, before it is forgotten.
SECRET_HOLD_SECONDS: Final = 300.0
#: Background calls at once: one slow call (a promote, an AI Fix) must not hold the others up.
WORKERS: Final = 3


def css_class(name: str) -> str:
    """The DOM class of a panel control: how the browser tests and the styles find it."""
    return f"wd-panel-{name}"


def text(value: object) -> str:
    """Any text someone else chose, safe inside HTML: controls escaped, then markup escaped."""
    return html.escape(escape(str(value)))


def lines(value: object) -> str:
    """Like :func:`text`, keeping line breaks (for a ``white-space: pre-wrap`` block)."""
    return html.escape(escape(str(value), newlines=True))


def status_html(message: str, *, kind: str = "info") -> str:
    """One status line: ``kind`` is info, ok, error or busy; ``message`` is escaped here."""
    color = {
        "ok": "var(--jp-success-color1)",
        "error": "var(--jp-error-color1)",
        "busy": "var(--jp-warn-color1)",
    }.get(kind, "var(--jp-ui-font-color1)")
    return (
        f"<div class='{css_class('status')} {css_class('status-' + kind)}' role='status' "
        f"style='color: {color}'>{text(message)}</div>"
    )


class Status(widgets.HTML):  # type: ignore[misc]  # ipywidgets is untyped
    """A tab's status line, set from any thread."""

    def __init__(self, name: str) -> None:
        super().__init__(value="")
        self.add_class(css_class(f"{name}-status"))

    def show(self, message: str, kind: str = "info") -> None:
        self.value = status_html(message, kind=kind) if message else ""


class _Password(widgets.Password):  # type: ignore[misc]  # ipywidgets is untyped
    """A password input whose value the kernel does not echo back to the front ends (ipywidgets
    8 echoes every received value on IOPub, to every front end of the kernel)."""

    value = Unicode("", help="the typed value, emptied by the kernel on arrival").tag(
        sync=True, echo_update=False
    )


class SecretField:
    """A password input whose value leaves the widget as soon as the kernel receives it.

    The value is kept here, not in the widget, until :meth:`take` hands it to the one request
    that needs it (or :data:`SECRET_HOLD_SECONDS` pass): the widget's synced state, which a
    saved notebook may keep, never holds it for longer than one message round trip.
    """

    def __init__(self, name: str, description: str, placeholder: str) -> None:
        self.placeholder = placeholder
        self.widget = _Password(
            description=description,
            placeholder=placeholder,
            continuous_update=False,
            style={"description_width": "initial"},
        )
        self.widget.add_class(css_class(name))
        self._held = ""
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.widget.observe(self._received, names="value")

    def _received(self, change: dict[str, Any]) -> None:
        value = change["new"]
        if not value:
            return
        with self._lock:
            self._held = value
            self._restart_timer()
        del value, change
        self.widget.value = ""
        self.widget.placeholder = "entered (kept until used)"

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(SECRET_HOLD_SECONDS, self.forget)
        self._timer.daemon = True
        self._timer.start()

    def take(self) -> str:
        """The entered value, once; the field is empty afterwards."""
        with self._lock:
            value, self._held = self._held, ""
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self.widget.value = ""
        self.widget.placeholder = self.placeholder
        return value

    def forget(self) -> None:
        self.take()

    @property
    def entered(self) -> bool:
        return bool(self._held)


class BusyNotice:
    """Shows :data:`BUSY` while a cell of this kernel runs: IPython's cell events run on the
    shell thread right before and after each cell, and a timer thread puts the notice up while
    the shell thread is busy with the cell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.widget = widgets.HTML(value="")
        self.widget.add_class(css_class("busy"))
        self._installed = False
        self._timer: threading.Timer | None = None

    def install(self) -> None:
        if self.shell is None or self._installed:
            return
        self.shell.events.register("pre_run_cell", self._busy)
        self.shell.events.register("post_run_cell", self._free)
        self._installed = True

    def uninstall(self) -> None:
        if not self._installed:
            return
        for event, hook in (("pre_run_cell", self._busy), ("post_run_cell", self._free)):
            with contextlib.suppress(ValueError):
                self.shell.events.unregister(event, hook)
        self._installed = False

    def _busy(self, info: Any = None) -> None:
        # Shown only once the cell has run a moment: most cells end before a click could wait,
        # and a notice flashing at every cell would teach the eye to skip it.
        self._cancel()
        self._timer = threading.Timer(BUSY_AFTER_SECONDS, self._show)
        self._timer.daemon = True
        self._timer.start()

    def _show(self) -> None:
        self.widget.value = status_html(BUSY, kind="busy")

    def _free(self, result: Any = None) -> None:
        self._cancel()
        if self.widget.value:
            self.widget.value = ""

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class Context:
    """What the tabs share: the client, background workers and the lifetime of the panel."""

    def __init__(self, shell: Any, client_factory: Callable[[], BrokerClient | None]) -> None:
        self.shell = shell
        self._client_factory = client_factory
        self.stopped = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="wd-panel")
        self._threads: list[threading.Thread] = []

    def client(self) -> BrokerClient:
        """This kernel's broker client; :class:`BrokerError` when there is none."""
        client = self._client_factory()
        if client is None:
            raise BrokerError("", "broker_address", NO_BROKER)
        return client

    def run(
        self,
        status: Status,
        working: str,
        call: Callable[[BrokerClient], Any],
        done: Callable[[Any], None] | None = None,
    ) -> None:
        """``call(client)`` off the shell thread; ``done(answer)`` after, or the refusal shown
        in ``status``. ``call`` may close over a password: it is released with the task."""
        status.show(working, "busy")

        def task() -> None:
            try:
                answer = call(self.client())
            except BrokerError as error:
                status.show(str(error), "error")
                return
            except Exception as error:  # a failing task must not print a traceback (locals)
                status.show(f"{working.rstrip('.…')} failed ({type(error).__name__}).", "error")
                return
            status.show("")
            if done is not None:
                try:
                    done(answer)
                except Exception as error:
                    status.show(f"Could not show the answer ({type(error).__name__}).", "error")

        self._pool.submit(task)

    def every(self, seconds: float | Callable[[], float], tick: Callable[[], None]) -> None:
        """Call ``tick`` in a daemon thread every ``seconds`` until the panel closes; a tick
        that raises is skipped, not fatal."""

        def loop() -> None:
            while not self.stopped.is_set():
                with contextlib.suppress(Exception):
                    tick()
                interval = seconds() if callable(seconds) else seconds
                self.stopped.wait(interval)

        thread = threading.Thread(target=loop, name="wd-panel-poll", daemon=True)
        self._threads.append(thread)
        thread.start()

    def close(self) -> None:
        self.stopped.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


def button(name: str, label: str, *, style: str = "", tooltip: str = "") -> widgets.Button:
    """A button with a DOM class and an accessible label (its text, or the tooltip)."""
    control = widgets.Button(
        description=label,
        button_style=style,
        tooltip=tooltip or label,
        layout=widgets.Layout(width="auto", min_width="6em"),
    )
    control.add_class(css_class(name))
    return control


#: Labels shown whole, not cut to the default label width.
WIDE_LABEL: Final = {"description_width": "initial"}


def table(headers: list[str], rows: list[list[str]], name: str) -> str:
    """An HTML table; ``rows`` hold HTML already escaped by the caller."""
    head = "".join(f"<th scope='col' style='text-align:left'>{text(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return (
        f"<table class='{css_class(name)}' style='border-collapse: collapse; width: 100%'>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def badge(label: str, kind: str) -> str:
    color = {
        "ok": "var(--jp-success-color1)",
        "error": "var(--jp-error-color1)",
        "warn": "var(--jp-warn-color1)",
    }.get(kind, "var(--jp-layout-color3)")
    return (
        f"<span class='{css_class('badge')}' style='border: 1px solid {color}; color: {color}; "
        f"border-radius: 8px; padding: 0 6px'>{text(label)}</span>"
    )
