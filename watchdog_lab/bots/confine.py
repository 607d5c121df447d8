"""How a bot kernel is confined: which sandbox level a bot gets, and the command prefix that
applies it in the kernel's own process before the kernel starts.

The bot's ``sandbox`` setting picks the policy:

- ``best`` (default): Landlock, else bubblewrap, else unsandboxed with a loud warning.
- ``require``: like ``best``, but refuse to run rather than run unsandboxed.
- ``landlock`` / ``bubblewrap``: exactly that level, or refuse to run.
- ``none``: unsandboxed on purpose (resource limits still apply), with the same warning.

Whatever the level, the kernel sees the same map (see :mod:`.layout`): system files and the
interpreter read-only, its venv read-only (the venv's files are hardlinks into the shared uv
cache: a write through one would change every bot), its notebook folder and connection files
read-only, its ``state/``, ``tmp/`` and socket folder read-write, and nothing else of the
WatchDog Lab home, of other bots, or of the user's home. ``/etc`` is opened file by file: it
also holds what a root-run bot must not read (``shadow``, host and TLS private keys).

With Landlock, where mount namespaces work, the kernel also gets a private view in which the
temp folders, ``/run`` and the homes are empty (:mod:`.mounts` says why Landlock alone leaves
Unix sockets reachable), and, where a procfs may be mounted, a ``/proc`` that lists only its
own processes; and every mount in that view is read-only except the bot's ``state/``,
``tmp/``, socket folder and private ``/dev/shm`` (Landlock does not cover ``chmod``,
``chown``, ``utime`` or ``setxattr``, and the venv's files are inodes shared with every bot).

Network (Landlock ABI >= 4, at both levels): TCP connect only to the ports of the bot's
``connect_ports`` (default 443 and 80: exchanges speak HTTPS; the ``bot_connect_ports``
setting adds more), on any address. Interactive kernels' channels and the Jupyter server
listen on other ports of 127.0.0.1, so they are out of every bot's reach (their Unix sockets
and the Jupyter runtime folder are hidden by the private view, or absent at the bubblewrap
level). TCP bind is refused, which only costs ipykernel the capture of output from forked
child processes. ``/proc/net`` still lists the machine's sockets: a private ``/proc`` cannot
hide the per-process ``net`` entries, and a listing is harmless once connect is refused.
The level actually used is what :func:`describe_level` reports and what the user sees; it is
never lowered silently.

Containment, beside the level: every process a kernel starts must end with it, a daemon that
double-forks and starts its own session included. Where the machine allows it (root, or user
namespaces), the kernel gets a PID namespace of its own with a task cap (the ``pids`` limit;
see :mod:`.containment`); bubblewrap makes its own namespace. Elsewhere only the kernel's
session holds them (the runner and ``bots stop`` sweep it), which a process that starts a
session of its own leaves: :func:`describe_containment` says so, as ``bots status`` and
``doctor`` show.
"""

from __future__ import annotations

import functools
import glob
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from . import sandbox
from .containment import PROBE_NO_TASK_CAP
from .errors import InvalidLimit, SandboxUnavailable
from .launch import PROBE_VIEW_ONLY
from .layout import BotPaths
from .limits import DEFAULT_TASKS, LIMIT_NAMES, resolve_limits, task_cap
from .models import BotConfig
from .mounts import SHM, is_within
from .sandbox_plan import SandboxPlan, wrapper_command

__all__ = [
    "MODES",
    "Containment",
    "Level",
    "SandboxUnavailable",
    "build_plan",
    "choose_containment",
    "choose_level",
    "containment_at",
    "describe_containment",
    "describe_level",
    "launcher_prefix",
    "sandbox_notice",
]

MODES = ("best", "require", "landlock", "bubblewrap", "none")
PROBE_TIMEOUT = 10.0

