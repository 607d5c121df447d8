"""A small seccomp filter that closes what Landlock's TCP rules do not see.

Landlock's network rules (ABI 4 and later) govern TCP sockets only. A Multipath TCP socket
(``socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP)``) is not TCP to Landlock, yet it falls back to
plain TCP with a peer that does not speak MPTCP: through it, a bot could connect to any local
port its rules refuse (a kernel's IOPub channel, the Jupyter server), or bind one
(https://github.com/landlock-lsm/linux/issues/54). And io_uring creates sockets without the
``socket`` system call. So wherever the wrapper restricts TCP it also installs this filter:
``socket`` with protocol ``IPPROTO_MPTCP`` fails with EPROTONOSUPPORT (as on a kernel without
MPTCP: programs that try MPTCP first fall back to TCP), ``io_uring_setup`` fails with ENOSYS
(as where io_uring is disabled), and system calls of another ABI (x32, 32-bit compat), which
the filter cannot read reliably, fail with ENOSYS. Everything else is allowed.

A filter, like a Landlock domain, is inherited across fork and exec and can never be removed.
It needs no_new_privs (or CAP_SYS_ADMIN). Bound with ctypes for the wrapper's reasons
(see :mod:`.landlock`).
"""

from __future__ import annotations

import ctypes
import errno
import os

__all__ = ["deny_untracked_sockets"]

# (audit arch, socket, io_uring_setup), per machine.
_ARCH = {
    "x86_64": (0xC000003E, 41, 425),
    "amd64": (0xC000003E, 41, 425),
    "aarch64": (0xC00000B7, 198, 425),
    "arm64": (0xC00000B7, 198, 425),
}
_X32_SYSCALL_BIT = 0x40000000
IPPROTO_MPTCP = 262

_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
# struct seccomp_data: nr (0), arch (4), instruction_pointer (8), args[6] (16, 8 bytes each).
_NR, _ARCH_OFFSET, _ARG2_LOW = 0, 4, 16 + 2 * 8  # little-endian: low 32 bits first


class _Insn(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Insn))]


def _program(machine: str) -> list[tuple[int, int, int, int]]:
    arch, sys_socket, sys_io_uring_setup = _ARCH[machine]
    x86 = machine in ("x86_64", "amd64")
    # Labels are resolved below: a jump counts the instructions it skips.
    code: list[tuple[int, int | str, int | str, int] | str] = [
        (_LD_W_ABS, 0, 0, _ARCH_OFFSET),
        (_JEQ_K, 0, "enosys", arch),
        (_LD_W_ABS, 0, 0, _NR),
    ]
    if x86:
        code.append((_JGE_K, "enosys", 0, _X32_SYSCALL_BIT))
    code += [
        (_JEQ_K, "socket", 0, sys_socket),
        (_JEQ_K, "enosys", 0, sys_io_uring_setup),
        (_RET_K, 0, 0, _RET_ALLOW),
        "socket",  # a label
        (_LD_W_ABS, 0, 0, _ARG2_LOW),
        (_JEQ_K, 0, "allow", IPPROTO_MPTCP),
        (_RET_K, 0, 0, _RET_ERRNO | errno.EPROTONOSUPPORT),
        "allow",
        (_RET_K, 0, 0, _RET_ALLOW),
        "enosys",
        (_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS),
    ]
    labels: dict[str, int] = {}
    insns: list[tuple[int, int | str, int | str, int]] = []
    for item in code:
        if isinstance(item, str):
            labels[item] = len(insns)
        else:
            insns.append(item)
    out: list[tuple[int, int, int, int]] = []
    for index, (op, jt, jf, k) in enumerate(insns):
        jt_n = labels[jt] - index - 1 if isinstance(jt, str) else jt
        jf_n = labels[jf] - index - 1 if isinstance(jf, str) else jf
        out.append((op, jt_n, jf_n, k))
    return out


def deny_untracked_sockets() -> None:
    """Install the filter on this (single-threaded) process. Raises OSError where it cannot
    be installed: the wrapper then does not start the kernel."""
    machine = os.uname().machine.lower()
    if machine not in _ARCH:
        raise OSError(errno.ENOSYS, f"seccomp: architecture {machine} not supported")
    program = _program(machine)
    insns = (_Insn * len(program))(*(_Insn(*insn) for insn in program))
    prog = _Prog(len(program), insns)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.restype = ctypes.c_int
    libc.prctl.argtypes = [
        ctypes.c_int,
        ctypes.c_ulong,
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_ulong,
    ]
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_SECCOMP): {os.strerror(err)}")
