"""Facts about this installation that explain most "it does not work" reports.

Gathered here (not in a face) so that the CLI's ``doctor`` and any other face print the same
facts. Nothing here needs the vault password and nothing secret is read: the vault is only
asked for its state. The one side effect is the vault's own: opening ``vault.db`` tightens the
modes of the home folder and the database files, so modes are read *before* the vault is
opened and a loosened mode is reported even though it is fixed on the way.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ._version import __version__
from .bots.confine import Containment, choose_containment
from .bots.leftovers import Leftover, find_leftovers, promote_running
from .bots.registry import BotRegistry
from .bots.sandbox import SandboxSupport, detect
from .paths import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, home_dir
from .provisioning import describe_kernel_sandbox
from .vault import VAULT_FILE, Vault, VaultError

__all__ = ["DoctorReport", "FileMode", "ToolInfo", "VaultStatus", "gather", "registered_bots"]

PACKAGES = ("jupyter_server", "jupyterlab")
TOOL_TIMEOUT = 10.0


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class FileMode(_Model):
    """A private path: the mode found, the mode it should have, and whether it is too open."""

    path: str
    exists: bool
    mode: str | None = None
    expected: str
    too_open: bool = False
    tightened: bool = False


class ToolInfo(_Model):
    path: str | None = None
    version: str | None = None
    error: str | None = None


class VaultStatus(_Model):
    state: str
    totp_enabled: bool | None = None
    error: str | None = None


class PythonInfo(_Model):
    version: str
    implementation: str
    executable: str


class DoctorReport(_Model):
    watchdog_lab: str
    python: PythonInfo
    uv: ToolInfo
    packages: dict[str, str | None]
    home: FileMode
    vault_file: FileMode
    vault: VaultStatus
    sandbox: SandboxSupport
    # How interactive kernels a server starts are confined here (c.WatchdogLab.kernel_sandbox
    # 'best'): "landlock (ABI 7) + private mounts + private /proc", or "unconfined: <why>".
    kernel_sandbox: str
    # What ends every process of a bot's kernel with it (default settings): "pid namespace
    # (at most 1024 tasks)", or "process group only (...)" where a daemon outlives its bot.
    bot_containment: str
    # Bot folders and kernelspecs no registered bot owns (a promote killed halfway), and
    # whether a promote is running now (its files are among them until it registers).
    leftovers: list[Leftover] = []
    promote_running: bool = False
    warnings: list[str]


def _mode_of(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.lstat().st_mode)
    except FileNotFoundError:
        return None


def _check_mode(path: Path, before: int | None, expected: int) -> FileMode:
    after = _mode_of(path)
    too_open = before is not None and bool(before & ~expected)
    return FileMode(
        path=str(path),
        exists=before is not None,
        mode=None if before is None else f"{before:04o}",
        expected=f"{expected:04o}",
        too_open=too_open,
        tightened=too_open and after is not None and not after & ~expected,
    )


def _mode_warning(what: str, check: FileMode) -> str | None:
    if not check.too_open:
        return None
    found = f"{what} {check.path} was {check.mode}, looser than {check.expected}"
    if check.tightened:
        return (
            f"{found}; it has been tightened to {check.expected} now. Anyone who could read it "
            "meanwhile saw only ciphertext, but check who has access to this machine."
        )
    return f"{found}. Fix it with: chmod {check.expected[1:]} {check.path}"


def _vault_status(home: Path) -> VaultStatus:
    try:
        with Vault(home) as vault:
            described = vault.describe()
    except VaultError as exc:
        return VaultStatus(state="error", error=str(exc))
    except OSError as exc:
        return VaultStatus(state="error", error=f"cannot open the vault: {exc.strerror or exc}")
    totp = described.totp_enabled if described.state.value != "absent" else None
    return VaultStatus(state=described.state.value, totp_enabled=totp)


def registered_bots(home: Path) -> set[str]:
    """Ids of the bots the home's registry knows."""
    with Vault(home) as vault:
        return BotRegistry(vault.store).ids()


def _leftovers(home: Path, vault: VaultStatus) -> list[Leftover]:
    if vault.state in ("absent", "error"):
        return []  # without a registry, nothing tells a leftover from a bot
    try:
        return find_leftovers(home, registered_bots(home))
    except (VaultError, OSError):
        return []


