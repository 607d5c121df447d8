"""What promoting, building, running or supervising a bot can refuse or fail with."""

from __future__ import annotations


class BotError(Exception):
    """Base class: every bot failure a user can act on."""


class PackageRefused(BotError):
    """The dependency policy refused a package before anything was installed."""

    def __init__(self, package: str, rule: str, reason: str) -> None:
        self.package = package
        self.rule = rule
        shown = package if len(package) <= 80 else package[:77] + "..."
        super().__init__(f"Package {shown!r} refused ({rule}): {reason}")


class NotebookError(BotError):
    """The notebook to promote is missing, unreadable or not a notebook."""


class EnvironmentBuildFailed(BotError):
    """Creating the bot's venv or installing into it failed."""


class PackagesRefused(BotError):
    """One or more packages refused; every refusal is listed so the user fixes them at once."""

    def __init__(self, refusals: list[PackageRefused]) -> None:
        self.refusals = refusals
        lines = "\n".join(f"  - {r}" for r in refusals)
        super().__init__(
            f"Promote refused before anything was installed:\n{lines}\n"
            "Fix the notebook, or pass --allow-package NAME for a real package that only looks "
            "like a popular one."
        )


class SandboxUnavailable(BotError):
    """The bot's sandbox setting asks for a level this machine cannot give."""


class InvalidLimit(BotError):
    """A configured resource limit the sandbox cannot honour as written."""


class BotSealBroken(BotError):
    """A bot's sealed files changed outside WatchDog Lab, or it has no seal to check: it gets
    no connection. The message names the bot and what changed, never a file's contents."""


class NotebookChanged(BotSealBroken):
    """The notebook a runner was started with changed on disk after its seal was checked."""
