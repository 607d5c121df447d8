"""The OpenAPI file and the routes the server really serves agree (both directions)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import pytest
import yaml

from .conftest import RouteSample, route_samples

METHODS = ("get", "post", "put", "patch", "delete")
FALLBACK_VALUES = ("sample-1", "1", "0" * 32, "00000000-0000-4000-8000-000000000000")


@cache
def spec() -> dict[str, Any]:
    text = resources.files("watchdog_lab.server").joinpath("openapi.yaml").read_text()
    return yaml.safe_load(text)


def parameters(path_item: dict[str, Any], operation: dict[str, Any] | None) -> list[dict]:
    found = list(path_item.get("parameters", []))
    if operation:
        found += operation.get("parameters", [])
    return [resolve(p) for p in found]


def resolve(node: Any) -> Any:
    if isinstance(node, dict) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return target
    return node


def concrete(template: str, path_item: dict[str, Any], route: RouteSample) -> str | None:
    """``template`` with every ``{param}`` filled so that it matches ``route``, if possible."""
    names = re.findall(r"{(\w+)}", template)
    choices: dict[str, tuple[str, ...]] = {}
    for name in names:
        enums: tuple[str, ...] = ()
        for op in [None, *(path_item.get(m) for m in METHODS)]:
            for param in parameters(path_item, op):
                if param.get("in") == "path" and param.get("name") == name:
                    enums = tuple(param.get("schema", {}).get("enum", ())) or enums
        choices[name] = enums or FALLBACK_VALUES

    def fill(parts: list[str], todo: list[str]) -> str | None:
        if not todo:
            path = "/watchdog-lab" + template.format(**dict(zip(names, parts, strict=True)))
            return path if re.fullmatch(route.pattern, path) else None
        for value in choices[todo[0]]:
            found = fill([*parts, value], todo[1:])
            if found:
                return found
        return None

    return fill([], names)


ROUTES = route_samples()


def route_of(template: str, path_item: dict[str, Any]) -> RouteSample | None:
    """The route tornado would pick for ``template``: the first in table order that matches."""
    for route in ROUTES:
        if concrete(template, path_item, route):
            return route
    return None


def documented_methods(path_item: dict[str, Any]) -> set[str]:
    return {m.upper() for m in METHODS if m in path_item}


PATHS = spec()["paths"]


def test_the_file_is_openapi_3_1_with_paths() -> None:
    document = spec()
    assert document["openapi"].startswith("3.1")
    assert document["servers"][0]["url"] == "/watchdog-lab"
    assert len(PATHS) >= 11


@pytest.mark.parametrize("template", list(PATHS))
def test_every_documented_path_is_served_with_the_same_methods(template: str) -> None:
    route = route_of(template, PATHS[template])
    assert route is not None, f"{template} is documented but no route serves it"
    assert documented_methods(PATHS[template]) == set(route.methods), (
        f"{template}: documented {sorted(documented_methods(PATHS[template]))}, "
        f"{route.handler.__name__} implements {sorted(route.methods)}"
    )


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.api_path)
def test_every_served_route_is_documented(route: RouteSample) -> None:
    documented = [t for t in PATHS if route_of(t, PATHS[t]) == route]
    assert documented, f"route {route.pattern} ({route.handler.__name__}) is not in openapi.yaml"
    methods = set().union(*(documented_methods(PATHS[t]) for t in documented))
    assert methods == set(route.methods)


def test_operation_ids_are_unique() -> None:
    ids = [PATHS[t][m]["operationId"] for t in PATHS for m in METHODS if m in PATHS[t]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("template", list(PATHS))
def test_every_operation_documents_a_success(template: str) -> None:
    for method in documented_methods(PATHS[template]):
        responses = PATHS[template][method.lower()]["responses"]
        assert any(str(code).startswith("2") for code in responses), f"{method} {template}"


def test_every_reference_resolves() -> None:
    document = spec()
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs
    for ref in refs:
        resolve({"$ref": ref})


def test_a_missing_route_would_be_noticed() -> None:
    """The matcher is not vacuous: a path nobody serves finds no route."""
    assert route_of("/connections/{name}/explode", {"post": {}}) is None
