"""The settings users write as ``c.WatchdogLab.*``: one section, composed of the settings each
service declares and checks beside its code, loaded once for the server and the CLI alike.

A setting that only the server read would make a bot promoted from a terminal differ from one
promoted in JupyterLab (no ``require`` sandbox, no denylist, another restart policy), so both
faces build their services from this class. Each service owns its traits and their checks
(:class:`~.vault.config.VaultConfig`, :class:`~.bots.config.BotsConfig`,
:class:`~.provisioning.config.KernelsConfig`, :class:`~.aifix.config.AIFixConfig`); this class
only composes them under the name users already have in their files. traitlets applies a config
section to the classes of that name, and the server extension (:class:`~.server.app.WatchdogLab`)
inherits from this one, so one file configures both. The CLI reads the same Jupyter config files
as the server (:func:`load_jupyter_config`). Free of Jupyter server imports: the CLI must start
fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from jupyter_core.paths import jupyter_config_path
from traitlets import TraitError, Unicode, default
from traitlets.config import Config
from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

from .aifix.config import AIFixConfig
from .backup.config import BackupConfig
from .bots.config import UV_CACHE_ENV, BotsConfig
from .errors import InvalidSetting
from .paths import HOME_ENV, home_dir
from .provisioning.config import KernelsConfig
from .sync.config import SyncConfig
from .vault.config import VaultConfig

__all__ = [
    "CONFIG_FILE_NAMES",
    "UV_CACHE_ENV",
    "WatchdogLab",
    "load_jupyter_config",
    "load_settings",
]

#: Config files that may hold ``c.WatchdogLab.*``, in the order they apply (later wins): the
#: server's own, JupyterLab's (``jupyter lab`` reads both), and the extension's.
CONFIG_FILE_NAMES = ("jupyter_server_config", "jupyter_lab_config", "jupyter_watchdog_lab_config")


class WatchdogLab(VaultConfig, BotsConfig, KernelsConfig, AIFixConfig, BackupConfig, SyncConfig):
    """Every ``c.WatchdogLab.*`` setting; each one is checked when the configuration is loaded,
    so a bad value stops the server or the CLI at start with the setting's name."""

    home = Unicode(
        help=f"Folder that holds the vault and the bots. Defaults to ${HOME_ENV} when set, "
        "else ~/.watchdog-lab.",
    ).tag(config=True)

    @default("home")
    def _default_home(self) -> str:
        return str(home_dir())


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
