"""The kernel provisioners: jupyter_client's local provisioner with the exec wrapper in front.

A provisioner (rather than a patched kernel manager) is jupyter_client's own extension point
for how a kernel process is started: it applies to every kernel of the server whatever starts
it (the REST API, a session, a restart), and a kernelspec can name one for itself, which is how
a bot's kernelspec gets the bot's confinement wherever it is opened. The command is changed in
:meth:`launch_kernel`, after :meth:`pre_launch` wrote the connection file: the plan names that
file and, on TCP, the ports in it.

The wrapper (:mod:`watchdog_lab.bots.launch`) confines itself and then ``exec``s the kernel, so
the kernel is still the very process jupyter_client started, signals and waits for.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Literal

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.manager import KernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from jupyter_core.paths import jupyter_config_dir, jupyter_runtime_dir
from traitlets import Unicode

from ..bots.confine import build_plan, choose_level
from ..bots.errors import BotError
from ..bots.kernelspec import kernel_name
from ..bots.layout import BotPaths, socket_root
from ..bots.models import BotConfig
from ..bots.sandbox_plan import wrapper_command
from ..paths import home_dir
from .errors import BotKernelRefused
from .sandbox import choose_kernel_sandbox, interactive_plan, scrub_environment

__all__ = ["BotKernelProvisioner", "ConfinedProvisioner", "InteractiveKernelProvisioner"]

_SHARED_TEMP = frozenset(os.path.realpath(p) for p in (tempfile.gettempdir(), "/tmp", "/var/tmp"))  # noqa: S108
_PortKey = Literal["shell_port", "iopub_port", "stdin_port", "hb_port", "control_port"]
_PORTS: tuple[_PortKey, ...] = ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port")


class ConfinedProvisioner(LocalProvisioner):
    """What both provisioners share: the WatchDog Lab home to hide, the server's folders."""

    lab_home = Unicode(
        "",
        help="The WatchDog Lab home kernels must not see (set by the server extension from "
        "c.WatchdogLab.home; default: $WATCHDOG_LAB_HOME, else ~/.watchdog-lab).",
    ).tag(config=True)

    def _home(self) -> Path:
        return home_dir(self.lab_home or None)

    def _manager(self) -> KernelManager:
        """The kernel manager that launches this kernel: jupyter_client creates every
        provisioner with its manager as ``parent``."""
        km = self.parent
        assert isinstance(km, KernelManager), "a provisioner's parent is its kernel manager"
        return km

    def _serverapp(self) -> Any:
        """The Jupyter server, when the kernel manager belongs to one (manager -> multi-kernel
        manager -> server app); ``None`` for a kernel started by jupyter_client alone."""
        multi = getattr(self.parent, "parent", None)
        return getattr(multi, "parent", None)

    def _root_dir(self, cwd: str | None) -> str:
        root = getattr(getattr(self.parent, "parent", None), "root_dir", None)
        return str(root or cwd or os.getcwd())

    def _runtime_dirs(self) -> list[str]:
        """Every folder that may hold connection files or ``jpserver-*.json``."""
        folders = [jupyter_runtime_dir()]
        server_runtime = getattr(self._serverapp(), "runtime_dir", None)
        if isinstance(server_runtime, str) and server_runtime:
            folders.append(server_runtime)
        connection_file = getattr(self.parent, "connection_file", "")
        if connection_file:
            folder = os.path.dirname(os.path.abspath(connection_file))
            # A kernel manager used alone writes its connection file to the shared temp
            # folder, which the kernel must keep (its own file is mounted back regardless).
            if os.path.realpath(folder) not in _SHARED_TEMP:
                folders.append(folder)
        return folders

    def _ipc_folder(self) -> str | None:
        """On IPC transport, the folder of the kernel's sockets (which it creates)."""
        km = self.parent
        ip = getattr(km, "ip", "")
        if getattr(km, "transport", "tcp") != "ipc" or not ip:
            return None
        return os.path.dirname(os.path.abspath(ip))


class InteractiveKernelProvisioner(ConfinedProvisioner):
    """``watchdog-lab-kernel``: the default provisioner of a server whose
    ``c.WatchdogLab.kernel_sandbox`` is ``best`` (see :mod:`.sandbox` for the plan).

    Besides the WatchDog Lab home and the runtime folders, the user's Jupyter configuration
    folder (``~/.jupyter``) is hidden: the server's token or password hash may be written
    there, and a config file written there would run in the next server (other such places,
    a venv's ``site-packages`` among them, stay writable: see SECURITY.md). The kernel gets a
    runtime folder of its own in ``JUPYTER_RUNTIME_DIR``, so Jupyter tools run from a notebook
    (nbclient, papermill, ``jupyter nbconvert --execute``) can still start kernels."""

    _warned = False
    _runtime_dir: str | None = None

    def _private_runtime_dir(self) -> str:
        if self._runtime_dir is None or not os.path.isdir(self._runtime_dir):
            self._runtime_dir = tempfile.mkdtemp(prefix="wdl-runtime-")
        return self._runtime_dir

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        env = scrub_environment(kwargs.get("env") or os.environ)
        sandbox = choose_kernel_sandbox("best")
        if sandbox.confined:
            ipc = self._ipc_folder()
            env["JUPYTER_RUNTIME_DIR"] = self._private_runtime_dir()
            config_dir = jupyter_config_dir()
            with contextlib.suppress(OSError):  # made, so that it can be hidden
                os.makedirs(config_dir, mode=0o700, exist_ok=True)
            plan = interactive_plan(
                root_dir=self._root_dir(kwargs.get("cwd")),
                connection_file=self._manager().connection_file,
                hidden=[self._home(), *self._runtime_dirs(), config_dir, socket_root()],
                home=env.get("HOME") or None,
                extra_write=[ipc] if ipc else [],
                sandbox=sandbox,
            )
            cmd = [*wrapper_command(plan), *cmd]
        elif not InteractiveKernelProvisioner._warned:
            InteractiveKernelProvisioner._warned = True
            self.log.warning(
                "WatchDog Lab: interactive kernels run unconfined here (%s): kernel code can "
                "read the Jupyter token and the WatchDog Lab home.",
                sandbox.describe(),
            )
        kwargs["env"] = env
        return await super().launch_kernel(cmd, **kwargs)

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        if not restart and self._runtime_dir is not None:
            shutil.rmtree(self._runtime_dir, ignore_errors=True)
            self._runtime_dir = None