SYSTEM_EXECUTE = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_READ = (
    "/proc",
    "/sys/devices/system/cpu",
    "/sys/devices/system/node",
    "/sys/fs/cgroup",
    "/dev/random",
    "/dev/urandom",
    "/dev/zero",
)
SYSTEM_WRITE = ("/dev/null",)
# What programs read from /etc: the loader, name resolution, TLS trust, time, locale, MIME,
# fonts, terminfo, Jupyter/IPython configuration, Debian's Python customisation.
ETC_READ = (
    "/etc/alternatives",
    "/etc/ca-certificates",
    "/etc/ca-certificates.conf",
    "/etc/crypto-policies",
    "/etc/debian_version",
    "/etc/fonts",
    "/etc/gai.conf",
    "/etc/group",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/ipython",
    "/etc/jupyter",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/ld.so.preload",
    "/etc/locale.alias",
    "/etc/localtime",
    "/etc/lsb-release",
    "/etc/mime.types",
    "/etc/networks",
    "/etc/nsswitch.conf",
    "/etc/os-release",
    "/etc/passwd",
    "/etc/pki/ca-trust/extracted",
    "/etc/pki/tls/cert.pem",
    "/etc/pki/tls/certs",
    "/etc/pki/tls/openssl.cnf",
    "/etc/protocols",
    "/etc/resolv.conf",
    "/etc/services",
    "/etc/ssl/cert.pem",
    "/etc/ssl/certs",
    "/etc/ssl/openssl.cnf",
    "/etc/terminfo",
    "/etc/timezone",
)
ETC_READ_GLOBS = ("/etc/python3*",)
# Never hidden by the private mount view (the kernel needs them as they are).
_NEVER_HIDE: tuple[str, ...] = ("/", "/usr", "/etc", "/proc", "/sys", "/dev", "/bin", "/sbin")
_NEVER_HIDE += ("/boot", "/lib", "/lib32", "/lib64", "/libx32")
# Shared by every process of the machine: hidden, never written (hence the noqa).
_SHARED_FOLDERS = ("/tmp", "/var/tmp", "/run")  # noqa: S108


@dataclass(frozen=True)
class Level:
    """The sandbox a bot will actually get on this machine, or why it gets none."""

    kind: Literal["landlock", "bubblewrap", "unsandboxed", "refused"]
    abi: int | None = None
    private_mounts: bool = False
    private_proc: bool = False
    reason: str = ""

    def describe(self) -> str:
        if self.kind == "landlock":
            extra = " + private mounts" if self.private_mounts else ""
            extra += " + private /proc" if self.private_mounts and self.private_proc else ""
            return f"landlock (ABI {self.abi}){extra}"
        if self.kind == "refused":
            return f"refused: {self.reason}"
        return self.kind


def _landlock() -> tuple[int | None, str]:
    abi, note = sandbox.landlock_abi()
    if abi is None:
        return None, note
    if abi < sandbox.LANDLOCK_MIN_ABI:
        return None, f"Landlock ABI {abi} is too old"
    if not sandbox.no_new_privs_available():
        return None, "no_new_privs is not available"
    return abi, ""


