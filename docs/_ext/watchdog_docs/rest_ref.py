"""The REST reference, rendered from ``watchdog_lab/server/openapi.yaml``.

The OpenAPI file is the contract a test already holds against the server's route table, so the
page shows it as it is: every path, each method's summary, description, parameters, request
body fields and response codes, and the shared schemas. It needs PyYAML only, and works
offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .markdown import cell, code, escape, heading

__all__ = ["METHODS", "load", "operations", "render"]

METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
SPEC = Path(__file__).resolve().parents[3] / "watchdog_lab" / "server" / "openapi.yaml"


def load(path: Path = SPEC) -> dict[str, Any]:
    """The OpenAPI document, YAML anchors resolved."""
    import yaml  # type: ignore[import-untyped]  # PyYAML ships no types

    spec: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return spec


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(path, METHOD, operation)`` for every operation, in the file's order."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                found.append((path, method.upper(), item[method]))
    return found


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _type(schema: dict[str, Any]) -> str:
    """A schema's type as one short phrase: ``string``, ``integer | null``, ``array of X``."""
    name = _ref_name(schema)
    if name:
        return f"{{ref}}`{name} <schema-{name.lower()}>`"
    if "enum" in schema:
        return " \\| ".join(code(json.dumps(value)) for value in schema["enum"])
    kind = schema.get("type")
    for combiner in ("oneOf", "anyOf", "allOf"):
        if combiner in schema and kind is None:
            return " \\| ".join(_type(part) for part in schema[combiner])
    if isinstance(kind, list):
        return " \\| ".join(code(str(part)) for part in kind)
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    return code(str(kind)) if kind else "any"


def _fields(schema: dict[str, Any]) -> list[str]:
    properties = schema.get("properties") or {}
    if not properties:
        return [f"Body: {_type(schema)}.", ""] if schema else []
    required = set(schema.get("required", ()))
    rows = ["| Field | Type | Required | Description |", "|---|---|---|---|"]
    for name, field in properties.items():
        notes = field.get("description", "")
        limits = [
            f"{key} {field[key]}"
            for key in ("minLength", "maxLength", "minimum", "maximum", "maxItems")
            if key in field
        ]
        if limits:
            notes = f"{notes} ({', '.join(limits)})".strip()
        rows.append(
            f"| {code(name)} | {_type(field)} | {'yes' if name in required else 'no'} "
            f"| {cell(notes)} |"
        )
    return [*rows, ""]


def _parameters(parameters: list[dict[str, Any]]) -> list[str]:
    if not parameters:
        return []
    rows = ["| Parameter | In | Type | Required | Description |", "|---|---|---|---|---|"]
    for parameter in parameters:
        rows.append(
            f"| {code(parameter['name'])} | {parameter.get('in', '')} "
            f"| {_type(parameter.get('schema', {}))} "
            f"| {'yes' if parameter.get('required') else 'no'} "
            f"| {cell(parameter.get('description', ''))} |"
        )
    return ["**Parameters**", "", *rows, ""]


def _request(body: dict[str, Any] | None) -> list[str]:
    if not body:
        return []
    lines = [f"**Request body** ({'required' if body.get('required') else 'optional'})", ""]
    for media, content in (body.get("content") or {}).items():
        lines += [f"{code(media)}:", ""]
        lines += _fields(content.get("schema") or {})
    return lines


def _responses(responses: dict[str, Any]) -> list[str]:
    rows = ["| Status | Meaning |", "|---|---|"]
    for status, response in responses.items():
        meaning = response.get("description", "")
        headers = ", ".join(code(name) for name in response.get("headers", {}))
        if headers:
            meaning += f" Headers: {headers}."
        rows.append(f"| {code(str(status))} | {cell(meaning)} |")
    return ["**Responses**", "", *rows, ""]


def render(spec: dict[str, Any] | None = None) -> str:
    """The whole API as MyST Markdown."""
    spec = load() if spec is None else spec
    base = (spec.get("servers") or [{}])[0].get("url", "")
    lines = [escape(spec.get("info", {}).get("description", "")), ""]
    if base:
        lines += [
            f"Every path below is relative to {code('{base_url}' + base.strip('/') + '/')}.",
            "",
        ]
    for path, item in spec.get("paths", {}).items():
        lines += [heading(2, code(path)), ""]
        shared = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            lines += [heading(3, f"{code(method.upper())} {escape(operation.get('summary', ''))}")]
            lines += [""]
            if operation.get("description"):
                lines += [escape(operation["description"]), ""]
            if operation.get("operationId"):
                lines += [f"Operation id: {code(operation['operationId'])}.", ""]
            lines += _parameters([*shared, *operation.get("parameters", [])])
            lines += _request(operation.get("requestBody"))
            lines += _responses(operation.get("responses", {}))
    schemas = spec.get("components", {}).get("schemas", {})
    if schemas:
        lines += [heading(2, "Schemas"), ""]
        for name, schema in schemas.items():
            lines += [f"(schema-{name.lower()})=", heading(3, code(name)), ""]
            if schema.get("description"):
                lines += [escape(schema["description"]), ""]
            lines += _fields(schema)
    return "\n".join(lines)
