"""The executed notebooks a runner keeps in ``runs/``: listing them and reading one back.

A run's name comes from a URL or a command line, and becomes a path: it is accepted only in
the exact shape the runner writes (``20260101T120000-r00042.ipynb``), so no name can point
anywhere but at one file of that bot's ``runs/`` folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .errors import BotError, InvalidRunName, RunNotFound
from .layout import BotPaths
from .models import DescribeRun

#: ``<UTC timestamp>-r<run number>.ipynb``, as :meth:`Runner._save_run` names them.
RUN_NAME = re.compile(r"\d{8}T\d{6}-r\d{5,9}\.ipynb")
MAX_RUN_BYTES = 50 * 1024 * 1024


def list_runs(paths: BotPaths) -> list[DescribeRun]:
    """Newest first."""
    out: list[DescribeRun] = []
    try:
        entries = list(paths.runs.iterdir())
    except FileNotFoundError:
        return []
    for entry in entries:
        if not RUN_NAME.fullmatch(entry.name):
            continue
        try:
            info = entry.stat()
        except FileNotFoundError:  # pruned by the runner meanwhile
            continue
        out.append(DescribeRun(name=entry.name, created_at=info.st_mtime, size=info.st_size))
    out.sort(key=lambda run: run.name, reverse=True)
    return out


def run_path(paths: BotPaths, name: str) -> Path:
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name):
        raise InvalidRunName(str(name))
    return paths.runs / name


def read_run(paths: BotPaths, name: str) -> dict[str, Any]:
    """The run's notebook as JSON (its outputs were redacted by the runner when saved)."""
    path = run_path(paths, name)
    try:
        if path.is_symlink() or not path.is_file():
            raise RunNotFound(name)
        if path.stat().st_size > MAX_RUN_BYTES:
            raise BotError(f"Run {name!r} is larger than 50 MiB; open it from the bot's folder.")
        run: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return run
    except FileNotFoundError as exc:
        raise RunNotFound(name) from exc
    except ValueError as exc:
        raise BotError(f"Run {name!r} is not a readable notebook.") from exc
