"""The Bots tab: the bots with their state, sandbox and last error; start, stop, restart;
and *Promote this notebook*.

Promote goes in the order the user needs to judge it: the notebook is saved first (through the
lab extension; without it the last saved version is what gets promoted, and the tab says so),
then the name, mode, parameters and connections are shown for editing, then the dependency
verdicts, then the promote job's steps as they happen. The promote itself carries the vault
password: it grants the chosen connections to the new bot.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any, Final

import ipywidgets as widgets

from .bridge import FrontendBridge
from .common import (
    WIDE_LABEL,
    Context,
    SecretField,
    Status,
    badge,
    button,
    css_class,
    lines,
    table,
    text,
)

#: Seconds between two looks at the bots while the tab is shown.
REFRESH_SECONDS: Final = 3.0
#: Seconds between two looks at a running promote job.
JOB_POLL_SECONDS: Final = 0.5
MODES: Final = ("once", "every", "continuous")
#: Height of the promote's step list (it scrolls; a venv build has dozens of steps).
PROGRESS_HEIGHT: Final = "16em"

_STATE_BADGE = {
    "running": "ok",
    "sleeping": "ok",
    "starting": "warn",
    "waiting-for-unlock": "warn",
    "crashed": "error",
    "stopped": "",
}
_ACTING = {"start": "Starting", "stop": "Stopping", "restart": "Restarting"}
_VERDICT_BADGE = {"approved": "ok", "flagged": "warn", "refused": "error"}
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\- ]+")


class BotsTab:
    title = "Bots"

    def __init__(
        self, context: Context, bridge: FrontendBridge, is_shown: Callable[[], bool]
    ) -> None:
        self.context = context
        self.bridge = bridge
        self.is_shown = is_shown
        self.table = widgets.HTML(value="")
        self.table.add_class(css_class("bots-table"))
        self.pick = widgets.Dropdown(description="Bot", options=[])
        self.pick.add_class(css_class("bot-pick"))
        self.start_button = button("bot-start", "Start", style="success")
        self.stop_button = button("bot-stop", "Stop")
        self.restart_button = button("bot-restart", "Restart")
        for control, action in (
            (self.start_button, "start"),
            (self.stop_button, "stop"),
            (self.restart_button, "restart"),
        ):
            control.on_click(lambda _, action=action: self._act(action))
        self.status = Status("bots")
        self.promote_open = button("promote-open", "Promote this notebook", style="primary")
        self.promote_open.on_click(self._begin_promote)
        self.promote = PromoteForm(context, bridge, on_done=self.refresh)
        self.widget = widgets.VBox(
            [
                self.table,
                widgets.HBox([self.pick, self.start_button, self.stop_button, self.restart_button]),
                self.status,
                widgets.HBox([self.promote_open]),
                self.promote.widget,
            ]
        )
        self.widget.add_class(css_class("bots"))
        self.names: list[str] = []
        self._read = False

    def start(self) -> None:
        self.context.every(REFRESH_SECONDS, self._tick)

    def _tick(self) -> None:
        if self.is_shown() or not self._read:
            self.show(self.context.client().bots())
            self._read = True

    def refresh(self) -> None:
        self.context.run(self.status, "Reading the bots…", lambda c: c.bots(), self.show)

    def show(self, answer: dict[str, Any]) -> None:
        bots = answer.get("bots") or []
        rows = []
        names = []
        for bot in bots:
            names.append(str(bot.get("name", "")))
            status = bot.get("status") or {}
            state = str(bot.get("state", ""))
            error = status.get("last_error") or {}
            error_text = f"{error.get('ename', '')}: {error.get('evalue', '')}" if error else ""
            rows.append(
                [
                    text(bot.get("name", "")),
                    badge(state, _STATE_BADGE.get(state, "")),
                    text(bot.get("mode", "")),
                    text(status.get("sandbox") or "not started"),
                    f"<span style='white-space: pre-wrap'>{lines(error_text[:300])}</span>",
                ]
            )
        html = (
            table(["Bot", "State", "Mode", "Sandbox", "Last error"], rows, "bot-table")
            if rows
            else "<p>No bot yet: promote this notebook below.</p>"
        )
        if self.table.value != html:
            self.table.value = html
        if names != self.names:
            self.names = names
            current = self.pick.value
            self.pick.options = names
            self.pick.value = current if current in names else (names[0] if names else None)

    def _act(self, action: str) -> None:
        ref = self.pick.value
        if not ref:
            self.status.show("Pick a bot first.", "error")
            return
        self.context.run(
            self.status,
            f"{_ACTING[action]} {ref}…",
            lambda client: client.bot_action(ref, action),
            lambda _: self._after_action(f"{ref}: {action} asked."),
        )

    def _after_action(self, message: str) -> None:
        self.status.show(message, "ok")
        self.show(self.context.client().bots())

    def _begin_promote(self, _: Any = None) -> None:
        self.promote.begin()


class PromoteForm:
    """Save, then the bot's settings, then the verdicts, then the job's progress."""

    def __init__(
        self, context: Context, bridge: FrontendBridge, on_done: Callable[[], None]
    ) -> None:
        self.context = context
        self.bridge = bridge
        self.on_done = on_done
        self.saved = widgets.HTML(value="")
        self.saved.add_class(css_class("promote-saved"))
        self.name = widgets.Text(description="Name")
        self.name.add_class(css_class("promote-name"))
        self.mode = widgets.Dropdown(description="Mode", options=list(MODES), value="once")
        self.mode.add_class(css_class("promote-mode"))
        self.every = widgets.BoundedFloatText(
            description="Every (s)", value=60.0, min=1.0, max=7 * 86400.0, style=WIDE_LABEL
        )
        self.every.add_class(css_class("promote-every"))
        self.parameters = widgets.VBox([])
        self.parameter_inputs: dict[str, widgets.Text] = {}
        self.connections = widgets.SelectMultiple(
            description="Connections", options=[], style=WIDE_LABEL
        )
        self.connections.add_class(css_class("promote-connections"))
        self.allow = widgets.Text(
            description="Allow", placeholder="flagged packages to allow, comma-separated"
        )
        self.allow.add_class(css_class("promote-allow"))
        self.check = button("promote-check", "Check dependencies")
        self.check.on_click(lambda _: self._plan())
        self.verdicts = widgets.HTML(value="")
        self.verdicts.add_class(css_class("promote-verdicts"))
        self.password = SecretField("promote-password", "Password", "vault password")
        self.go = button("promote-go", "Promote", style="primary")
        self.go.on_click(lambda _: self._promote())
        self.progress = widgets.HTML(value="")
        self.progress.add_class(css_class("promote-progress"))
        self.status = Status("promote")
        self.widget = widgets.VBox(
            [
                self.saved,
                widgets.HBox([self.name, self.mode, self.every]),
                self.parameters,
                self.connections,
                widgets.HBox([self.allow, self.check]),
                self.verdicts,
                widgets.HBox([self.password.widget, self.go]),
                self.status,
                self.progress,
            ]
        )
        self.widget.add_class(css_class("promote"))
        self.widget.layout.display = "none"
        self.notebook = ""
        self.mode.observe(lambda _: self._show_every(), names="value")
        self._show_every()

    def _show_every(self) -> None:
        self.every.layout.display = "" if self.mode.value == "every" else "none"

    def begin(self) -> None:
        """Step one: save the notebook through the front end, then read the plan."""
        self.widget.layout.display = ""
        self.progress.value = ""
        self.saved.value = "<p>Saving the notebook…</p>"
        self.bridge.save(self._saved)

    def _saved(self, answer: dict[str, Any]) -> None:
        if answer.get("ok"):
            self.saved.value = "<p>Saved: the notebook as it is now is what gets promoted.</p>"
        elif answer.get("absent"):
            self.saved.value = (
                "<p>This front end cannot save from the kernel (the WatchDog Lab lab extension is "
                "absent): <strong>the last saved version</strong> of the notebook is what gets "
                "promoted. Save it yourself first if it changed.</p>"
            )
        else:
            self.saved.value = (
                f"<p>Saving failed ({text(answer.get('error') or 'no reason given')}): the last "
                "saved version is what gets promoted.</p>"
            )
        self._plan()
        self.context.run(self.status, "", _connection_names, self._show_connections)

    def _show_connections(self, names: list[str]) -> None:
        chosen = [n for n in self.connections.value if n in names]
        self.connections.options = names
        self.connections.value = tuple(chosen)

    def _allowed(self) -> list[str]:
        return [p.strip() for p in self.allow.value.split(",") if p.strip()]

    def _plan(self) -> None:
        allow = self._allowed()
        self.context.run(
            self.status,
            "Checking what the notebook needs…",
            lambda client: client.plan(allow_packages=allow),
            self._show_plan,
        )

    def _show_plan(self, plan: dict[str, Any]) -> None:
        self.notebook = str(plan.get("notebook") or "")
        if not self.name.value and self.notebook:
            stem = self.notebook.rsplit("/", 1)[-1].removesuffix(".ipynb")
            self.name.value = _NAME_CHARS.sub("-", stem).strip("-") or "bot"
        inputs: dict[str, widgets.Text] = {}
        for parameter in plan.get("parameters") or []:
            name = str(parameter.get("name", ""))
            previous = self.parameter_inputs.get(name)
            control = widgets.Text(
                description=name,
                value=previous.value if previous else str(parameter.get("default", "")),
                style={"description_width": "initial"},
            )
            control.add_class(css_class(f"parameter-{name}"))
            inputs[name] = control
        self.parameter_inputs = inputs
        self.parameters.children = (
            [widgets.HTML("<strong>Parameters</strong> (JSON values)"), *inputs.values()]
            if inputs
            else []
        )
        rows = []
        for dep in plan.get("dependencies") or []:
            verdict = str(dep.get("verdict", ""))
            why = dep.get("reason") or dep.get("rule") or ""
            rows.append(
                [
                    text(dep.get("name") or dep.get("spec") or ""),
                    text(dep.get("installed_version") or ""),
                    badge(verdict, _VERDICT_BADGE.get(verdict, "")),
                    text(why),
                ]
            )
        verdict_line = (
            "Every dependency is approved."
            if plan.get("ok")
            else "A dependency is flagged or refused: allow flagged ones by name above, or "
            "change the notebook."
        )
        warnings = "".join(f"<li>{text(w)}</li>" for w in plan.get("warnings") or [])
        listed = (
            table(["Package", "Version here", "Verdict", "Why"], rows, "verdict-table")
            if rows
            else "<p>No package to install beyond what every bot has.</p>"
        )
        self.verdicts.value = (
            listed + f"<p>{text(verdict_line)}</p>" + (f"<ul>{warnings}</ul>" if warnings else "")
        )

    def _parameters(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, control in self.parameter_inputs.items():
            try:
                values[name] = json.loads(control.value)
            except ValueError:
                values[name] = control.value
        return values

    def _promote(self) -> None:
        password = self.password.take() or None
        name = self.name.value.strip()
        connections = list(self.connections.value)
        if not name or (connections and not password):
            del password
            self.status.show(
                "Name the bot; giving it connections takes the vault password.", "error"
            )
            return
        mode = str(self.mode.value)
        every = float(self.every.value) if mode == "every" else None
        parameters = self._parameters()
        allow = self._allowed()
        self.progress.value = ""
        self.context.run(
            self.status,
            f"Promoting {name}…",
            lambda client: client.promote(
                name,
                mode=mode,
                interval=every,
                parameters=parameters,
                connections=connections,
                allow_packages=allow,
                password=password,
            ),
            self._follow,
        )

    def _follow(self, job: dict[str, Any]) -> None:
        """Show the job's steps until it is done or failed, from a thread of its own."""
        self.show_job(job)
        job_id = job.get("id")
        if not job_id or job.get("state") in ("done", "failed"):
            self._finished(job)
            return

        def poll() -> None:
            current = job
            while not self.context.stopped.is_set():
                self.context.stopped.wait(JOB_POLL_SECONDS)
                try:
                    current = self.context.client().job(str(job_id))
                except Exception as error:
                    self.status.show(f"Lost sight of the promote job: {error}", "error")
                    return
                self.show_job(current)
                if current.get("state") in ("done", "failed"):
                    self._finished(current)
                    return

        threading.Thread(target=poll, name="wd-panel-job", daemon=True).start()

    def show_job(self, job: dict[str, Any]) -> None:
        steps = job.get("steps") or []
        state = str(job.get("state", ""))
        items = "".join(f"<li>{text(step)}</li>" for step in steps)
        kind = {"done": "ok", "failed": "error"}.get(state, "warn")
        error = f"<p>{text(job.get('error'))}</p>" if job.get("error") else ""
        # One child in a reversed column: the box stays scrolled to the newest step.
        self.progress.value = (
            f"<div role='log' aria-label='promote progress'>{badge(state, kind)}{error}"
            f"<div tabindex='0' style='max-height: {PROGRESS_HEIGHT}; overflow-y: auto; "
            f"display: flex; flex-direction: column-reverse'><ol>{items}</ol></div></div>"
        )

    def _finished(self, job: dict[str, Any]) -> None:
        if job.get("state") == "done":
            bot = job.get("bot") or {}
            self.status.show(f"{bot.get('name') or 'The bot'} is promoted.", "ok")
            self.on_done()
        elif job.get("state") == "failed":
            self.status.show(str(job.get("error") or "The promote failed."), "error")


def _connection_names(client: Any) -> list[str]:
    return [str(c["name"]) for c in client.connections().get("connections") or [] if c.get("name")]
