"""Every process a kernel starts ends with the kernel: a PID namespace per kernel.

A process group or a session is no container: bot code that double-forks and calls
``setsid`` (any daemonising library does) leaves both, and survived ``bots stop`` and ``bots
delete`` with its working folder gone. A PID namespace holds every descendant whatever it
does, and when its first process (its "init") exits, the kernel SIGKILLs everything left in it.

So the exec wrapper (:mod:`.launch`), where it may create one (root, or anyone in a user
namespace of their own), runs as three processes instead of one:

- the *outer* process, the one the runner (or the Jupyter server) started, signals and waits
  for. It stays outside the namespace, forwards the signals it gets to the init, exits as the
  kernel exited, and SIGKILLs the init when its own parent (the runner) dies: it takes over the
  parent watch that ipykernel does on an unconfined kernel (the kernel's parent is now the
  init, so ``JPY_PARENT_PID`` is set to 1, which turns ipykernel's own watch off);
- the *init*, pid 1 of the namespace, confined exactly as the kernel is (it finishes the
  confinement and then forks). pid 1 receives no signal it has no handler for (SIGTERM and
  SIGINT from jupyter_client would be lost on a kernel run as pid 1), and it must reap the
  orphans re-parented to it; so it forwards signals to the kernel's process group, reaps, and
  exits with the kernel's status. It dies with the outer process (``PR_SET_PDEATHSIG``);
- the kernel, pid 2, in a process group of its own, as an unconfined kernel leads its session.

The init and the kernel each leave the runner's process group (the outer process leads it), so
a signal the runner sends to the group reaches the outer process only, and the kernel once.

A task cap: from Linux 6.14 ``/proc/sys/kernel/pid_max`` is per PID namespace, and no process
or thread can be created in the namespace once its pid numbers are used up. Linux hands out
pids below 300 only until the namespace has used 300 of them, then only 300 and up; so the
init sets pid_max to the cap plus 300, and the cap holds exactly from then on (a fork bomb gets
there at once; before, up to 300 more tasks fit).

Kept free of heavy imports: it runs in the wrapper before every kernel start.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import sys
from collections.abc import Sequence

from .privileges import drop_capabilities

__all__ = [
    "CLONE_NEWPID",
    "FORWARDED_SIGNALS",
    "PID_MAX_PATH",
    "PROBE_NO_TASK_CAP",
    "RESERVED_PIDS",
    "become_init",
    "end_session",
    "exec_as_child",
    "probe",
]

CLONE_NEWPID = 0x20000000
# Pids Linux never reuses in a namespace once it has wrapped around (RESERVED_PIDS).
RESERVED_PIDS = 300
PID_MAX_PATH = "/proc/sys/kernel/pid_max"
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_STATUS_BYTES = 4
# What jupyter_client and the runner send (interrupt, shutdown), and what a person might.
FORWARDED_SIGNALS = (
    signal.SIGHUP,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGTERM,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
# In the init: where it reports the kernel's wait status to the outer process, the kernel's
# process group once it exists, and the signals that came before it did.
_status_fd = -1
_kernel_group = 0
_pending: list[int] = []
# Without a pidfd (Linux < 5.3) the outer process looks at its parent and child this often.
_POLL_SECONDS = 1.0
_PROBE_OK = 0
PROBE_NO_TASK_CAP = 10  # --probe-pid-namespace: a namespace works, its task cap does not


def _exit_like(status: int) -> None:
    """Exit the way a child with wait status ``status`` ended: by the same signal (default
    disposition restored), or with the same code."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # a signal that does not end a process (none is forwarded so)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _outer(child: int, parent: int, status_fd: int) -> None:
    """The outer process: forward signals to the init, end it when the runner is gone, and
    exit as the kernel exited (its wait status, which the init sends on ``status_fd`` before
    it exits: an init cannot die by a signal of its own). Never returns."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for sig in FORWARDED_SIGNALS:
        signal.signal(sig, forward)
    child_fd, parent_fd = _pidfd(child), _pidfd(parent) if parent > 1 else None
    poller = select.poll()
    for fd in (child_fd, parent_fd):
        if fd is not None:
            poller.register(fd, select.POLLIN)
    timeout = None if child_fd is not None and parent_fd is not None else _POLL_SECONDS * 1000
    while True:
        ready = {fd for fd, _ in poller.poll(timeout)}
        if (parent_fd is not None and parent_fd in ready) or (
            parent_fd is None and os.getppid() != parent
        ):
            # The runner died without stopping its kernel: take the whole namespace down.
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
            if parent_fd is not None:
                poller.unregister(parent_fd)
                parent_fd, timeout = None, _POLL_SECONDS * 1000
                parent = -1  # checked no more: the init is on its way out
        done, status = os.waitpid(child, os.WNOHANG)
        if done == child:
            reported = os.read(status_fd, _STATUS_BYTES)
            if len(reported) == _STATUS_BYTES:
                status = int.from_bytes(reported, "little")
            _exit_like(status)


def _forward_to_kernel(signum: int, _frame: object) -> None:
    """The init's handler: pass a signal on to the kernel's process group (its children that
    stayed in it too, as a signal to an unconfined kernel's group would reach them)."""
    if not _kernel_group:
        _pending.append(signum)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(_kernel_group, signum)


def _set_pid_max(max_tasks: int) -> None:
    with open(PID_MAX_PATH, "w", encoding="ascii") as handle:
        handle.write(str(max_tasks + RESERVED_PIDS))


def become_init(max_tasks: int | None) -> None:
    """Fork, after ``unshare(CLONE_NEWPID)``: the parent becomes the outer process and never
    returns; the child, pid 1 of the namespace, returns (to finish the confinement and then
    :func:`exec_as_child`) once its task cap is set. Needs CAP_SYS_ADMIN over the namespace
    for the cap: call it before capabilities are dropped."""
    global _status_fd
    parent = os.getppid()
    alive_r, alive_w = os.pipe()  # the outer process's end stays open while it lives
    status_r, status_w = os.pipe()  # the kernel's wait status, from the init
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child:
        os.close(alive_r)
        os.close(status_w)
        # Outside the namespace, nothing in it can name this process; it keeps no capability
        # all the same (it needs none to signal its child).
        with contextlib.suppress(OSError):
            drop_capabilities()
        _outer(child, parent, status_r)
    os.close(alive_w)
    os.close(status_r)
    _status_fd = status_w
    # At once: a signal the outer process passes on while the kernel is not started yet must
    # not be lost (pid 1 ignores every signal it has no handler for).
    for sig in FORWARDED_SIGNALS:
        signal.signal(sig, _forward_to_kernel)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    # Not traceable by the kernel (same user, same Landlock domain, no capability): traced,
    # the init could be made to clear its death signal and outlive the outer process, and
    # with it the namespace. Undumpable, it is also absent from the kernel's private /proc.
    # The kernel's exec makes the kernel itself dumpable again.
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")
    readable, _, _ = select.select([alive_r], [], [], 0)
    if readable:  # end of file: the outer process died before the death signal was armed
        os._exit(1)
    os.close(alive_r)
    os.setpgid(0, 0)  # out of the runner's group: a signal to it reaches the outer process only
    if max_tasks is not None:
        _set_pid_max(max_tasks)


def exec_as_child(argv: Sequence[str]) -> None:
    """In the init: start ``argv`` as pid 2, forward signals to its process group, reap every
    orphan, and exit with its status when it ends (which ends the namespace). Never returns."""
    global _kernel_group
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            for sig in FORWARDED_SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            os.setpgid(0, 0)
            # ipykernel exits when its parent is not JPY_PARENT_PID; its parent is the init
            # now, and the outer process watches the runner instead. 1 turns the watch off.
            os.environ["JPY_PARENT_PID"] = "1"
            os.execv(argv[0], list(argv))  # noqa: S606 - an argv list, no shell is wanted
        except OSError as exc:
            print(f"watchdog-lab: cannot start {argv[0]!r}: {exc.strerror}", file=sys.stderr)
        os._exit(126)
    with contextlib.suppress(OSError):  # both sides, so that no signal finds no group yet
        os.setpgid(pid, pid)
    kernel = _kernel_group = pid
    for signum in _pending:
        _forward_to_kernel(signum, None)
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:  # cannot happen while the kernel lives; be safe
            os._exit(1)
        if done == kernel:
            with contextlib.suppress(OSError):
                os.write(_status_fd, status.to_bytes(_STATUS_BYTES, "little"))
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
            os._exit(code)


def probe(max_tasks: int) -> int:
    """Exit status for ``launch --probe-pid-namespace``: 0 when a PID namespace with a task
    cap works here, :data:`PROBE_NO_TASK_CAP` without the cap (Linux before 6.14), 1 without a
    namespace. Runs in a throw-away process (it unshares)."""
    from .mounts import unshare_namespaces

    try:
        unshare_namespaces(pid=True, mount=False)
        pid = os.fork()
    except OSError:
        return 1
    if pid == 0:
        if os.getpid() != 1:
            os._exit(1)
        try:
            _set_pid_max(max_tasks)
        except OSError:
            os._exit(PROBE_NO_TASK_CAP)
        os._exit(_PROBE_OK)
    _, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            raw = handle.read()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()


def end_session(leader: int, leader_start: int | None) -> int:
    """SIGKILL every process still in the session that ``leader`` (a kernel's outer process,
    started with ``leader_start`` clock ticks since boot) led; return how many. The sweep of
    the weakest containment, where no PID namespace exists: a forked child that kept the
    session ends with the kernel, one that started a session of its own is out of reach.

    Safe against pid reuse: a session's id stays reserved while any process is in it, and the
    sweep is skipped when a different process now has the leader's pid."""
    current = _stat_fields(leader)
    if current is not None and (leader_start is None or int(current[19]) != leader_start):
        return 0
    killed = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        fields = _stat_fields(entry)
        if fields is None or int(fields[3]) != leader:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(entry), signal.SIGKILL)
            killed += 1
    return killed
