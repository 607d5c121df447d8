"""The WatchDog Lab server extension: configuration and the objects the handlers share.

The app owns, for the life of the server process: one :class:`Vault` (the unlocked data key
lives here and nowhere else), one :class:`BotManager`, the kernel broker, and the server-wide
:class:`Redactor` that every outgoing text (server log, saved notebooks) goes through. Handlers
reach them through ``self.extensionapp``; they hold no state of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import TraitError

from .._version import __version__
from ..bots.supervisor import BotManager
from ..paths import home_dir
from ..redact import Redactor
from ..settings import WatchdogLab as WatchdogLabSettings
from ..settings import describe_trait_error
from ..vault import Vault, VaultState
from .broker import KernelBroker
from .idle import IdleLock
from .jobs import BotOperations
from .routes import route_table

if TYPE_CHECKING:
    from ..aifix import AIFix
    from ..backup import BackupKey, BackupManager
    from ..backup.automatic import AutomaticBackups
    from ..sync.automatic import AutomaticSync


class WatchdogLab(ExtensionApp, WatchdogLabSettings):
    """Loaded by ``jupyter server`` / ``jupyter lab``; configured as ``c.WatchdogLab.*``, whose
    settings (and their checks) it inherits from :class:`~watchdog_lab.settings.WatchdogLab`,
    the class the CLI loads from the same files."""

    name = "watchdog_lab"
    description = "WatchDog Lab: sealed exchange keys and supervised trading bots."
    version = __version__
    load_other_extensions = True

    def _link_jupyter_server_extension(self, serverapp: Any) -> None:
        """Stop the server on a bad ``c.WatchdogLab.*`` value. jupyter_server would log the
        error and go on with the defaults: a server that silently ran bots with ``best``
        instead of the ``require`` the user wrote would be worse than none."""
        try:
            super()._link_jupyter_server_extension(serverapp)
        except TraitError as exc:
            message = describe_trait_error(exc)
            self.log.critical("WatchDog Lab cannot start: %s", message)
            raise SystemExit(f"WatchDog Lab cannot start: {message}") from None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._vault: Vault | None = None
        self._bots: BotManager | None = None
        self._bot_ops: BotOperations | None = None
        self._aifix: AIFix | None = None
        self._backups: BackupManager | None = None
        self.automatic_backups: AutomaticBackups | None = None
        self.automatic_sync: AutomaticSync | None = None
        self.redactor = Redactor()
        self.idle_lock = IdleLock(lambda: self.vault, 0)
        self.broker: KernelBroker | None = None

    @property
    def vault(self) -> Vault:
        """The server's vault; exists from settings initialisation until the extension stops."""
        if self._vault is None:
            self._vault = Vault(home_dir(self.home), kdf=self.kdf)
        return self._vault

    @property
    def bots(self) -> BotManager:
        if self._bots is None:
            self._bots = self.bot_manager(self.vault)
        return self._bots

    @property
    def bot_ops(self) -> BotOperations:
        """Runs the bots' blocking calls, promote jobs and reconciles off the IOLoop."""
        if self._bot_ops is None:
            self._bot_ops = BotOperations(lambda: self.bots, self.log)
        return self._bot_ops

    @property
    def aifix(self) -> AIFix:
        """AI Fix over the server's vault with its ``c.WatchdogLab.ai_*`` settings: one for the
        server's life, so its HTTP connections to the API are reused."""
        if self._aifix is None:
            self._aifix = self.ai_fix(self.vault, remembered=self.redactor)
        return self._aifix

    @property
    def backups(self) -> BackupManager:
        """Snapshots of the home, with the configured retention."""
        if self._backups is None:
            from ..backup import BackupManager

            self._backups = BackupManager(
                home_dir(self.home), retention_days=self.backup_retention_days
            )
        return self._backups

    def release_vault(self) -> None:
        """Close the vault and what holds its database (a restore replaces the file); both
        reopen on next use, the vault locked."""
        self._bots = None
        if self._vault is not None:
            self._vault.close()

    def _start_automatic_backups(self) -> None:
        """If configured: back up after vault changes and daily."""
        from ..backup.automatic import AutomaticBackups, change_marker

        if not self.backup_automatic:
            return

        def key() -> BackupKey | None:
            from ..backup import key_from_vault

            if self.vault.state is not VaultState.UNLOCKED:
                return None
            return key_from_vault(self.vault)

        def marker() -> int | None:
            if not self.vault.exists():
                return None
            return change_marker(self.vault.store.query_one)

        self.automatic_backups = AutomaticBackups(
            self.backups, key, marker, debounce_seconds=self.backup_debounce_seconds, log=self.log
        )
        self.automatic_backups.start()

    def on_unlock(self) -> None:
        """Call after every successful unlock: secrets become known to the redactor, and bots
        that waited for their connections are started (in the background)."""
        self.refresh_redactor()
        self.bot_ops.reconcile_soon("unlock")

    def refresh_redactor(self) -> None:
        """Load every decrypted value into the server's redactor (called after unlock/changes).

        Values stay known after a lock: a secret seen once must stay redacted in the log.
        """
        if self.vault.state.value == "unlocked":
            self.redactor.add_secrets(self.vault.iter_secrets())

    def initialize_settings(self) -> None:
        serverapp = self.serverapp
        assert serverapp is not None, "jupyter_server loads an extension into its server app"
        self.log.info("WatchDog Lab home: %s", home_dir(self.home))
        # Before anything opens the vault: finish or undo a restore a kill left half done.
        done = self.backups.recover()
        if done is not None:
            self.log.warning("WatchDog Lab: %s", done)
        # Created here rather than lazily on first request so that a bad home fails at start.
        _ = self.vault
        from ..redact import install_log_redaction

        for name in ("", "tornado.access", "tornado.application", "tornado.general", "ServerApp"):
            install_log_redaction(self.redactor, logger=_logger(name))
        install_log_redaction(self.redactor, logger=serverapp.log)
        from .scrub import ContentsScrubber
        from .serverlog import install_record_redaction

        # Also covers log handlers added after this point (formatter wrapping above cannot).
        install_record_redaction(self.redactor)
        serverapp.contents_manager.register_pre_save_hook(ContentsScrubber(self.redactor))
        self.idle_lock = IdleLock(lambda: self.vault, self.auto_lock_minutes * 60)
        self.idle_lock.start()
        # Every kernel started from now on gets a broker token (and no secret).
        self.broker = KernelBroker.for_server(serverapp, lambda: self.vault)
        from ..bots.kernelspec import kernel_dirs
        from ..provisioning.setup import confine_server_kernels

        # Bots' kernelspecs, listed by their bot's name: a notebook opened on one runs in the
        # bot's environment, confined as the bot (the spec names the bot provisioner).
        specs = serverapp.kernel_spec_manager
        assert specs is not None, "the server app makes its kernelspec manager at initialize"
        specs.kernel_dirs.extend(d for d in kernel_dirs(self.home) if d not in specs.kernel_dirs)

        # Every kernelspec without a provisioner of its own starts confined from now on.
        self._kernel_sandbox_undo = confine_server_kernels(
            self.serverapp, self.kernel_sandbox, home_dir(self.home), self.log
        )
        # Adopt the runners that outlived the previous server, restart what should run. In the
        # background: starting bots must not delay the server. No vault file, no bots: and
        # the registry must not create one.
        if self.vault.path.exists():
            self.bot_ops.reconcile_soon("server start")
        if self.runner_watch_seconds:  # a runner killed meanwhile is started again
            self.bot_ops.watch_runners(self.runner_watch_seconds, self.vault.path.exists)
        self._start_automatic_backups()
        if self.sync_automatic:
            from ..sync.automatic import AutomaticSync

            self.automatic_sync = AutomaticSync(
                lambda: self.vault,
                self.sync_interval_seconds,
                log=self.log,
                on_change=self.refresh_redactor,
            )
            self.automatic_sync.start()

    def touch_vault(self) -> None:
        """A vault use (a route, the broker, a bot start): restarts the auto-lock countdown."""
        self.idle_lock.touch()
        if self.automatic_backups is not None:
            self.automatic_backups.notify()

    def initialize_handlers(self) -> None:
        self.handlers.extend(route_table())

    async def stop_extension(self) -> None:
        """Drop the data key and close the database when the server shuts down."""
        from .serverlog import uninstall_record_redaction

        self.idle_lock.stop()
        if self.automatic_backups is not None:
            self.automatic_backups.stop()
            self.automatic_backups = None
        if self.automatic_sync is not None:
            self.automatic_sync.stop()
            self.automatic_sync = None
        uninstall_record_redaction()
        undo_kernel_sandbox = getattr(self, "_kernel_sandbox_undo", None)
        if undo_kernel_sandbox is not None:
            undo_kernel_sandbox()
            self._kernel_sandbox_undo = None
        if self.broker is not None:
            self.broker.close()
            self.broker = None
        if self._bot_ops is not None:
            self._bot_ops.shutdown()
            self._bot_ops = None
        if self._aifix is not None:
            self._aifix.close()
            self._aifix = None
        if self._vault is not None:
            self._vault.close()
            self._vault = None
        self._bots = None


def _logger(name: str) -> Any:
    import logging

    return logging.getLogger(name)
