"""The front end's settings, read from the JupyterLab settings schema it ships.

``labextension/schema/plugin.json`` is what JupyterLab's Settings Editor shows and validates
against, so its titles, descriptions, defaults and bounds are the ones a user meets there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .markdown import code, escape, heading

__all__ = ["SCHEMAS", "render", "settings"]

SCHEMAS = Path(__file__).resolve().parents[3] / "labextension" / "schema"


def settings() -> dict[str, dict[str, Any]]:
    """Every property of every schema the extension ships, by name."""
    found: dict[str, dict[str, Any]] = {}
    for schema in sorted(SCHEMAS.glob("*.json")):
        found.update(json.loads(schema.read_text(encoding="utf-8")).get("properties", {}))
    return found


def render() -> str:
    """Each setting with its type, default and bounds, as MyST Markdown."""
    lines: list[str] = []
    for name, spec in settings().items():
        lines += [heading(3, code(name)), ""]
        if spec.get("title"):
            lines += [f"**{escape(spec['title'])}.** " + escape(spec.get("description", "")), ""]
        elif spec.get("description"):
            lines += [escape(spec["description"]), ""]
        lines.append(f"- **Type:** {code(str(spec.get('type', 'any')))}")
        if "default" in spec:
            lines.append(f"- **Default:** {code(json.dumps(spec['default']))}")
        if "minimum" in spec or "maximum" in spec:
            low, high = spec.get("minimum", "-"), spec.get("maximum", "-")
            lines.append(f"- **Accepted:** {low} to {high}")
        lines.append("")
    return "\n".join(lines)
