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
from .models import DEFAULT_CONNECT_PORTS, MAX_CELL_TIMEOUT, RestartPolicy

if TYPE_CHECKING:
    from ..vault import Vault
    from .supervisor import BotManager

__all__ = ["UV_CACHE_ENV", "BotsConfig"]

#: The uv cache folder, for the CLI and the server alike (``c.WatchdogLab.uv_cache_dir`` wins).
UV_CACHE_ENV = "WATCHDOG_LAB_UV_CACHE"

#: Ceiling on the restart settings (seconds or failures): beyond it they mean "never".
RESTART_SETTING_MAX = 10**6
TCP_PORTS = (1, 65535)


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
            uv_cache=Path(self.uv_cache_dir).expanduser().absolute() if self.uv_cache_dir else None,
        )
