"""What sandboxing this machine can give a bot, found out without changing the calling process.

A bot runs in the strongest sandbox available and the level is shown to the user, never
silently downgraded; so the level must come from real probes, not from the kernel version:
Landlock can be compiled out or disabled at boot, and user namespaces (which unprivileged
bubblewrap needs) are often switched off by distributions. Every probe here is read-only for
the caller: ``no_new_privs`` is only queried (setting it is irreversible), and namespaces are
tried in a short-lived child process.

Enforcement lives elsewhere; this module only detects.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "LANDLOCK_MIN_ABI",
    "SandboxLevel",
    "SandboxSupport",
    "choose_best",
    "detect",
    "landlock_abi",
    "no_new_privs_available",
    "user_namespaces_work",
]

SandboxLevel = Literal["landlock", "bubblewrap", "unsandboxed"]

# landlock_create_ruleset has the same number on every architecture that uses the unified
# syscall table; only the ones listed are ones this project has run on.
LANDLOCK_CREATE_RULESET = {"x86_64": 444, "amd64": 444, "aarch64": 444, "arm64": 444}
LANDLOCK_CREATE_RULESET_VERSION = 1 << 0
# ABI 1 already gives filesystem rules and keeps sandboxed processes from tracing (and so from
# reading the environment of) processes outside their domain, which is what bots need first.
LANDLOCK_MIN_ABI = 1
PR_GET_NO_NEW_PRIVS = 39
CLONE_NEWUSER = 0x10000000
PROBE_TIMEOUT = 10.0

_USERNS_PROBE = (
    "import ctypes, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    f"sys.exit(0 if libc.unshare({CLONE_NEWUSER}) == 0 else 1)\n"
)


@dataclass(frozen=True)
class SandboxSupport:
    """The sandboxing facts of this machine and the best level they allow."""

    best: SandboxLevel
    landlock_abi: int | None
    landlock_note: str
    no_new_privs: bool
    bubblewrap: str | None
    bubblewrap_works: bool
    user_namespaces: bool

    def summary(self) -> str:
        """One line for a person: the level, then the facts behind it."""
        landlock = (
            f"Landlock ABI {self.landlock_abi}"
            if self.landlock_abi is not None
            else f"no Landlock ({self.landlock_note})"
        )
        if self.bubblewrap is None:
            bwrap = "bubblewrap not installed"
        else:
            bwrap = "bubblewrap works" if self.bubblewrap_works else "bubblewrap fails here"
        return (
            f"{self.best}: {landlock}, no_new_privs "
            f"{'available' if self.no_new_privs else 'unavailable'}, {bwrap}, user namespaces "
            f"{'usable' if self.user_namespaces else 'unusable'}"
        )


def choose_best(landlock: int | None, no_new_privs: bool, bubblewrap_works: bool) -> SandboxLevel:
    """The level policy: Landlock needs no_new_privs to be enforced by an unprivileged process."""
    if landlock is not None and landlock >= LANDLOCK_MIN_ABI and no_new_privs:
        return "landlock"
    if bubblewrap_works:
        return "bubblewrap"
    return "unsandboxed"


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def landlock_abi(syscall_nr: int | None = None) -> tuple[int | None, str]:
    """The kernel's Landlock ABI version, or ``None`` and the reason it is not usable.

    ``syscall_nr`` overrides the number looked up for this architecture.
    """
    libc = _libc()
    if libc is None:
        return None, "not Linux"
    if syscall_nr is None:
        machine = platform.machine().lower()
        syscall_nr = LANDLOCK_CREATE_RULESET.get(machine)
        if syscall_nr is None:
            return None, f"architecture {machine or 'unknown'} not supported"
    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(
        ctypes.c_long(syscall_nr),
        None,
        ctypes.c_size_t(0),
        ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION),
    )
    if result >= 0:
        return int(result), ""
    err = ctypes.get_errno()
    if err == errno.ENOSYS:
        return None, "kernel built without Landlock"
    if err == errno.EOPNOTSUPP:
        return None, "Landlock disabled at boot (add landlock to the lsm= kernel parameter)"
    return None, f"probe failed ({errno.errorcode.get(err, err)})"


def no_new_privs_available() -> bool:
    """Whether the kernel knows PR_SET_NO_NEW_PRIVS; asked with PR_GET so nothing changes here."""
    libc = _libc()
    if libc is None:
        return False
    libc.prctl.restype = ctypes.c_int
    return int(libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) >= 0


def _run_quietly(argv: list[str]) -> bool:
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=PROBE_TIMEOUT,
            env={"PATH": os.environ.get("PATH", os.defpath)},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def user_namespaces_work() -> bool:
    """Whether this user can create a user namespace (tried in a throw-away child process)."""
    if _libc() is None:
        return False
    return _run_quietly([sys.executable, "-I", "-S", "-c", _USERNS_PROBE])


def bubblewrap_works(bwrap: str) -> bool:
    """Whether ``bwrap`` can start a process the way a bot would be started."""
    true = shutil.which("true") or "/bin/true"
    return _run_quietly(
        [
            bwrap,
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--unshare-pid",
            "--die-with-parent",
            "--",
            true,
        ]
    )


@functools.lru_cache(maxsize=1)
def _detect() -> SandboxSupport:
    abi, note = landlock_abi()
    nnp = no_new_privs_available()
    bwrap = shutil.which("bwrap")
    bwrap_ok = bwrap is not None and bubblewrap_works(bwrap)
    return SandboxSupport(
        best=choose_best(abi, nnp, bwrap_ok),
        landlock_abi=abi,
        landlock_note=note,
        no_new_privs=nnp,
        bubblewrap=bwrap,
        bubblewrap_works=bwrap_ok,
        user_namespaces=user_namespaces_work(),
    )


def detect(*, refresh: bool = False) -> SandboxSupport:
    """The machine's sandbox support; probed once per process unless ``refresh`` is given."""
    if refresh:
        _detect.cache_clear()
    return _detect()
