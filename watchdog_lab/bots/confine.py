"""How a bot kernel is confined: the command prefix that applies the sandbox before exec.

Placeholder level until enforcement lands: reports ``unsandboxed`` and adds no prefix.
"""

from __future__ import annotations

from pathlib import Path

from .layout import BotPaths
from .models import BotConfig


def describe_level(mode: str) -> str:
    return "unsandboxed"


def launcher_prefix(paths: BotPaths, config: BotConfig, runtime_dir: Path) -> list[str]:
    return []
