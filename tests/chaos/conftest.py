"""Fault tests: the bots' real vault, venvs and runners, broken on purpose.

Each test asserts that nothing is lost and nothing is duplicated. The fixtures are the bot
tests' own (one uv cache per session, a real vault, a manager that stops every runner after
the test).
"""

from __future__ import annotations

from ..bots.conftest import bot_home, manager, uv_cache, vault

__all__ = ["bot_home", "manager", "uv_cache", "vault"]
