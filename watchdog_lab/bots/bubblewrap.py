"""The bubblewrap command line that gives a bot kernel the view a sandbox plan allows.

Used where Landlock is not available but user namespaces are. bubblewrap starts from an empty
root, so the view holds exactly the plan's paths: read-only binds for what may be read or
executed, read-write binds for the bot's own folders, and fresh ``/proc``, ``/dev`` and
``/dev/shm``. A new PID namespace hides every other process (their ``/proc/<pid>/environ``
included); ``--die-with-parent`` ties the kernel to its runner. ipykernel's parent poller
would see bubblewrap's init as its parent and exit at once, so ``JPY_PARENT_PID`` is set to 1,
which ipykernel reads as "no parent to poll" (unset, it would also print a console notice into
the bot's log).

Nothing bound from the host is writable but the bot's own folders: read-only binds keep
``chmod``, ``chown``, ``utime`` and ``setxattr`` off the venv (whose files are inodes shared
with every bot and the uv cache), the notebook and system files. The device nodes of ``--dev``
are binds of the host's own, which bubblewrap cannot make read-only without making them
unusable (its read-only binds are also ``nodev``); so where the wrapper runs as root (whose
bot would own them) it first enters a mount namespace in which every host mount is read-only
but the bot's writable folders (see :mod:`.mounts`), and bubblewrap's binds inherit that.

bubblewrap cannot filter TCP ports; where Landlock has network rules (ABI >= 4) the wrapper
puts bubblewrap itself in a network-only Landlock domain (see :mod:`.launch`).

bubblewrap stays in between as the process the runner started, and forwards no signal. So
the kernel is kept in bubblewrap's process group (no ``--new-session``: the kernel has no
controlling terminal to protect, its session was started without one), where a signal to the
group reaches it; and the wrapper makes bubblewrap ignore SIGINT, which would otherwise end
bubblewrap and with it the kernel that was only to be interrupted.
"""

from __future__ import annotations

from .mounts import SHM
from .sandbox_plan import SandboxPlan

__all__ = ["bwrap_argv"]

# Replaced by bubblewrap's own instances, never bound from the host.
_SYNTHETIC = ("/proc", "/dev")


def _synthetic(path: str) -> bool:
    return any(path == top or path.startswith(top + "/") for top in _SYNTHETIC)


def bwrap_argv(plan: SandboxPlan, cwd: str) -> list[str]:
    """``bwrap <options> --`` to put in front of the kernel's command line."""
    if not plan.bwrap:
        raise ValueError("The sandbox plan names no bubblewrap executable.")
    argv = [
        plan.bwrap,
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--cap-drop",
        "ALL",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        SHM,
        "--setenv",
        "JPY_PARENT_PID",
        "1",
    ]
    binds: list[tuple[str, str]] = []
    for option, paths in (
        ("--ro-bind-try", plan.execute),
        ("--ro-bind-try", plan.read),
        ("--bind-try", plan.write),
    ):
        binds += [(path, option) for path in paths if not _synthetic(path)]
    # Parents before children, so a nested bind is not covered by its parent's.
    for path, option in sorted(binds, key=lambda item: (item[0].count("/"), item[0])):
        argv += [option, path, path]
    argv += ["--chdir", cwd, "--"]
    return argv