def _leftover_warning(leftovers: list[Leftover], running: bool) -> str | None:
    if not leftovers:
        return None
    megabytes = sum(left.size_bytes for left in leftovers) / 1e6
    found = (
        f"{len(leftovers)} bot folder(s) or kernelspec(s) belong to no bot ({megabytes:.0f} MB), "
        "left by a promote that was killed"
    )
    if running:
        return f"{found}, or by the promote running now; check again when it is done."
    return f"{found}. Remove them with: watchdog-lab doctor --fix"


def find_uv() -> str | None:
    """uv as installed with this Python (the ``uv`` package), else the one on PATH."""
    try:
        from uv import find_uv_bin
    except ImportError:
        return shutil.which("uv")
    try:
        return str(find_uv_bin())
    except (FileNotFoundError, OSError):
        return shutil.which("uv")


def _uv_info(locate: Callable[[], str | None]) -> ToolInfo:
    path = locate()
    if path is None:
        return ToolInfo(error="uv not found: install it with `pip install uv`")
    try:
        done = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return ToolInfo(path=path, error=f"uv did not run: {exc.__class__.__name__}")
    if done.returncode != 0:
        return ToolInfo(path=path, error=f"`uv --version` exited with {done.returncode}")
    return ToolInfo(path=path, version=done.stdout.strip())


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def gather(
    home: str | os.PathLike[str] | None = None,
    *,
    sandbox: SandboxSupport | None = None,
    locate_uv: Callable[[], str | None] = find_uv,
    kernel_sandbox: str | None = None,
    bot_containment: Containment | None = None,
) -> DoctorReport:
    """Collect the report for the home folder ``home`` (default: ``$WATCHDOG_LAB_HOME``).
    ``sandbox``, ``kernel_sandbox`` (the interactive kernels' level) and ``bot_containment``
    are probed when not given."""
    root = home_dir(home)
    db = root / VAULT_FILE
    before_home, before_db = _mode_of(root), _mode_of(db)
    vault = _vault_status(root)
    home_check = _check_mode(root, before_home, PRIVATE_DIR_MODE)
    db_check = _check_mode(db, before_db, PRIVATE_FILE_MODE)
    sandbox = sandbox or detect()
    if kernel_sandbox is None:
        kernel_sandbox = describe_kernel_sandbox("best")
    containment = bot_containment or choose_containment("best")
    uv = _uv_info(locate_uv)
    running = promote_running(root)
    leftovers = _leftovers(root, vault)

    warnings = [
        w
        for w in (_mode_warning("home folder", home_check), _mode_warning("vault file", db_check))
        if w
    ]
    if vault.state == "absent":
        warnings.append(f"No vault yet in {root}: create one with `watchdog-lab init`.")
    elif vault.state == "error":
        warnings.append(f"The vault cannot be opened: {vault.error}")
    if sandbox.best == "unsandboxed":
        warnings.append(
            "No sandbox is available: bots would run unsandboxed (enable Landlock in the kernel "
            "or install bubblewrap with working user namespaces)."
        )
    if kernel_sandbox.startswith("unconfined"):
        warnings.append(
            "Interactive kernels cannot be confined here "
            f"({kernel_sandbox.removeprefix('unconfined: ')}): code in any notebook can read "
            "the Jupyter token and the WatchDog Lab home. Use a Linux kernel with Landlock and "
            "mount namespaces."
        )
    if containment.kind == "process-group":
        warnings.append(
            f"Bots' processes are held by their {containment.describe()}. Run as root or enable "
            "user namespaces so that each bot gets a PID namespace."
        )
    if uv.version is None:
        warnings.append(f"uv is unusable ({uv.error}); bots cannot get their environments.")
    leftover_warning = _leftover_warning(leftovers, running)
    if leftover_warning:
        warnings.append(leftover_warning)

    return DoctorReport(
        watchdog_lab=__version__,
        python=PythonInfo(
            version=platform.python_version(),
            implementation=platform.python_implementation(),
            executable=sys.executable,
        ),
        uv=uv,
        packages={name: _package_version(name) for name in PACKAGES},
        home=home_check,
        vault_file=db_check,
        vault=vault,
        sandbox=sandbox,
        kernel_sandbox=kernel_sandbox,
        bot_containment=containment.describe(),
        leftovers=leftovers,
        promote_running=running,
        warnings=warnings,
    )
