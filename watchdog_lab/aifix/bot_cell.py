"""A bot's last failure as a :class:`FailingCell`: what every face sends for ``bots fix``.

One function, so the REST API and the CLI send the same thing for the same bot (and the same
SHA-256 for the same failure). Everything comes from what the runner recorded
(``status.last_error``, redacted by the runner already and again by the payload builder) and
from the bot's venv, read as files: nothing of the bot is imported or run in the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import NoRecordedFailure
from .imports import environment_versions
from .models import FailingCell, FixTarget

if TYPE_CHECKING:
    from ..bots.models import DescribeBot
    from ..bots.supervisor import BotManager

__all__ = ["BotFailure", "bot_failure", "venv_python_version", "venv_site_packages"]

#: Bots run Python notebooks in a Python venv.
BOT_LANGUAGE = "python"


@dataclass(frozen=True)
class BotFailure:
    """The failing cell of a bot and the notebook version it failed in (the version a fix is
    made for, which publishing it checks)."""

    bot: DescribeBot
    cell: FailingCell
    notebook_version: int

    @property
    def cell_index(self) -> int:
        assert self.cell.cell_index is not None, "bot_failure only builds cells with an index"
        return self.cell.cell_index


def bot_failure(manager: BotManager, ref: str) -> BotFailure:
    """The cell that failed in the version the bot runs, with its venv's package versions.

    Refused (:class:`NoRecordedFailure`) when there is none: no failure yet, a failure outside
    any cell, or one in another version than the bot runs now (after a fix or a rollback its
    cell index would name a cell of another notebook).
    """
    bot = manager.describe(ref)
    error = bot.status.last_error
    if error is None:
        raise NoRecordedFailure(bot.name)
    if error.cell_index is None:
        raise NoRecordedFailure(bot.name, "its last failure was not in a cell")
    if error.notebook_version != bot.notebook_version:
        where = (
            f"notebook version {error.notebook_version}"
            if error.notebook_version is not None
            else "an unrecorded notebook version"
        )
        raise NoRecordedFailure(
            bot.name,
            f"its last failure was in {where}, and it now runs version {bot.notebook_version}",
        )
    venv = manager.paths(bot.id).venv
    cell = FailingCell(
        source=error.source,
        ename=error.ename,
        evalue=error.evalue,
        traceback=error.traceback,
        language=BOT_LANGUAGE,
        language_version=venv_python_version(venv),
        versions=environment_versions(venv_site_packages(venv)),
        target=FixTarget.BOT,
        name=bot.name,
        cell_index=error.cell_index,
    )
    return BotFailure(bot, cell, bot.notebook_version)


def venv_site_packages(venv: Path) -> list[str]:
    """The venv's ``site-packages`` folders (one, in practice), for :func:`environment_versions`.

    An empty list (not None, which would mean the caller's own ``sys.path``) when the venv is
    gone: then no version is sent rather than the server's.
    """
    return [str(p) for p in sorted(venv.glob("lib/python*/site-packages")) if p.is_dir()]


def venv_python_version(venv: Path) -> str:
    """The venv's Python version as ``pyvenv.cfg`` records it (``version_info`` from uv,
    ``version`` from ``venv``); empty when unreadable."""
    try:
        text = (venv / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip().lower()] = value.strip()
    version = found.get("version_info") or found.get("version") or ""
    return version if len(version) <= 64 and version.isprintable() else ""
