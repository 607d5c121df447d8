"""A bot's current notebook version as a copy to open in the bot's own environment.

Someone debugging a bot wants its exact code on its exact packages. The version file is
sealed (:mod:`.seal`): editing it in place would break the seal, or worse, change what the bot
runs with its keys. So a face gets the version's content with the notebook's kernel set to the
bot's kernelspec, and writes it wherever the user's files live, as a new file; the bot never
reads that copy. The kernel it opens on is confined like the bot (the kernelspec names the
bot provisioner).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import InputFileError
from ..files import read_regular_file
from .errors import BotError
from .kernelspec import display_name
from .layout import BotPaths
from .notebook_scan import MAX_NOTEBOOK_BYTES

if TYPE_CHECKING:
    from .registry import BotRecord


class DescribeBotNotebook(BaseModel):
    """``GET bots/{ref}/notebook``: the current version, ready to be saved as a copy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bot: str
    version: int
    kernel_name: str = Field(description="the bot's kernelspec, which the copy names")
    notebook: dict[str, Any] = Field(description="nbformat JSON, code only (outputs dropped)")


def bot_notebook(record: BotRecord, paths: BotPaths) -> DescribeBotNotebook:
    """The version the bot runs, its kernelspec set to the bot's own."""
    version = record.config.notebook_version
    path = paths.notebook(version)
    try:
        raw = read_regular_file(path, MAX_NOTEBOOK_BYTES, "Notebook")
        notebook = json.loads(raw.decode("utf-8"))
    except (OSError, InputFileError, ValueError):
        raise BotError(
            f"Notebook version {version} of bot {record.name!r} cannot be read; "
            "`watchdog-lab bots versions` lists what is there."
        ) from None
    if not isinstance(notebook, dict):
        raise BotError(f"Notebook version {version} of bot {record.name!r} is not a notebook.")
    metadata = notebook.setdefault("metadata", {})
    if isinstance(metadata, dict):
        metadata["kernelspec"] = {
            "name": record.config.kernel_name,
            "display_name": display_name(record.name),
            "language": "python",
        }
    return DescribeBotNotebook(
        bot=record.name, version=version, kernel_name=record.config.kernel_name, notebook=notebook
    )
