"""Which packages a cell imports, and which versions an environment holds of them.

Only the versions of what the failing cell imports are sent: the whole environment would
tell the model (and whoever reads its logs) far more about the machine than the fix needs.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata

__all__ = ["environment_versions", "imported_modules"]


def imported_modules(source: str) -> list[str]:
    """Top-level module names the cell imports (``import a.b`` -> ``a``), in first-seen order.

    IPython syntax (``%magic``, ``!shell``) is blanked before parsing; a cell that does not
    parse (a syntax error may be why it failed) is read statement by statement instead.
    """
    if source.lstrip().startswith("%%"):
        return []
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        trees: list[ast.Module] = [ast.parse("\n".join(lines))]
    except (SyntaxError, ValueError):
        trees = _import_lines(lines)
    names: dict[str, None] = {}
    for tree in trees:
        for node in _statements(getattr(tree, "body", [])):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    names.setdefault(alias.name.partition(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.setdefault(node.module.partition(".")[0])
    return list(names)


def _statements(nodes: list[ast.stmt]) -> Iterable[ast.stmt]:
    """Every statement, nested ones included, without descending into expressions: an import
    is a statement, and a full ``ast.walk`` of a long cell costs ten times more."""
    for node in nodes:
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                yield from _statements(children)


def _import_lines(lines: list[str]) -> list[ast.Module]:
    trees: list[ast.Module] = []
    for line in lines:
        text = line.strip()
        if text.startswith(("import ", "from ")):
            try:
                trees.append(ast.parse(text))
            except (SyntaxError, ValueError):
                continue
    return trees


def environment_versions(paths: list[str] | None = None) -> dict[str, str]:
    """Import name -> version of every distribution found on ``paths`` (a bot venv's
    ``site-packages``), or on ``sys.path`` when None.

    Read from the distributions' metadata files only: nothing of the environment is imported
    or run, so a bot's packages never execute in the server. Reading them costs a few hundred
    milliseconds, and every AI Fix preview and send asks; the answer is kept until a folder
    on the path changes (installing, removing or upgrading a package changes its folder's
    modification time).
    """
    folders = list(sys.path if paths is None else paths)
    return dict(_versions(tuple((folder, _mtime(folder)) for folder in folders)))


def _mtime(folder: str) -> int:
    try:
        return os.stat(folder or ".").st_mtime_ns
    except OSError:
        return -1


@lru_cache(maxsize=32)
def _versions(folders: tuple[tuple[str, int], ...]) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for dist in metadata.distributions(path=[folder for folder, _mtime in folders]):
        version = dist.version
        name = dist.metadata["Name"] if dist.metadata else None
        if not version or not name:
            continue
        for module in _top_level(dist):
            found.setdefault(module, version)
        found.setdefault(name.replace("-", "_").lower(), version)
    return tuple(found.items())


def _top_level(dist: metadata.Distribution) -> list[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return [line.strip() for line in text.splitlines() if line.strip().isidentifier()]
    modules: dict[str, None] = {}
    for file in dist.files or ():
        top = file.parts[0] if file.parts else ""
        if top.endswith((".dist-info", ".data", ".egg-info")) or top in ("..", "__pycache__"):
            continue
        if top.endswith(".py"):
            top = top[:-3]
        elif len(file.parts) == 1:
            continue  # a stray file at the top, not a module
        if top.isidentifier():
            modules.setdefault(top)
    return list(modules)