class BotKernelProvisioner(ConfinedProvisioner):
    """``watchdog-lab-bot``: named by every bot's kernelspec (``config: {"bot_id": ...}``). A
    kernel opened on it gets the bot's own plan (:func:`watchdog_lab.bots.confine.build_plan`):
    the bot's venv read-only, its ``state/`` and ``tmp/`` writable, nothing else of the home;
    its working folder is ``state/``. The bot runner confines its kernels itself (its kernel
    manager carries the wrapper already): those are started as they come."""

    bot_id = Unicode("", help="The bot whose kernelspec this is (a UUID).").tag(config=True)

    _socket_dir: str | None = None

    def _bot(self) -> tuple[BotPaths, BotConfig]:
        spec_dir = Path(getattr(self.kernel_spec, "resource_dir", "") or "")
        try:
            name = kernel_name(self.bot_id)
        except ValueError:
            raise BotKernelRefused(
                f"The kernelspec in {spec_dir} names no valid bot id; the kernel was not started."
            ) from None
        if spec_dir.name != name or spec_dir.parent.name != "kernels":
            raise BotKernelRefused(
                f"The kernelspec {spec_dir.name!r} is not bot {self.bot_id}'s own (it must be "
                f"<WatchDog Lab home>/kernels/{name}); the kernel was not started."
            )
        paths = BotPaths(spec_dir.parent.parent, uuid.UUID(self.bot_id).hex)
        try:
            config = BotConfig.model_validate_json(paths.config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise BotKernelRefused(
                f"Bot {self.bot_id} has no readable configuration in {paths.root}, so its kernel "
                "cannot be confined as the bot and was not started. Promote the notebook again "
                "or remove the stale kernelspec."
            ) from None
        return paths, config

    def _socket_folder(self) -> Path:
        """A private folder the kernel may write (its IPC sockets, if any): the plan's
        ``runtime_dir``, as the runner gives its kernels one."""
        ipc = self._ipc_folder()
        if ipc is not None:
            return Path(ipc)
        if self._socket_dir is None or not os.path.isdir(self._socket_dir):
            self._socket_dir = tempfile.mkdtemp(prefix="wdl-k-")
        return Path(self._socket_dir)

    def _kernel_env(
        self, env: dict[str, str], paths: BotPaths, config: BotConfig
    ) -> dict[str, str]:
        """The server's environment (and the broker's variables) without its secrets, with the
        bot's own homes, as the runner sets them: nothing else is writable."""
        env = scrub_environment(env)
        tmp = str(paths.tmp)
        env.update(
            HOME=tmp,
            TMPDIR=tmp,
            IPYTHONDIR=str(paths.tmp / "ipython"),
            MPLCONFIGDIR=str(paths.tmp / "matplotlib"),
            PYTHONNOUSERSITE="1",
            PYTHONDONTWRITEBYTECODE="1",
            WATCHDOG_LAB_BOT_ID=config.id,
            WATCHDOG_LAB_BOT_NAME=config.name,
            WATCHDOG_LAB_BOT_DIR=str(paths.root),
            WATCHDOG_LAB_STATE_DIR=str(paths.state),
        )
        return env

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        if getattr(self.parent, "launcher_prefix", None):
            return await super().launch_kernel(cmd, **kwargs)
        paths, config = self._bot()
        level = choose_level(config.sandbox)
        if level.kind == "refused":
            raise BotKernelRefused(
                f"Bot {config.name!r}'s sandbox setting cannot be met here ({level.reason}); "
                "its kernel was not started."
            )
        if level.kind == "unsandboxed":
            self.log.warning(
                "WatchDog Lab: the kernel of bot %r runs UNSANDBOXED (%s).",
                config.name,
                level.reason,
            )
        try:
            plan = build_plan(paths, config, self._socket_folder(), level)
        except BotError as exc:
            raise BotKernelRefused(f"{exc} The kernel was not started.") from None
        connection_file = self._manager().connection_file
        plan = plan._replace(read=(*plan.read, os.path.realpath(connection_file)))
        if plan.deny_tcp_bind and getattr(self.parent, "transport", "tcp") == "tcp":
            info = self._manager().get_connection_info()
            plan = plan._replace(bind_ports=tuple(int(info[port]) for port in _PORTS))
        kwargs["env"] = self._kernel_env(dict(kwargs.get("env") or os.environ), paths, config)
        kwargs["cwd"] = str(paths.state)
        return await super().launch_kernel([*wrapper_command(plan), *cmd], **kwargs)

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        if not restart and self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
