"""Giving up privileges before a bot kernel starts: no_new_privs and every capability.

Landlock alone is not enough for a kernel started by root: a process holding CAP_SYS_PTRACE
can still read ``/proc/<pid>/environ`` of processes outside its Landlock domain (checked on
Linux 6.18), and other capabilities reach past path-based rules altogether (loading kernel
modules from memory, raw I/O, network administration). So the wrapper empties the bounding,
ambient, effective, permitted and inheritable sets, and sets no_new_privs so that no later
``execve`` (set-uid binaries, file capabilities) gives any of it back.
"""

from __future__ import annotations

import ctypes
import errno
import os

__all__ = ["capabilities", "drop_capabilities", "set_no_new_privs"]

_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522
_CAP_SETPCAP = 8


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.restype = ctypes.c_int
    libc.capset.restype = ctypes.c_int
    return libc


def _fail(call: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{call}: {os.strerror(err)}")


def set_no_new_privs() -> None:
    """Irreversible, inherited by children and kept across ``execve``."""
    if _libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _fail("prctl(PR_SET_NO_NEW_PRIVS)")


def capabilities() -> dict[str, int]:
    """This process's capability sets as the kernel reports them (``CapEff`` and so on)."""
    sets: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Cap"):
                name, value = line.split(":", 1)
                sets[name] = int(value.strip(), 16)
    return sets


def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return 63


def drop_capabilities() -> None:
    """Empty every capability set of this process, and check that the kernel agrees."""
    libc = _libc()
    if capabilities().get("CapEff", 0) >> _CAP_SETPCAP & 1:
        # Only a holder of CAP_SETPCAP can shrink the bounding set; without it nothing in
        # the bounding set can be gained anyway once no_new_privs is set.
        for cap in range(_last_cap() + 1):
            if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != (
                errno.EINVAL
            ):
                raise _fail(f"prctl(PR_CAPBSET_DROP, {cap})")
    if libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 and (
        ctypes.get_errno() != errno.EINVAL  # kernels before 4.3 have no ambient set
    ):
        raise _fail("prctl(PR_CAP_AMBIENT_CLEAR_ALL)")
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    empty = (_CapData * 2)()
    if libc.capset(ctypes.byref(header), empty) != 0:
        raise _fail("capset")
    held = ("CapEff", "CapPrm", "CapInh", "CapAmb")
    left = {k: v for k, v in capabilities().items() if k in held}
    if any(left.values()):
        raise OSError(errno.EPERM, f"capabilities still held after dropping them: {left}")
