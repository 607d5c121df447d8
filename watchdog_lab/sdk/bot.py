"""``wd.bot``: who am I? The running bot's id, name and folders, from its runner.

Outside a bot (an interactive notebook) there is no bot: ``wd.bot`` is ``None``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BOT_ID_VAR = "WATCHDOG_LAB_BOT_ID"
BOT_NAME_VAR = "WATCHDOG_LAB_BOT_NAME"
BOT_DIR_VAR = "WATCHDOG_LAB_BOT_DIR"
STATE_DIR_VAR = "WATCHDOG_LAB_STATE_DIR"


@dataclass(frozen=True)
class BotInfo:
    id: str
    name: str
    folder: Path
    state_dir: Path


def current_bot() -> BotInfo | None:
    bot_id = os.environ.get(BOT_ID_VAR)
    folder = os.environ.get(BOT_DIR_VAR)
    if not bot_id or not folder:
        return None
    return BotInfo(
        id=bot_id,
        name=os.environ.get(BOT_NAME_VAR, bot_id),
        folder=Path(folder),
        state_dir=Path(os.environ.get(STATE_DIR_VAR) or Path(folder) / "state"),
    )
