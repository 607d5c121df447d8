"""The settings users write as ``c.WatchdogLab.*``: declared, validated and turned into the core
services once, for the server and the CLI alike.

A setting that only the server read would make a bot promoted from a terminal differ from one
promoted in JupyterLab (no ``require`` sandbox, no denylist, another restart policy), so both
faces build their :class:`~.bots.supervisor.BotManager` and key-derivation costs here. The class
is named ``WatchdogLab`` on purpose: traitlets applies a config section to the classes of that
name, and the server extension (:class:`~.server.app.WatchdogLab`) inherits these traits, so one
file configures both. The CLI reads the same Jupyter config files as the server
(:func:`load_jupyter_config`). Free of Jupyter server imports: the CLI must start fast.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_core.paths import jupyter_config_path
from traitlets import Bool, Dict, Enum, Float, Int, List, TraitError, Unicode, default, validate
from traitlets.config import Config, LoggingConfigurable
from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

from .bots.confine import MODES as SANDBOX_MODES
from .bots.errors import InvalidLimit
from .bots.limits import resolve_limits
from .bots.models import DEFAULT_CONNECT_PORTS, MAX_CELL_TIMEOUT, RestartPolicy
from .errors import InvalidSetting
from .paths import HOME_ENV, home_dir
from .provisioning.sandbox import KERNEL_SANDBOX_MODES
from .vault import KdfParams

if TYPE_CHECKING:
    from .bots.supervisor import BotManager
    from .vault import Vault

__all__ = [
    "CONFIG_FILE_NAMES",
    "UV_CACHE_ENV",
    "WatchdogLab",
    "load_jupyter_config",
    "load_settings",
]

#: The uv cache folder, for the CLI and the server alike (``c.WatchdogLab.uv_cache_dir`` wins).
UV_CACHE_ENV = "WATCHDOG_LAB_UV_CACHE"

#: Config files that may hold ``c.WatchdogLab.*``, in the order they apply (later wins): the
#: server's own, JupyterLab's (``jupyter lab`` reads both), and the extension's.
CONFIG_FILE_NAMES = ("jupyter_server_config", "jupyter_lab_config", "jupyter_watchdog_lab_config")

# Bounds on Argon2id: below them a vault is cheap to brute-force, above them an unlock would
# take minutes or more memory than a laptop has.
_ARGON2_TIME = (1, 64)
_ARGON2_MEMORY_KIB = (8 * 1024, 4 * 1024 * 1024)
_ARGON2_LANES = (1, 64)


def _in_range(name: str, value: float, low: float, high: float, unit: str = "") -> None:
    if not (low <= value <= high) or (isinstance(value, float) and math.isnan(value)):
        raise TraitError(f"{name}: {value!r} is outside {low:g} to {high:g}{unit}.")


class WatchdogLab(LoggingConfigurable):
    """Every ``c.WatchdogLab.*`` setting; each one is checked when the configuration is loaded,
    so a bad value stops the server or the CLI at start with the setting's name."""

    home = Unicode(
        help=f"Folder that holds the vault and the bots. Defaults to ${HOME_ENV} when set, "
        "else ~/.watchdog-lab.",
    ).tag(config=True)

    @default("home")
    def _default_home(self) -> str:
        return str(home_dir())

    auto_lock_minutes = Float(
        30.0,
        help="Lock the vault (drop the data key) after this many minutes without a vault "
        "operation. 0 disables the idle lock.",
    ).tag(config=True)

    @validate("auto_lock_minutes")
    def _valid_auto_lock(self, proposal: Any) -> float:
        minutes = float(proposal["value"])
        _in_range("auto_lock_minutes", minutes, 0, 7 * 24 * 60, " minutes")
        return minutes

    argon2_time_cost = Int(3, help="Argon2id passes for a new vault or password.").tag(config=True)
    argon2_memory_kib = Int(64 * 1024, help="Argon2id memory in KiB.").tag(config=True)
    argon2_parallelism = Int(4, help="Argon2id lanes.").tag(config=True)

    @validate("argon2_time_cost", "argon2_memory_kib", "argon2_parallelism")
    def _valid_argon2(self, proposal: Any) -> int:
        name = proposal["trait"].name
        low, high = {
            "argon2_time_cost": _ARGON2_TIME,
            "argon2_memory_kib": _ARGON2_MEMORY_KIB,
            "argon2_parallelism": _ARGON2_LANES,
        }[name]
        _in_range(name, proposal["value"], low, high)
        return int(proposal["value"])

    sandbox = Enum(
        SANDBOX_MODES,
        default_value="best",
        help="Bot sandbox: 'best' (strongest available, 'unsandboxed' reported loudly when "
        "nothing is), 'landlock', 'bubblewrap', 'require' (refuse to run unsandboxed), 'none'.",
    ).tag(config=True)

    kernel_sandbox = Enum(
        KERNEL_SANDBOX_MODES,
        default_value="best",
        help="Interactive kernels this server starts: 'best' confines them where the machine "
        "allows (Landlock + a private mount view: no WatchDog Lab home, no Jupyter runtime "
        "folder with the server's token, a private /proc, no server secrets in the "
        "environment); 'none' starts them unconfined. Bot kernelspecs are always confined as "
        "their bot.",
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
        bad = [p for p in ports if not 1 <= p <= 65535]
        if bad:
            raise TraitError(f"bot_connect_ports: {bad} are not TCP ports (1 to 65535).")
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
        value = proposal["value"]
        low = 1 if name == "restart_max_failures" else 0
        _in_range(name, value, low, 10**6)
        return value

    uv_cache_dir = Unicode(
        help=f"uv's package cache shared by every bot environment (default: ${UV_CACHE_ENV} "
        "when set, else <home>/cache/uv). Keep it on the same filesystem as the home: venvs "
        "hardlink their files from it.",
    ).tag(config=True)

    @default("uv_cache_dir")
    def _default_uv_cache(self) -> str:
        return os.environ.get(UV_CACHE_ENV, "")

    # ------------------------------------------------------------------ the services

    @property
    def kdf(self) -> KdfParams:
        return KdfParams(self.argon2_time_cost, self.argon2_memory_kib, self.argon2_parallelism)

    def restart_policy(self) -> RestartPolicy:
        return RestartPolicy(
            backoff_initial=self.restart_backoff_initial,
            backoff_max=self.restart_backoff_max,
            max_failures=self.restart_max_failures,
            window_seconds=self.restart_window_seconds,
        )

    def bot_manager(self, vault: Vault) -> BotManager:
        """The bots core over ``vault``, with every bot setting applied."""
        from .bots.policy import DEFAULT_DENYLIST, DependencyPolicy
        from .bots.supervisor import BotManager

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


def load_jupyter_config(
    paths: Sequence[str] | None = None, names: Iterable[str] = CONFIG_FILE_NAMES
) -> Config:
    """The ``.py`` and ``.json`` config files a Jupyter server would read, merged as it merges
    them: ``paths`` defaults to ``jupyter --paths``' config folders (``JUPYTER_CONFIG_DIR``
    first), and a folder earlier in that list overrides a later one."""
    folders = list(jupyter_config_path() if paths is None else paths)
    merged = Config()
    for name in names:
        for folder in reversed(folders):
            # In one folder the JSON file wins over the Python one, as traitlets loads them.
            for loader in (PyFileConfigLoader, JSONFileConfigLoader):
                suffix = ".json" if loader is JSONFileConfigLoader else ".py"
                try:
                    loaded = loader(name + suffix, path=folder).load_config()
                except ConfigFileNotFound:
                    continue
                except Exception as exc:  # a syntax error in the user's file, say
                    where = os.path.join(folder, name + suffix)
                    raise InvalidSetting(f"Could not read {where}: {exc}") from None
                merged.merge(loaded)
    return merged


def load_settings(config: Config | None = None) -> WatchdogLab:
    """The settings from ``config`` (default: the Jupyter config files), every value checked.

    Raises :class:`~.errors.InvalidSetting` naming the setting and what it accepts.
    """
    try:
        return WatchdogLab(config=load_jupyter_config() if config is None else config)
    except TraitError as exc:
        raise InvalidSetting(describe_trait_error(exc)) from None


def describe_trait_error(exc: TraitError) -> str:
    """A traitlets error as a user can act on it: ``c.WatchdogLab.<name>`` and what it takes."""
    text = str(exc)
    for name in WatchdogLab.class_traits(config=True):
        if f"'{name}'" in text or text.startswith(f"{name}:"):
            # traitlets' own message names an Enum's allowed values; ours name the bounds.
            return f"c.WatchdogLab.{name} is invalid: {text.removeprefix(name + ': ')}"
    return f"Invalid WatchdogLab setting: {text}"