@functools.lru_cache(maxsize=1)
def private_view_support() -> tuple[bool, bool]:
    """Whether the wrapper can give a kernel its private mount view here, and a private
    ``/proc`` in it: tried for real, in a child process, on a throw-away folder (user
    namespaces may exist yet be denied mounts; a procfs needs root)."""
    folder = tempfile.mkdtemp(prefix="wdl-probe-")
    try:
        Path(folder, "visible").touch()
        done = subprocess.run(
            [sys.executable, "-I", "-m", "watchdog_lab.bots.launch", "--probe-mounts", folder],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
        return done.returncode in (0, PROBE_VIEW_ONLY), done.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False, False
    finally:
        Path(folder, "visible").unlink(missing_ok=True)
        os.rmdir(folder)


@dataclass(frozen=True)
class Containment:
    """What holds every process of a bot's kernel together, so that a stop ends them all."""

    kind: Literal["pid-namespace", "bubblewrap", "process-group", "refused"]
    max_tasks: int | None = None
    reason: str = ""

    @property
    def contained(self) -> bool:
        """True when no process the kernel starts can outlive it."""
        return self.kind in ("pid-namespace", "bubblewrap")

    def describe(self) -> str:
        """``pid namespace (at most 1024 tasks)``, ``pid namespace (bubblewrap; no task
        cap)``, ``process group only: <why>; ...`` or ``refused: <why>``."""
        if self.kind == "refused":
            return f"refused: {self.reason}"
        if self.kind == "process-group":
            return (
                f"process group only ({self.reason}): a process that starts a session of its "
                "own outlives the bot"
            )
        where = "bubblewrap; " if self.kind == "bubblewrap" else ""
        if self.max_tasks is not None:
            return f"pid namespace ({where}at most {self.max_tasks} tasks)"
        return f"pid namespace ({where}no task cap: {self.reason})"


@functools.lru_cache(maxsize=1)
def pid_namespace_support() -> tuple[bool, bool]:
    """Whether the wrapper can give a kernel a PID namespace here, and cap its tasks in it:
    tried for real, in a child process (root may; anyone else needs user namespaces; the cap
    needs Linux 6.14)."""
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-I",
                "-m",
                "watchdog_lab.bots.launch",
                "--probe-pid-namespace",
                str(DEFAULT_TASKS),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False, False
    return done.returncode in (0, PROBE_NO_TASK_CAP), done.returncode == 0


def choose_containment(mode: str, max_tasks: int | None = DEFAULT_TASKS) -> Containment:
    """The containment a bot with sandbox setting ``mode`` and task cap ``max_tasks`` (None:
    none wanted) gets on this machine."""
    return containment_at(choose_level(mode), max_tasks)


def containment_at(level: Level, max_tasks: int | None) -> Containment:
    """The containment that goes with sandbox ``level`` on this machine."""
    if level.kind == "refused":
        return Containment("refused", reason=level.reason)
    if level.kind == "bubblewrap":
        return Containment("bubblewrap", reason="bubblewrap cannot cap them")
    namespace, cap = pid_namespace_support()
    if not namespace:
        return Containment(
            "process-group",
            reason="no PID namespace here: neither root nor usable user namespaces",
        )
    if max_tasks is None:
        return Containment("pid-namespace", reason="the bot's 'pids' limit is -1")
    if not cap:
        return Containment(
            "pid-namespace", reason="a per-namespace pid_max needs Linux 6.14 or later"
        )
    return Containment("pid-namespace", max_tasks=max_tasks)


def describe_containment(mode: str, limits: dict[str, int] | None = None) -> str:
    """The containment shown in ``bots status``, ``doctor`` and the UI, for a bot with sandbox
    setting ``mode`` and configured limits ``limits``."""
    try:
        tasks = task_cap(resolve_limits(limits or {}))
    except InvalidLimit as exc:
        return f"refused: {exc}"
    return choose_containment(mode, tasks).describe()


@functools.lru_cache(maxsize=8)
def choose_level(mode: str) -> Level:
    """The level for a bot's ``sandbox`` setting on this machine (probed once per process)."""
    wanted = mode.strip().lower()
    if wanted not in MODES:
        return Level("refused", reason=f"unknown sandbox mode {mode!r} (use {', '.join(MODES)})")
    if wanted == "none":
        return Level("unsandboxed", reason="the bot's configuration turns the sandbox off")
    missing: list[str] = []
    if wanted in ("best", "require", "landlock"):
        abi, note = _landlock()
        if abi is not None:
            view, proc = private_view_support()
            return Level("landlock", abi=abi, private_mounts=view, private_proc=proc)
        missing.append(f"no Landlock ({note})")
    if wanted in ("best", "require", "bubblewrap"):
        support = sandbox.detect()
        if support.bubblewrap_works:
            return Level("bubblewrap")
        missing.append(
            "bubblewrap not installed" if support.bubblewrap is None else "bubblewrap fails here"
        )
    why = "; ".join(missing)
    if wanted == "best":
        return Level("unsandboxed", reason=why)
    return Level("refused", reason=f"sandbox {wanted!r} is not available: {why}")


def describe_level(mode: str) -> str:
    """The level shown in ``bots status``, ``doctor`` and the UI: ``landlock (ABI 7)`` (maybe
    ``+ private mounts``), ``bubblewrap``, ``unsandboxed``, or ``refused: <why>``."""
    return choose_level(mode).describe()


def sandbox_notice(mode: str) -> str | None:
    """What a runner must log before its first run: a warning when the bot will run
    unsandboxed, nothing when it is confined; raises :class:`SandboxUnavailable` when the
    setting cannot be met here (the runner should then not run the bot at all)."""
    level = choose_level(mode)
    if level.kind == "refused":
        raise SandboxUnavailable(
            f"The bot's sandbox setting cannot be met on this machine: {level.reason}. Use "
            "sandbox 'best' to run in the strongest sandbox available, or install bubblewrap "
            "(the 'bubblewrap' package) where Landlock is missing."
        )
    if level.kind == "unsandboxed":
        return (
            f"WARNING: this bot runs UNSANDBOXED ({level.reason}): its code can read the "
            "vault file, other bots' folders and your home folder. Use a Linux kernel with "
            "Landlock (5.13 or later) or install bubblewrap."
        )
    return None


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(path)


def _as_named_and_real(*paths: str | os.PathLike[str]) -> list[str]:
    """Each path as the kernel is told it (``HOME``, ``TMPDIR``, its working folder) and, when
    a symlink lies on the way, as it really is: bubblewrap binds the named place, Landlock and
    the mount view act on the real one."""
    out: list[str] = []
    for path in paths:
        named, real = os.path.abspath(path), _real(path)
        out += [named] if named == real else [named, real]
    return out


def interpreter_prefixes(venv: Path) -> list[str]:
    """Where the venv's base interpreter lives (its stdlib and shared libraries): the parent of
    ``home`` in ``pyvenv.cfg``, and of the folder of the resolved ``bin/python``."""
    found: set[str] = set()
    try:
        for line in (venv / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                found.add(_real(Path(value.strip()).parent))
    except OSError:
        pass
    python = venv / "bin" / "python"
    if python.exists():
        found.add(_real(Path(_real(python)).parent.parent))
    return sorted(found)


def _etc_paths() -> list[str]:
    paths = list(ETC_READ)
    for pattern in ETC_READ_GLOBS:
        paths += sorted(glob.glob(pattern))
    return paths


def _jupyter_runtime_dir() -> str:
    """Where interactive kernels' connection files (and IPC sockets) and the server's
    ``jpserver-*.json`` (its URL and token) live; usually beneath a folder hidden anyway,
    unless ``JUPYTER_RUNTIME_DIR`` moves it."""
    from jupyter_core.paths import jupyter_runtime_dir

    return jupyter_runtime_dir()


def _hidden_folders(paths: BotPaths, runtime_dir: Path) -> tuple[str, ...]:
    """Folders to empty in the private view: shared temp and runtime folders, the user's and
    WatchDog Lab's homes. A folder is left alone when a path the kernel is given (its working
    folder, ``HOME``, ``TMPDIR``, sockets, interpreter) reaches through a symlink beneath it:
    the view mounts back real paths, not the links that lead to them."""
    candidates = [*_SHARED_FOLDERS, tempfile.gettempdir(), str(runtime_dir.parent)]
    candidates.append(_jupyter_runtime_dir())
    candidates += [str(Path.home()), str(paths.home), _real(paths.home)]
    given = [paths.venv_python.parent, paths.notebooks, paths.run_dir, paths.state, paths.tmp]
    given.append(runtime_dir)
    through_links = [os.path.abspath(p) for p in given if _real(p) != os.path.abspath(p)]
    folders: list[str] = []
    for candidate in candidates:
        folder = os.path.abspath(candidate)
        if os.path.islink(folder) or not os.path.isdir(folder):
            continue
        if any(folder == top or is_within(top, folder) for top in _NEVER_HIDE):
            continue
        if any(is_within(p, folder) for p in through_links):
            continue
        folders.append(folder)
    return tuple(sorted(set(folders)))


def _refuse_exposure(paths: BotPaths, readable: list[str]) -> None:
    """No readable path may contain the WatchDog Lab home: the vault and every bot live there.
    (An interpreter installed at a prefix like the user's home would do exactly that.)"""
    home = _real(paths.home)
    for path in readable:
        if is_within(home, _real(path)):
            raise SandboxUnavailable(
                f"The sandbox would have to allow {path!r}, which contains the WatchDog Lab "
                f"home {home!r} (the vault and every bot). Install the bot interpreter outside "
                "it, or set WATCHDOG_LAB_HOME to a folder outside that path."
            )


def build_plan(paths: BotPaths, config: BotConfig, runtime_dir: Path, level: Level) -> SandboxPlan:
    """The plan for one kernel of this bot, at the given level."""
    try:
        rlimits = resolve_limits(config.rlimits)
    except InvalidLimit as exc:
        raise SandboxUnavailable(str(exc)) from None
    containment = containment_at(level, task_cap(rlimits))
    rlimits = {name: value for name, value in rlimits.items() if name in LIMIT_NAMES}
    pid_namespace = containment.kind == "pid-namespace"
    max_tasks = containment.max_tasks
    if level.kind in ("unsandboxed", "refused"):
        return SandboxPlan(
            level="none", rlimits=rlimits, pid_namespace=pid_namespace, max_tasks=max_tasks
        )
    execute = [*SYSTEM_EXECUTE, *interpreter_prefixes(paths.venv)]
    execute += _as_named_and_real(paths.venv)
    read = [*SYSTEM_READ, *_etc_paths(), *_as_named_and_real(paths.notebooks, paths.run_dir)]
    write = [*SYSTEM_WRITE, *_as_named_and_real(paths.state, paths.tmp, runtime_dir)]
    _refuse_exposure(paths, [*execute, *read])
    connect_ports = tuple(config.connect_ports)
    if level.kind == "bubblewrap":
        support = sandbox.detect()
        return SandboxPlan(
            level="bubblewrap",
            read=tuple(read),
            execute=tuple(execute),
            write=tuple(write),
            connect_ports=connect_ports,
            read_only_mounts=True,
            rlimits=rlimits,
            bwrap=support.bubblewrap,
        )
    hide: tuple[str, ...] = ()
    if level.private_mounts:
        hide = _hidden_folders(paths, runtime_dir)
    return SandboxPlan(
        level="landlock",
        read=tuple(read),
        execute=tuple(execute),
        write=tuple(write) + ((SHM,) if hide else ()),
        hide=hide,
        private_shm=bool(hide),
        private_proc=bool(hide) and level.private_proc,
        connect_ports=connect_ports,
        read_only_mounts=bool(hide),
        rlimits=rlimits,
        pid_namespace=pid_namespace,
        max_tasks=max_tasks,
    )


def launcher_prefix(paths: BotPaths, config: BotConfig, runtime_dir: Path) -> list[str]:
    """The exec wrapper's command line, to put in front of the kernel's: it applies the plan
    in the process that then becomes the kernel. Raises :class:`SandboxUnavailable` when the
    bot's setting cannot be met (the kernel must not start at a lower level)."""
    level = choose_level(config.sandbox)
    if level.kind == "refused":
        raise SandboxUnavailable(f"Sandbox refused: {level.reason}.")
    return wrapper_command(build_plan(paths, config, runtime_dir, level))
