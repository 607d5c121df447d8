"""A private mount namespace that hides shared folders from a bot kernel.

Landlock (up to ABI 7) decides who may open a path, not who may connect to a Unix socket at a
path, and never hides a name. A bot confined by Landlock alone could still find another bot's
kernel sockets (``/proc/net/unix`` or sock_diag list them) and subscribe to its raw, unredacted
output; or connect to ``/run/docker.sock``, the session bus, an ssh agent. So, where the kernel
allows it, the wrapper also gives the kernel its own mount namespace in which the temp folders,
``/run``, the user's home and the WatchDog Lab home are empty read-only tmpfs, with only the
paths the bot is allowed mounted back at their usual places.

Where the process may mount a procfs (root: it needs CAP_SYS_ADMIN over the PID namespace,
which a user namespace does not give), ``/proc`` is replaced too, by an instance mounted with
``hidepid=ptraceable``: once the kernel is in its Landlock domain, without capabilities, every
process outside the domain disappears from it. Otherwise any bot could read the command line
of any process, and a Jupyter server started with ``--IdentityProvider.token=...`` would hand
it the key to run code outside every sandbox.

The namespace is entered in-process (``unshare``), not by starting another program. Root uses
CAP_SYS_ADMIN directly; anyone else first enters a user namespace mapping only their own ids.
Where the kernel also gets a PID namespace of its own (see :mod:`.containment`), the mount
namespace is entered with it and the view is built by that namespace's first process, so that
the ``/proc`` mounted is the new namespace's: it lists the bot's own processes and no other.
Mount propagation is made private before anything is mounted, so nothing leaks to the host.

Landlock does not govern file metadata either: ``chmod``, ``chown``, ``utime`` and ``setxattr``
need only ownership, and a bot's venv files are hardlinks shared with every other bot and the
uv cache (a bot that ran ``chmod 000`` on ``ipykernel/__init__.py`` crash-looped every bot), and
a bot run as root owns every system file (it could make one set-uid). So, with
``read_only``, every mount of the view is finally made read-only, recursively, except the
directories the kernel may write (its ``state/``, ``tmp/``, socket folder and private
``/dev/shm``), each first bound onto itself so that it is a mount of its own. Device nodes stay
usable (writing to ``/dev/null`` is no write to its filesystem) and keep their metadata: the
host's ``/dev/null`` is not made writable again. Once the kernel has dropped its capabilities
it cannot remount, and a user namespace it might create copies these mounts locked read-only.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Sequence

__all__ = [
    "SHM",
    "enter_private_view",
    "enter_read_only_view",
    "is_within",
    "make_read_only_except",
    "mount_private_proc",
    "outermost",
    "unshare_namespaces",
]

SHM = "/dev/shm"  # noqa: S108 - the shared-memory mount point, replaced, never written

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_O_PATH = getattr(os, "O_PATH", 0o10000000)
_CAP_SYS_ADMIN = 21
# mount_setattr(2): the same number on every architecture of the unified syscall table.
_SYS_MOUNT_SETATTR = {"x86_64": 442, "amd64": 442, "aarch64": 442, "arm64": 442}
_AT_FDCWD = -100
_AT_RECURSIVE = 0x8000
_MOUNT_ATTR_RDONLY = 0x00000001
_SHM_SIZE = "64m"


def is_within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or beneath it (absolute, normalised paths; by name)."""
    path, folder = os.path.normpath(path), os.path.normpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def outermost(paths: Sequence[str]) -> list[str]:
    """The paths not inside another of them, parents first."""
    out: list[str] = []
    for path in sorted(set(paths), key=lambda p: (os.path.normpath(p).count("/"), p)):
        if not any(is_within(path, kept) for kept in out):
            out.append(path)
    return out


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.unshare.restype = ctypes.c_int
    libc.mount.restype = ctypes.c_int
    libc.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    return libc


