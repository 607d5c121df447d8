"""The bots' settings (``c.WatchdogLab.sandbox``, rlimits, ports, the dependency policy, the
restart policy, the uv cache), declared and checked beside the supervisor that applies them.

Checked when the configuration loads, so that a typo stops the server or the CLI at start
instead of surfacing as a bot that silently ran with a weaker sandbox or no denylist.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets import Bool, Dict, Enum, Float, Int, List, TraitError, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from ..vault.config import in_range
from .confine import MODES as SANDBOX_MODES
from .errors import InvalidLimit
from .limits import resolve_limits
from .models import (
    DEFAULT_CONNECT_PORTS,
    DEFAULT_LOG_KEEP_FILES,
    DEFAULT_LOG_MAX_BYTES,
    MAX_CELL_TIMEOUT,
    MAX_LOG_KEEP_FILES,
    MAX_LOG_MAX_BYTES,
    MIN_LOG_KEEP_FILES,
    MIN_LOG_MAX_BYTES,
    LogRotation,
    RestartPolicy,
)

if TYPE_CHECKING:
    from ..vault import Vault
    from .gateway import GatewaySettings
    from .supervisor import BotManager

__all__ = ["UV_CACHE_ENV", "BotsConfig"]

#: The uv cache folder, for the CLI and the server alike (``c.WatchdogLab.uv_cache_dir`` wins).
UV_CACHE_ENV = "WATCHDOG_LAB_UV_CACHE"

#: Ceiling on the restart settings (seconds or failures): beyond it they mean "never".
RESTART_SETTING_MAX = 10**6
TCP_PORTS = (1, 65535)
#: The server's check of bot runners (s): the default, and the floor of any value but 0 (off).
RUNNER_WATCH_DEFAULT = 5.0
RUNNER_WATCH_MIN = 0.1


class BotsConfig(LoggingConfigurable):
    """How bots are confined, what they may install and how they are restarted."""

    sandbox = Enum(
        SANDBOX_MODES,
        default_value="best",
        help="Bot sandbox: 'best' (strongest available, 'unsandboxed' reported loudly when "
        "nothing is), 'landlock', 'bubblewrap', 'require' (refuse to run unsandboxed), 'none'.",
    ).tag(config=True)

    bot_rlimits = Dict(
        value_trait=Int(),
        default_value={},
        help="Resource limits for bot kernels, e.g. {'nofile': 1024, 'as': 4 * 2**30}; "
        "-1 lifts a default. 'pids' caps the tasks (processes and threads) of each bot's PID "
        "namespace (default 1024).",
    ).tag(config=True)

    @validate("bot_rlimits")
    def _valid_rlimits(self, proposal: Any) -> dict[str, int]:
        limits = dict(proposal["value"])
        try:
            resolve_limits(limits)
        except InvalidLimit as exc:
            raise TraitError(f"bot_rlimits: {exc}") from None
        return limits

    bot_connect_ports = List(
        Int(),
        default_value=list(DEFAULT_CONNECT_PORTS),
        help="TCP ports a bot kernel may connect to (any address; Landlock ABI 4 or later). "
        "Every other port is refused, which keeps bots off interactive kernels' channels and "
        "this server. Add a port only for a service bots must reach (e.g. a proxy).",
    ).tag(config=True)

    @validate("bot_connect_ports")
    def _valid_connect_ports(self, proposal: Any) -> list[int]:
        ports = list(proposal["value"])
        low, high = TCP_PORTS
        bad = [p for p in ports if not low <= p <= high]
        if bad:
            raise TraitError(f"bot_connect_ports: {bad} are not TCP ports ({low} to {high}).")
        return ports

    cell_timeout = Float(
        0.0,
        help="Seconds a bot's cell may run before its run fails, for bots promoted without "
        "their own cell timeout; 0: no limit. A continuous bot's last cell, its loop, is never "
        "limited.",
    ).tag(config=True)

    bot_prewarm_kernel = Bool(
        True,
        help="Start an every-N bot's next fresh kernel while it waits, so each run starts on "
        "its due time; off: the kernel starts when the run is due (most of a second late), "
        "saving one kernel's memory while the bot sleeps. Applied from a bot's next start.",
    ).tag(config=True)

    @validate("cell_timeout")
    def _valid_cell_timeout(self, proposal: Any) -> float:
        seconds = float(proposal["value"])
        if not 0 <= seconds <= MAX_CELL_TIMEOUT:  # also refuses NaN
            raise TraitError(
                f"cell_timeout: {proposal['value']!r} is not 0 (no limit) to "
                f"{MAX_CELL_TIMEOUT} seconds."
            )
        return seconds

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
        True,
        help="Install bot dependencies from wheels only. Source distributions are refused "
        "either way (building one runs the package's own code outside any sandbox, at "
        "promote); False only turns that refusal into a warning in the build report.",
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

    @validate(
        "restart_backoff_initial",
        "restart_backoff_max",
        "restart_max_failures",
        "restart_window_seconds",
    )
    def _valid_restart(self, proposal: Any) -> float:
        name = proposal["trait"].name
        value: float = proposal["value"]
        low = 1 if name == "restart_max_failures" else 0
        in_range(name, value, low, RESTART_SETTING_MAX)
        return value

    runner_watch_seconds = Float(
        RUNNER_WATCH_DEFAULT,
        help="How often (s) the server re-reads which bots should run, to watch their runners "
        "(a runner that ends unasked is restarted at once where the system has pidfds, Linux "
        "5.3 or later; at the next check elsewhere). 0: only at server start and unlock.",
    ).tag(config=True)

    @validate("runner_watch_seconds")
    def _valid_runner_watch(self, proposal: Any) -> float:
        seconds = float(proposal["value"])
        if seconds != 0:  # anything faster than the floor would be busy polling
            in_range("runner_watch_seconds", seconds, RUNNER_WATCH_MIN, RESTART_SETTING_MAX)
        return seconds

    bot_log_max_bytes = Int(
        DEFAULT_LOG_MAX_BYTES,
        help="Size (bytes) past which a bot's log (logs/bot.jsonl) rotates to bot.jsonl.1; "
        f"{MIN_LOG_MAX_BYTES} at least, more than the longest record.",
    ).tag(config=True)
    bot_log_keep_files = Int(
        DEFAULT_LOG_KEEP_FILES,
        help="Files a bot's log keeps, the one being written included; the oldest is deleted "
        "at a rotation. A bot's log takes at most bot_log_keep_files x bot_log_max_bytes.",
    ).tag(config=True)

    @validate("bot_log_max_bytes", "bot_log_keep_files")
    def _valid_log_rotation(self, proposal: Any) -> int:
        name = proposal["trait"].name
        value: int = proposal["value"]
        if name == "bot_log_max_bytes":
            in_range(name, value, MIN_LOG_MAX_BYTES, MAX_LOG_MAX_BYTES, " bytes")
        else:
            in_range(name, value, MIN_LOG_KEEP_FILES, MAX_LOG_KEEP_FILES, " files")
        return value

    gateway_url = Unicode(
        "",
        help="A Jupyter Enterprise Gateway that runs bots' kernels (https://HOST[:PORT][/BASE]; "
        "http:// only on 127.0.0.1); empty: kernels run on this machine. The runners stay here "
        "and drive the kernels over the gateway's channels. See docs/gateway.md.",
    ).tag(config=True)

    @validate("gateway_url")
    def _valid_gateway_url(self, proposal: Any) -> str:
        url = str(proposal["value"])
        if not url.strip():
            return ""
        from .gateway import check_gateway_url, plain_http_notice

        try:
            url = check_gateway_url(url)
        except ValueError as exc:
            raise TraitError(str(exc)) from None
        warning = plain_http_notice(url)
        if warning:
            self.log.warning("gateway_url: %s", warning)
        return url

    gateway_connection = Unicode(
        "gateway",
        help="The vault connection (kind 'gateway') holding the gateway's auth token, handed "
        "to each bot's runner with its other secrets; never in the environment or argv.",
    ).tag(config=True)

    gateway_kernel_name = Unicode(
        "watchdog-bot",
        help="The gateway's kernelspec for bots: its command must be 'python -m "
        "watchdog_lab.sdk.gateway_kernel -f {connection_file}' in an image with the bots' "
        "packages.",
    ).tag(config=True)

    uv_cache_dir = Unicode(
        help=f"uv's package cache shared by every bot environment (default: ${UV_CACHE_ENV} "
        "when set, else <home>/cache/uv). Keep it on the same filesystem as the home: venvs "
        "hardlink their files from it.",
    ).tag(config=True)

    @default("uv_cache_dir")
    def _default_uv_cache(self) -> str:
        return os.environ.get(UV_CACHE_ENV, "")

    def restart_policy(self) -> RestartPolicy:
        return RestartPolicy(
            backoff_initial=self.restart_backoff_initial,
            backoff_max=self.restart_backoff_max,
            max_failures=self.restart_max_failures,
            window_seconds=self.restart_window_seconds,
        )

    def log_rotation(self) -> LogRotation:
        return LogRotation(max_bytes=self.bot_log_max_bytes, keep_files=self.bot_log_keep_files)

    def bot_manager(self, vault: Vault) -> BotManager:
        """The bots core over ``vault``, with every bot setting applied: the one constructor
        both faces use, so a bot promoted from a terminal runs exactly as one from JupyterLab."""
        from .policy import DEFAULT_DENYLIST, DependencyPolicy
        from .supervisor import BotManager

        return BotManager(
            vault,
            sandbox_mode=self.sandbox,
            rlimits=dict(self.bot_rlimits),
            restart=self.restart_policy(),
            policy=DependencyPolicy(
                denylist=(*DEFAULT_DENYLIST, *self.dependency_denylist),
                allow=tuple(self.dependency_allow),
            ),
            wheels_only=self.wheels_only,
            connect_ports=list(self.bot_connect_ports),
            cell_timeout=self.cell_timeout or None,
            prewarm_kernel=self.bot_prewarm_kernel,
            log_rotation=self.log_rotation(),
            uv_cache=Path(self.uv_cache_dir).expanduser().absolute() if self.uv_cache_dir else None,
            gateway=self.gateway_settings(),
        )

    def gateway_settings(self) -> GatewaySettings | None:
        """Where bots' kernels run when not here (None: on this machine)."""
        if not self.gateway_url:
            return None
        from .gateway import GatewaySettings

        return GatewaySettings(self.gateway_url, self.gateway_connection, self.gateway_kernel_name)
