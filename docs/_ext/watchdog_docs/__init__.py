"""A Sphinx extension that writes the reference pages from the code they describe.

A page holds a marker line, ``<!-- watchdog-docs: NAME -->`` (an HTML comment, so the page
still reads as itself on GitHub), and the build replaces it with Markdown generated from the
code: ``configuration`` from the ``c.WatchdogLab.*`` traits, ``lab-settings`` from the front
end's settings schema, ``cli`` from the ``watchdog-lab`` argument parser, ``rest`` from
``openapi.yaml``, ``magics`` from the ``%wd`` command registry, ``aifix-payload`` from the code
that builds an AI Fix request, ``kinds`` from the registry of connection kinds. Nothing of
these references is written by hand, so a new setting, command or route is documented by the
build that follows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import aifix_ref, cli_ref, config_ref, kinds_ref, lab_settings_ref, magics_ref, rest_ref

__all__ = ["GENERATORS", "expand", "setup"]

GENERATORS: dict[str, Callable[[], str]] = {
    "configuration": config_ref.render,
    "lab-settings": lab_settings_ref.render,
    "cli": cli_ref.render,
    "rest": rest_ref.render,
    "magics": magics_ref.render,
    "aifix-payload": aifix_ref.render,
    "kinds": kinds_ref.render,
}

MARKER = re.compile(r"^<!-- watchdog-docs: (?P<name>[a-z-]+) -->$", re.MULTILINE)


class UnknownReference(ValueError):
    """A marker names a generator that does not exist (a typo in a page)."""


def expand(text: str) -> str:
    """``text`` with every marker replaced by its generated Markdown."""

    def generated(marker: re.Match[str]) -> str:
        name = marker.group("name")
        if name not in GENERATORS:
            known = ", ".join(sorted(GENERATORS))
            raise UnknownReference(f"unknown reference {name!r} in a docs page; known: {known}")
        return GENERATORS[name]()

    return MARKER.sub(generated, text)


def _source_read(app: Any, docname: str, source: list[str]) -> None:
    source[0] = expand(source[0])


def _always_regenerate(
    app: Any, env: Any, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Generated pages are re-read on every build: their source is the code, which Sphinx does
    not watch."""
    stale = []
    for docname in env.found_docs - removed:
        path = Path(env.doc2path(docname))
        if path.suffix == ".md" and MARKER.search(path.read_text(encoding="utf-8")):
            stale.append(docname)
    return stale


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _always_regenerate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
