"""The WatchDog Lab server extension: configuration and the objects the handlers share.

The app owns, for the life of the server process: one :class:`Vault` (the unlocked data key
lives here and nowhere else), one :class:`BotManager`, the kernel broker, and the server-wide
:class:`Redactor` that every outgoing text (server log, saved notebooks) goes through. Handlers
reach them through ``self.extensionapp``; they hold no state of their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Float, Int, List, TraitError, Unicode, default, validate

from .._version import __version__
from ..bots.models import RestartPolicy
from ..bots.supervisor import BotManager
from ..paths import HOME_ENV, home_dir
from ..redact import Redactor
from ..vault import KdfParams, Vault
from .broker import KernelBroker
from .idle import IdleLock
from .jobs import BotOperations
from .routes import route_table


class WatchdogLab(ExtensionApp):
    """Loaded by ``jupyter server`` / ``jupyter lab``; configured as ``c.WatchdogLab.*``."""

    name = "watchdog_lab"
    description = "WatchDog Lab: sealed exchange keys and supervised trading bots."
    version = __version__
    load_other_extensions = True

    home = Unicode(
        help=(
            "Folder that holds the vault and the bots. Defaults to "
            f"${HOME_ENV} when set, else ~/.watchdog-lab."
        ),
    ).tag(config=True)

    @default("home")
    def _default_home(self) -> str:
        return str(home_dir())

    auto_lock_minutes = Float(
        30.0,
        help="Lock the vault (drop the data key) after this many minutes without a vault "
        "operation. 0 disables the idle lock.",
    ).tag(config=True)

    argon2_time_cost = Int(3, help="Argon2id passes for a new vault or password.").tag(config=True)
    argon2_memory_kib = Int(64 * 1024, help="Argon2id memory in KiB.").tag(config=True)
    argon2_parallelism = Int(4, help="Argon2id lanes.").tag(config=True)

    sandbox = Unicode(
        "best",
        help="Bot sandbox: 'best' (strongest available, 'unsandboxed' reported loudly when "
        "nothing is), 'landlock', 'bubblewrap', 'require' (refuse to run unsandboxed), 'none'.",
    ).tag(config=True)

    kernel_sandbox = Unicode(
        "best",
        help="Interactive kernels this server starts: 'best' confines them where the machine "
        "allows (Landlock + a private mount view: no WatchDog Lab home, no Jupyter runtime "
        "folder with the server's token, a private /proc, no server secrets in the "
        "environment); 'none' starts them unconfined. Bot kernelspecs are always confined as "
        "their bot.",
    ).tag(config=True)

    @validate("kernel_sandbox")
    def _valid_kernel_sandbox(self, proposal: Any) -> str:
        from ..provisioning import KERNEL_SANDBOX_MODES

        mode = str(proposal["value"]).strip().lower()
        if mode not in KERNEL_SANDBOX_MODES:
            raise TraitError(
                f"kernel_sandbox: {proposal['value']!r} is not one of "
                f"{', '.join(KERNEL_SANDBOX_MODES)}."
            )
        return mode

    bot_rlimits = Dict(
        default_value={},
        help="Resource limits for bot kernels, e.g. {'nofile': 1024, 'as': 4 * 2**30}.",
    ).tag(config=True)

    bot_connect_ports = List(
        Int(),
        default_value=[443, 80],
        help="TCP ports a bot kernel may connect to (any address; Landlock ABI 4 or later). "
        "Every other port is refused, which keeps bots off interactive kernels' channels and "
        "this server. Add a port only for a service bots must reach (e.g. a proxy).",
    ).tag(config=True)

    @validate("bot_connect_ports")
    def _valid_connect_ports(self, proposal: Any) -> list[int]:
        ports = list(proposal["value"])
        bad = [p for p in ports if not 1 <= p <= 65535]
        if bad:
            raise TraitError(f"bot_connect_ports: {bad} are not TCP ports (1 to 65535).")
        return ports

    dependency_denylist = List(
        Unicode(),
        default_value=[],
        help="Extra package names a promoted bot may never install (added to the built-in list).",
    ).tag(config=True)

    dependency_allow = List(
        Unicode(),
        default_value=[],
        help="Package names exempt from the typosquat check (never from the denylist).",
    ).tag(config=True)

    wheels_only = Bool(
        True, help="Install bot dependencies from wheels only (no setup.py runs)."
    ).tag(config=True)

    restart_backoff_initial = Float(0.5, help="First restart delay of a failed bot (s).").tag(
        config=True
    )
    restart_backoff_max = Float(60.0, help="Longest restart delay of a failed bot (s).").tag(
        config=True
    )
    restart_max_failures = Int(
        5, help="Failures within restart_window_seconds that mark a bot crashed."
    ).tag(config=True)
    restart_window_seconds = Float(300.0, help="Crash-loop window (s).").tag(config=True)

    uv_cache_dir = Unicode(
        "",
        help="uv's package cache shared by every bot environment (default: <home>/cache/uv). "
        "Keep it on the same filesystem as the home: venvs hardlink their files from it.",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._vault: Vault | None = None
        self._bots: BotManager | None = None
        self._bot_ops: BotOperations | None = None
        self.redactor = Redactor()
        self.idle_lock = IdleLock(lambda: self.vault, 0)
        self.broker: KernelBroker | None = None

    @property
    def kdf(self) -> KdfParams:
        return KdfParams(self.argon2_time_cost, self.argon2_memory_kib, self.argon2_parallelism)

    @property
    def vault(self) -> Vault:
        """The server's vault; exists from settings initialisation until the extension stops."""
        if self._vault is None:
            self._vault = Vault(home_dir(self.home), kdf=self.kdf)
        return self._vault

    @property
    def bots(self) -> BotManager:
        if self._bots is None:
            from ..bots.policy import DEFAULT_DENYLIST, DependencyPolicy

            self._bots = BotManager(
                self.vault,
                sandbox_mode=self.sandbox,
                rlimits={k: int(v) for k, v in self.bot_rlimits.items()},
                restart=RestartPolicy(
                    backoff_initial=self.restart_backoff_initial,
                    backoff_max=self.restart_backoff_max,
                    max_failures=self.restart_max_failures,
                    window_seconds=self.restart_window_seconds,
                ),
                policy=DependencyPolicy(
                    denylist=(*DEFAULT_DENYLIST, *self.dependency_denylist),
                    allow=tuple(self.dependency_allow),
                ),
                wheels_only=self.wheels_only,
                connect_ports=list(self.bot_connect_ports),
                uv_cache=Path(self.uv_cache_dir) if self.uv_cache_dir else None,
            )
        return self._bots

    @property
    def bot_ops(self) -> BotOperations:
        """Runs the bots' blocking calls, promote jobs and reconciles off the IOLoop."""
        if self._bot_ops is None:
            self._bot_ops = BotOperations(lambda: self.bots, self.log)
        return self._bot_ops

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
        self.log.info("WatchDog Lab home: %s", home_dir(self.home))
        # Created here rather than lazily on first request so that a bad home fails at start.
        _ = self.vault
        from ..redact import install_log_redaction

        for name in ("", "tornado.access", "tornado.application", "tornado.general", "ServerApp"):
            install_log_redaction(self.redactor, logger=_logger(name))
        install_log_redaction(self.redactor, logger=self.serverapp.log)
        from .scrub import ContentsScrubber
        from .serverlog import install_record_redaction

        # Also covers log handlers added after this point (formatter wrapping above cannot).
        install_record_redaction(self.redactor)
        self.serverapp.contents_manager.register_pre_save_hook(ContentsScrubber(self.redactor))
        self.idle_lock = IdleLock(lambda: self.vault, self.auto_lock_minutes * 60)
        self.idle_lock.start()
        # Every kernel started from now on gets a broker token (and no secret).
        self.broker = KernelBroker.for_server(self.serverapp, lambda: self.vault)
        from ..provisioning.setup import confine_server_kernels

        # Every kernelspec without a provisioner of its own starts confined from now on.
        self._kernel_sandbox_undo = confine_server_kernels(
            self.serverapp, self.kernel_sandbox, home_dir(self.home), self.log
        )
        # Adopt the runners that outlived the previous server, restart what should run. In the
        # background: starting bots must not delay the server. No vault file, no bots: and
        # the registry must not create one.
        if self.vault.path.exists():
            self.bot_ops.reconcile_soon("server start")

    def touch_vault(self) -> None:
        """A vault use (a route, the broker, a bot start): restarts the auto-lock countdown."""
        self.idle_lock.touch()

    def initialize_handlers(self) -> None:
        self.handlers.extend(route_table())

    async def stop_extension(self) -> None:
        """Drop the data key and close the database when the server shuts down."""
        from .serverlog import uninstall_record_redaction

        self.idle_lock.stop()
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
        if self._vault is not None:
            self._vault.close()
            self._vault = None
        self._bots = None


def _logger(name: str) -> Any:
    import logging

    return logging.getLogger(name)
