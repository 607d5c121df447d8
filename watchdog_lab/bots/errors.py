"""What promoting, building, running or supervising a bot can refuse or fail with."""

from __future__ import annotations


class BotError(Exception):
    """Base class: every bot failure a user can act on."""


class PackageRefused(BotError):
    """The dependency policy refused a package before anything was installed."""

    def __init__(
        self, package: str, rule: str, reason: str, pulled_in_by: tuple[str, ...] = ()
    ) -> None:
        self.package = package
        self.rule = rule
        self.reason = reason
        # The requested packages a refused dependency came with (empty: asked for directly).
        self.pulled_in_by = pulled_in_by
        shown = package if len(package) <= 80 else package[:77] + "..."
        super().__init__(f"Package {shown!r} refused ({rule}): {reason}")


class NotebookError(BotError):
    """The notebook to promote is missing, unreadable or not a notebook."""


class EnvironmentBuildFailed(BotError):
    """Creating the bot's venv or installing into it failed."""


class StartupCodeRefused(EnvironmentBuildFailed):
    """A package installs code that runs at every interpreter start, outside any notebook.

    Such code would run wherever the venv's interpreter starts, so it is refused unless the
    user names the package as trusted. ``findings`` pairs each owning package (None: no
    installed package lists the file) with the file.
    """

    def __init__(self, findings: list[tuple[str | None, str]]) -> None:
        self.findings = findings
        lines = "\n".join(
            f"  - {owner or 'no installed package'}: {file}" for owner, file in findings
        )
        owners = sorted({owner for owner, _ in findings if owner})
        hint = (
            " If you trust it, promote again with "
            + " ".join(f"--allow-startup-code {owner}" for owner in owners)
            + "."
            if owners
            else ""
        )
        super().__init__(
            "Promote refused: these files run code every time Python starts in the bot's "
            f"environment, before any notebook cell:\n{lines}\nThe environment was removed." + hint
        )


class PackageFileConflict(EnvironmentBuildFailed):
    """A package installs files into an import package another distribution owns."""

    def __init__(self, conflicts: list[tuple[str, str, str]]) -> None:
        self.conflicts = conflicts
        lines = "\n".join(
            f"  - {dist} installs {file}, which belongs to {owner}"
            for dist, file, owner in conflicts
        )
        super().__init__(
            "Promote refused: a package overwrites or extends code it does not own, which "
            f"would change what another package runs:\n{lines}\nThe environment was removed. "
            "Remove the package from the notebook or use a release that installs only its own "
            "modules."
        )


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


class UnsafeFolder(BotError):
    """A folder whose contents bots install or run (the uv cache) could have been written by
    another user: it is refused, since tightening its mode now would not undo what is in it."""


class BotNotFound(BotError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No bot named {ref[:80]!r}. `watchdog-lab bots list` shows them.")


class DuplicateBot(BotError):
    def __init__(self, name: str) -> None:
        super().__init__(f"A bot named {name!r} already exists (names are case-insensitive).")


class BotStartFailed(BotError):
    """The runner did not come up (its log's tail, redacted, is in the message)."""


class InvalidRunName(BotError):
    def __init__(self, name: str) -> None:
        shown = name if len(name) <= 80 else name[:77] + "..."
        super().__init__(
            f"{shown!r} is not a run name (runs are named like 20260101T120000-r00001.ipynb; "
            "list them first)."
        )


class RunNotFound(BotError):
    def __init__(self, name: str) -> None:
        super().__init__(f"No run named {name!r} (only the most recent runs are kept).")


class PromoteRunning(BotError):
    """Cleanup refused while a promote runs: its files look like leftovers until it ends."""

    def __init__(self) -> None:
        super().__init__(
            "A promote is in progress in this home, and its files look like leftovers until it "
            "finishes; run the cleanup again when it is done."
        )


class VersionError(BotError):
    """A notebook version asked for (a rollback's target, a fix's base) that cannot be used."""


class StaleVersion(VersionError):
    """A fix made for one notebook version, while the bot has moved to another since: applying
    it would silently undo what the newer version changed."""

    def __init__(self, name: str, expected: int, current: int) -> None:
        super().__init__(
            f"The fix was made for version {expected} of bot {name!r}, but the bot now runs "
            f"version {current}; ask for a fix of version {current} instead."
        )


class CellNotFixable(VersionError):
    """The cell a fix names is not a code cell of the bot's current notebook version."""


class PublishNotConfirmed(VersionError):
    """A new version for a bot with connections, without the user's confirmation (the vault
    password): its code would run with their keys."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Publishing a new version of bot {name!r} needs the vault password: it holds "
            "connections, and the new code would run with their keys."
        )


class VersionNotFound(VersionError):
    """No such notebook version of the bot (none before version 1, none after the latest)."""


class GatewayError(BotError):
    """Running a bot's kernel on the Jupyter Enterprise Gateway failed (the messages never hold
    the gateway's token or a granted value)."""


class GatewayNotConfigured(GatewayError):
    """``c.WatchdogLab.gateway_url`` is set but no usable ``gateway`` connection holds its
    token."""


class GatewayUnreachable(GatewayError):
    """No answer from the gateway: refused connection, timeout, or a TLS failure (an unknown
    certificate authority, a wrong host name, a protocol below TLS 1.2)."""


class GatewayAuthFailed(GatewayError):
    """The gateway refused the token (401 or 403)."""


class GatewayRequestFailed(GatewayError):
    """The gateway answered a kernel request with an error status or an unreadable reply."""


class GatewayHandOverFailed(GatewayError):
    """The kernel on the gateway did not accept the bot's connections: it is not the SDK's
    gateway kernel, it ran code first, or it died before answering."""