def _check(result: int, call: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{call}: {os.strerror(err)}")


def _mount(
    libc: ctypes.CDLL,
    source: str | None,
    target: str,
    fstype: str | None,
    flags: int,
    data: str | None = None,
) -> None:
    _check(
        libc.mount(
            source.encode() if source is not None else None,
            target.encode(),
            fstype.encode() if fstype is not None else None,
            flags,
            data.encode() if data is not None else None,
        ),
        f"mount({target})",
    )


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def _mount_setattr(libc: ctypes.CDLL, path: str, flags: int, attr_set: int, attr_clr: int) -> None:
    machine = os.uname().machine.lower()
    number = _SYS_MOUNT_SETATTR.get(machine)
    if number is None:
        raise OSError(errno.ENOSYS, f"mount_setattr: architecture {machine} not supported")
    attr = _MountAttr(attr_set, attr_clr, 0, 0)
    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(
        ctypes.c_long(number),
        ctypes.c_int(_AT_FDCWD),
        ctypes.c_char_p(path.encode()),
        ctypes.c_uint(flags),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )
    _check(int(result), f"mount_setattr({path})")


def _has_mount_setattr() -> bool:
    try:
        _mount_setattr(_libc(), "", 0, 0, 0)  # an empty path: EINVAL/ENOENT where it exists
    except OSError as exc:
        return exc.errno != errno.ENOSYS
    return True


def make_read_only_except(writable: Sequence[str]) -> None:
    """Make every mount of this process's (private) mount namespace read-only, except the
    directories of ``writable`` (absolute, resolved; missing ones and non-directories are
    skipped), which are each bound onto themselves first and stay writable. Kernel 5.12 or
    later. The working directory must be re-entered by path afterwards: it may now lie on a
    mount beneath the new one."""
    libc = _libc()
    folders = [p for p in dict.fromkeys(writable) if os.path.isdir(p) and not os.path.islink(p)]
    for folder in folders:
        _mount(libc, folder, folder, None, _MS_BIND | _MS_REC)
    _mount_setattr(libc, "/", _AT_RECURSIVE, _MOUNT_ATTR_RDONLY, 0)
    for folder in folders:
        _mount_setattr(libc, folder, 0, 0, _MOUNT_ATTR_RDONLY)


def enter_read_only_view(writable: Sequence[str]) -> bool:
    """Where this process holds CAP_SYS_ADMIN, move it into its own mount namespace in which
    every mount is read-only but the directories of ``writable``, and return True; else change
    nothing and return False. For the bubblewrap level run as root: bubblewrap's binds of host
    paths (its device nodes among them) keep the read-only flag of their source. A kernel
    before 5.12 (no ``mount_setattr``; Landlock needs 5.13, so only this level meets one) is
    left alone too: bubblewrap's own read-only binds still cover all but its device nodes."""
    if not _has_sys_admin() or not _has_mount_setattr():
        return False
    libc = _libc()
    cwd = os.getcwd()
    _check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)
    make_read_only_except(writable)
    os.chdir(cwd)
    return True


def _has_sys_admin() -> bool:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return bool(int(line.split(":", 1)[1], 16) >> _CAP_SYS_ADMIN & 1)
    return False


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text)


def unshare_namespaces(*, mount: bool = True, pid: bool = False) -> None:
    """Give this (single-threaded) process its own mount namespace and/or make its next child
    the first process of a new PID namespace. Root uses CAP_SYS_ADMIN directly; anyone else
    first enters a user namespace mapping only their own ids (created with them, so that it
    owns them: a procfs for the new PID namespace may then be mounted in it)."""
    flags = (_CLONE_NEWNS if mount else 0) | (_CLONE_NEWPID if pid else 0)
    names = "|".join(n for n, f in (("CLONE_NEWNS", mount), ("CLONE_NEWPID", pid)) if f)
    libc = _libc()
    if _has_sys_admin():
        _check(libc.unshare(flags), f"unshare({names})")
        return
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(_CLONE_NEWUSER | flags), f"unshare(CLONE_NEWUSER|{names})")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def mount_private_proc() -> None:
    """Replace ``/proc`` (in this process's own mount namespace) by an instance that lists only
    processes this process may trace. Kernel 5.8 or later."""
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    _mount(_libc(), "proc", "/proc", "proc", flags, "hidepid=ptraceable")


def enter_private_view(
    hide: Sequence[str],
    keep: Sequence[str],
    *,
    private_shm: bool = False,
    private_proc: bool = False,
    read_only: bool = False,
    writable: Sequence[str] = (),
    unshared: bool = False,
) -> None:
    """Move this (single-threaded) process into its own mount namespace where each folder of
    ``hide`` is an empty read-only tmpfs, each path of ``keep`` that lies beneath one is bind
    mounted back in place, (with ``private_shm``) ``/dev/shm`` is a fresh writable tmpfs,
    (with ``private_proc``) ``/proc`` shows only traceable processes, and (with
    ``read_only``) every mount is read-only but the directories of ``writable``.

    Paths must be absolute and resolved. The working directory is re-entered by path at the
    end, so it must be one of the kept paths (or outside every hidden folder). ``unshared``:
    the caller already entered its own mount namespace (:func:`unshare_namespaces`), as a
    process that starts a PID namespace does, so that the ``/proc`` mounted here is the new
    namespace's.
    """
    hidden = outermost([h for h in hide if os.path.isdir(h) and not os.path.islink(h)])
    cwd = os.getcwd()
    libc = _libc()
    if not unshared:
        unshare_namespaces()
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)
    # Opened in the new namespace (a bind source must belong to it) and before anything is
    # hidden: the mount source is this very file or folder.
    sources: list[tuple[str, int, bool]] = []
    try:
        for path in outermost([k for k in keep if any(is_within(k, h) for h in hidden)]):
            try:
                fd = os.open(path, _O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            sources.append((path, fd, stat.S_ISDIR(os.fstat(fd).st_mode)))
        flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
        for folder in hidden:
            _mount(libc, "tmpfs", folder, "tmpfs", flags, "mode=0755,size=1m")
        for path, fd, is_dir in sources:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            if is_dir:
                os.makedirs(path, mode=0o755, exist_ok=True)
            else:
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
            _mount(libc, f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
        for folder in hidden:
            _mount(libc, None, folder, None, _MS_REMOUNT | _MS_RDONLY | flags)
        if private_shm and os.path.isdir(SHM):
            _mount(libc, "tmpfs", SHM, "tmpfs", flags, f"mode=1777,size={_SHM_SIZE}")
        if private_proc:
            mount_private_proc()
        if read_only:
            make_read_only_except(writable)
    finally:
        for _, fd, _ in sources:
            os.close(fd)
    os.chdir(cwd)
