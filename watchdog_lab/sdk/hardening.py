"""Make the current process's memory and environment unreadable to other processes of the user.

A non-dumpable process's ``/proc/<pid>/environ``, ``mem`` and ptrace attach are refused to
processes of the same user that lack CAP_SYS_PTRACE (an interactive kernel, a stray script).
Bot kernels and runners hold secrets in their memory; Landlock only confines the
sandboxed side, so this protects them from the unsandboxed side. Linux only; best effort.
"""

from __future__ import annotations

import ctypes
import sys

PR_SET_DUMPABLE = 4


def make_undumpable() -> bool:
    """Return True when the process is now non-dumpable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        result: int = libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        return result == 0
    except (OSError, AttributeError):
        return False
