"""Scrubbing of what the Jupyter contents manager writes: no secret reaches a saved notebook.

Registered as a contents-manager pre-save hook, so it runs on every save path of the server
(the REST contents API, JupyterLab's save and autosave, collaborative documents), after any
pre-save hook the user configured (``ContentsManager.pre_save_hook`` runs first, registered
hooks after) and chained with other extensions' hooks rather than replacing them.

What is scrubbed, with the server's redactor (known values and their encodings, plus the pattern
catalogue):

- notebooks: every output (``redact_notebook``), and the notebook and cell metadata, where
  widget state can hold a value typed into a widget. A ``Password`` widget's value is emptied
  whatever it holds: the vault password is no connection value, so the redactor does not know
  it, and "Save Widget State Automatically" would otherwise write one typed while a cell ran.
  Cell sources are left as written: they are code the user typed, and silently rewriting code
  changes what it does.
- plain files (``.py``, ``.env``, ...) are not rewritten, for the same reason; a save that holds
  a known value is reported in the server log (connection and field, never the value).

If scrubbing itself fails the save is refused with an HTTP error: the contents manager goes on
saving when a hook fails any other way, and an unscrubbed notebook on disk is the one outcome
this hook exists to prevent.
"""

from __future__ import annotations

import logging
from typing import Any

from tornado import web

from ..redact import Redactor
from ..redact.notebook import redact_notebook, redact_value

log = logging.getLogger(__name__)

SCRUB_FAILED_MESSAGE = (
    "WatchDog Lab could not check this notebook for secrets, so it was not saved. Your "
    "changes are still open in JupyterLab; the Jupyter server log has the details."
)


class ContentsScrubber:
    """The pre-save hook: ``hook(model=..., path=..., contents_manager=...)``."""

    #: jupyter_server names a failing hook by ``__name__`` in its log.
    __name__ = "watchdog_lab_scrub"

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def __call__(self, model: dict[str, Any], path: str, **_: Any) -> None:
        try:
            kind = model.get("type")
            if kind == "notebook" and isinstance(model.get("content"), dict):
                model["content"] = self.scrub_notebook(model["content"])
            elif kind == "file" and model.get("format") == "text":
                self._report_text(model.get("content"), path)
        except Exception:
            log.exception("WatchDog Lab failed to scrub %s before saving it", path)
            raise web.HTTPError(500, SCRUB_FAILED_MESSAGE) from None

    def scrub_notebook(self, nb: Any) -> Any:
        """A copy of ``nb`` with outputs and metadata redacted (sources untouched)."""
        clean = redact_notebook(nb, self.redactor)
        if isinstance(clean.get("metadata"), dict):
            metadata = redact_value(clean["metadata"], self.redactor)
            _blank_passwords(metadata)
            clean["metadata"] = _same_kind(metadata, nb)
        for cell in clean.get("cells", []):
            if isinstance(cell.get("metadata"), dict):
                cell["metadata"] = _same_kind(redact_value(cell["metadata"], self.redactor), nb)
        return clean

    def _report_text(self, content: object, path: str) -> None:
        if not isinstance(content, str):
            return
        labels = sorted({finding.label for finding in self.redactor.findings(content)})
        if labels:
            log.warning(
                "The file %s was saved holding what looks like secret values (%s). WatchDog "
                "Lab does not rewrite text files; move the value into a vault connection.",
                path,
                ", ".join(labels),
            )


#: Where ipywidgets keeps saved widget state, and the model of a ``Password`` widget.
WIDGET_STATE_KEY = "application/vnd.jupyter.widget-state+json"
PASSWORD_MODEL = "PasswordModel"  # noqa: S105 - a widget model name


def _blank_passwords(metadata: dict[str, Any]) -> None:
    """Empty the value of every saved ``Password`` widget in a notebook's metadata."""
    widgets = metadata.get("widgets")
    saved = widgets.get(WIDGET_STATE_KEY) if isinstance(widgets, dict) else None
    models = saved.get("state") if isinstance(saved, dict) else None
    if not isinstance(models, dict):
        return
    for model in models.values():
        if not isinstance(model, dict) or model.get("model_name") != PASSWORD_MODEL:
            continue
        state = model.get("state")
        if isinstance(state, dict) and state.get("value"):
            state["value"] = ""


def _same_kind(value: Any, original: Any) -> Any:
    """Keep nbformat's attribute-access nodes when the notebook came as one."""
    if type(original) is dict:
        return value
    from nbformat import from_dict

    return from_dict(value)
