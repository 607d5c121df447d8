"""Redaction of a notebook's outputs: every text an output carries, at any depth.

Used where a notebook leaves a process: a bot's executed run, and (in the server) every
notebook before the contents manager writes it. Sources are left alone: they hold code, and a
secret pasted into code is the user's to remove (the UI warns); outputs are what leak by
accident.
"""

from __future__ import annotations

import copy
from typing import Any

from .redactor import Redactor


def redact_value(value: Any, redactor: Redactor) -> Any:
    """Redact every string inside ``value`` (dicts, lists, strings), returning a new value."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, list):
        return [redact_value(item, redactor) for item in value]
    if isinstance(value, dict):
        return {key: redact_value(item, redactor) for key, item in value.items()}
    return value


def redact_outputs(outputs: list[Any], redactor: Redactor) -> list[Any]:
    return [redact_value(output, redactor) for output in outputs]


def redact_notebook(nb: Any, redactor: Redactor) -> Any:
    """A copy of ``nb`` (nbformat node or plain dict) whose outputs are redacted."""
    clean = copy.deepcopy(nb)
    for cell in clean.get("cells", []):
        if cell.get("cell_type") == "code" and cell.get("outputs"):
            cell["outputs"] = _as_nodes(redact_outputs(cell["outputs"], redactor), cell["outputs"])
    return clean


def _as_nodes(values: list[Any], original: list[Any]) -> list[Any]:
    """Keep nbformat's attribute-access nodes when the input used them."""
    if original and type(original[0]) is not dict:
        from nbformat import from_dict

        return [from_dict(v) for v in values]
    return values
