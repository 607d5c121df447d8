"""Landlock, the Linux LSM an unprivileged process uses to restrict itself, bound with ctypes.

Why ctypes and not a package: the bindings run in the exec wrapper in front of every bot kernel,
where start-up time counts and a third-party import would widen what runs before the sandbox is
in place; and the whole interface is three system calls with plain C structs.

A domain, once entered with :meth:`Ruleset.restrict_self`, can never be left, is inherited by
every child and by ``execve``, and also keeps the process from tracing (so from reading
``/proc/<pid>/environ`` or ``mem`` of) any process outside it; with ABI >= 6 it can also keep
signals and abstract Unix sockets inside the domain.
"""

from __future__ import annotations

import ctypes
import enum
import errno
import os
import stat

__all__ = [
    "FILE_RIGHTS",
    "AccessFs",
    "AccessNet",
    "LandlockError",
    "Ruleset",
    "Scope",
    "abi_version",
    "fs_rights",
    "net_rights",
    "scopes",
]

# The unified system call table: the same numbers on x86_64 and arm64.
_SYSCALLS = {"x86_64": (444, 445, 446), "amd64": (444, 445, 446)}
_SYSCALLS.update({"aarch64": (444, 445, 446), "arm64": (444, 445, 446)})

_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_RULE_NET_PORT = 2
_O_PATH = getattr(os, "O_PATH", 0o10000000)


class AccessFs(enum.IntFlag):
    """Filesystem rights; each ABI adds some, and a ruleset may only name those it knows."""

    EXECUTE = 1 << 0
    WRITE_FILE = 1 << 1
    READ_FILE = 1 << 2
    READ_DIR = 1 << 3
    REMOVE_DIR = 1 << 4
    REMOVE_FILE = 1 << 5
    MAKE_CHAR = 1 << 6
    MAKE_DIR = 1 << 7
    MAKE_REG = 1 << 8
    MAKE_SOCK = 1 << 9
    MAKE_FIFO = 1 << 10
    MAKE_BLOCK = 1 << 11
    MAKE_SYM = 1 << 12
    REFER = 1 << 13  # ABI 2
    TRUNCATE = 1 << 14  # ABI 3
    IOCTL_DEV = 1 << 15  # ABI 5


class AccessNet(enum.IntFlag):
    """TCP rights (ABI 4); UDP and Unix sockets are outside Landlock's network rules."""

    BIND_TCP = 1 << 0
    CONNECT_TCP = 1 << 1


class Scope(enum.IntFlag):
    """IPC kept inside the domain (ABI 6): the sandboxed side may not reach out; others may."""

    ABSTRACT_UNIX_SOCKET = 1 << 0
    SIGNAL = 1 << 1


NO_NET = AccessNet(0)
NO_SCOPE = Scope(0)

# The only rights the kernel accepts on a rule whose object is not a directory.
FILE_RIGHTS = (
    AccessFs.EXECUTE
    | AccessFs.WRITE_FILE
    | AccessFs.READ_FILE
    | AccessFs.TRUNCATE
    | AccessFs.IOCTL_DEV
)


class LandlockError(OSError):
    """A Landlock call failed; the errno says why, the message which call."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is __attribute__((packed)): 12 bytes
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _numbers() -> tuple[int, int, int]:
    machine = os.uname().machine.lower()
    try:
        return _SYSCALLS[machine]
    except KeyError:
        raise LandlockError(
            errno.ENOSYS, f"Landlock: architecture {machine} not supported"
        ) from None


def _fail(call: str) -> LandlockError:
    err = ctypes.get_errno()
    return LandlockError(err, f"{call}: {os.strerror(err)}")


def abi_version() -> int:
    """The running kernel's Landlock ABI; raises :class:`LandlockError` when there is none."""
    create, _, _ = _numbers()
    result = _libc().syscall(
        ctypes.c_long(create), None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)
    )
    if result < 0:
        raise _fail("landlock_create_ruleset(VERSION)")
    return int(result)


def fs_rights(abi: int) -> AccessFs:
    """Every filesystem right the ABI knows: a ruleset handles them all, so none is left open."""
    rights = AccessFs(0)
    for right in AccessFs:
        if right is AccessFs.REFER and abi < 2:
            continue
        if right is AccessFs.TRUNCATE and abi < 3:
            continue
        if right is AccessFs.IOCTL_DEV and abi < 5:
            continue
        rights |= right
    return rights


def net_rights(abi: int) -> AccessNet:
    return AccessNet.BIND_TCP | AccessNet.CONNECT_TCP if abi >= 4 else AccessNet(0)


def scopes(abi: int) -> Scope:
    return Scope.ABSTRACT_UNIX_SOCKET | Scope.SIGNAL if abi >= 6 else Scope(0)


def _attr_size(abi: int) -> int:
    # Older kernels know a shorter struct; give each exactly the fields it knows.
    if abi >= 6:
        return 24
    return 16 if abi >= 4 else 8


class Ruleset:
    """An unenforced ruleset: rights it handles are denied except where a rule allows them."""

    def __init__(
        self,
        abi: int,
        handled_fs: AccessFs,
        handled_net: AccessNet = NO_NET,
        scoped: Scope = NO_SCOPE,
    ) -> None:
        self.abi = abi
        self.handled_fs = handled_fs
        self.handled_net = handled_net
        self._libc = _libc()
        self._create, self._add_rule, self._restrict = _numbers()
        attr = _RulesetAttr(int(handled_fs), int(handled_net), int(scoped))
        fd = self._libc.syscall(
            ctypes.c_long(self._create),
            ctypes.byref(attr),
            ctypes.c_size_t(_attr_size(abi)),
            ctypes.c_uint32(0),
        )
        if fd < 0:
            raise _fail("landlock_create_ruleset")
        self.fd: int | None = int(fd)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Ruleset:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _add(self, rule_type: int, attr: ctypes.Structure, what: str) -> None:
        if self.fd is None:
            raise LandlockError(errno.EBADF, "ruleset already closed")
        result = self._libc.syscall(
            ctypes.c_long(self._add_rule),
            ctypes.c_int(self.fd),
            ctypes.c_int(rule_type),
            ctypes.byref(attr),
            ctypes.c_uint32(0),
        )
        if result != 0:
            raise _fail(f"landlock_add_rule({what})")

    def allow_path(self, path: str | os.PathLike[str], access: AccessFs) -> bool:
        """Allow ``access`` beneath ``path`` (symlinks followed). A file gets file rights only,
        as the kernel demands. Returns False, adding nothing, when the path does not exist:
        a missing rule can only narrow what the sandbox allows."""
        try:
            fd = os.open(path, _O_PATH | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            allowed = access & self.handled_fs
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                allowed &= FILE_RIGHTS
            if not allowed:
                return False
            self._add(_RULE_PATH_BENEATH, _PathBeneathAttr(int(allowed), fd), os.fspath(path))
        finally:
            os.close(fd)
        return True

    def allow_port(self, port: int, access: AccessNet) -> None:
        allowed = access & self.handled_net
        if allowed:
            self._add(_RULE_NET_PORT, _NetPortAttr(int(allowed), port), f"port {port}")

    def restrict_self(self) -> None:
        """Enter the domain (this thread; call before any thread is started) and close the
        ruleset. Needs no_new_privs (see :mod:`.privileges`)."""
        if self.fd is None:
            raise LandlockError(errno.EBADF, "ruleset already closed")
        result = self._libc.syscall(
            ctypes.c_long(self._restrict), ctypes.c_int(self.fd), ctypes.c_uint32(0)
        )
        if result != 0:
            raise _fail("landlock_restrict_self")
        self.close()
