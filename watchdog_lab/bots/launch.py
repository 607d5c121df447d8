"""The exec wrapper in front of every bot kernel: confine this process, then become the kernel.

    python -I -m watchdog_lab.bots.launch --policy '<plan json>' -- <kernel argv...>

Confining in the process that then ``execve``s the kernel (rather than in a pre-exec hook of
the runner) keeps the runner's own process, which holds the bot's secrets, unconfined and
single-purpose, and makes the kernel the very process the runner started and signals (with a
PID namespace, the process the runner started stays in front of the kernel, passing signals on
and exiting as it exits).

Order matters: resource limits; no_new_privs; the PID namespace (see :mod:`.containment`:
from there on the confinement goes on in the namespace's first process, and the kernel is its
child); the private mount view (needs capabilities),
made read-only but for the kernel's writable folders when the plan says so (see
:mod:`.mounts`: Landlock does not cover ``chmod`` and friends); the Landlock ruleset, built in
that view so its rules name what the kernel will see; every capability dropped; the Landlock
domain entered; exec. If any step fails the kernel is not started at all: a bot never runs less
confined than it was told it is.

TCP (Landlock ABI >= 4): with ``deny_tcp_bind`` the kernel may bind only the plan's
``bind_ports``; with ``connect_ports`` it may connect only to those ports, on any address.
Interactive kernels and the Jupyter server listen on 127.0.0.1: a bot that could connect there
could subscribe to another kernel's IOPub channel (everything it prints) or drive the server
with a token it read. Landlock's network rules cover TCP only (not UDP, not Unix sockets:
those are hidden by the private view, abstract ones scoped from ABI 6), and not Multipath
TCP, which falls back to plain TCP: wherever TCP is restricted, a seccomp filter (see
:mod:`.seccomp`) refuses MPTCP sockets and io_uring. On an older ABI the port rules cannot be
enforced, and are not.

At the bubblewrap level the wrapper cannot use a full Landlock domain (bubblewrap must still
mount), but where the ABI has network rules it enters a domain that handles only TCP (and, from
ABI 6, the IPC scopes) before exec'ing bubblewrap: a domain handling no filesystem right leaves
mounting alone, and is inherited by bubblewrap and the kernel.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
from collections.abc import Sequence

from .containment import become_init, exec_as_child
from .containment import probe as probe_pid_namespace
from .landlock import AccessFs, AccessNet, Ruleset, fs_rights, net_rights, scopes
from .landlock import abi_version as landlock_abi
from .limits import apply_limits
from .mounts import (
    enter_private_view,
    enter_read_only_view,
    mount_private_proc,
    unshare_namespaces,
)
from .privileges import drop_capabilities, set_no_new_privs
from .sandbox_plan import SandboxPlan
from .seccomp import deny_untracked_sockets

__all__ = ["EXIT_NOT_CONFINED", "PROBE_VIEW_ONLY", "confine", "main"]

EXIT_NOT_CONFINED = 126
PROBE_VIEW_ONLY = 10  # --probe-mounts: a private view works, a private /proc does not
_USAGE = "usage: python -m watchdog_lab.bots.launch --policy JSON -- COMMAND [ARG...]"

READ = AccessFs.READ_FILE | AccessFs.READ_DIR
EXECUTE = READ | AccessFs.EXECUTE
WRITE = (
    READ
    | AccessFs.WRITE_FILE
    | AccessFs.TRUNCATE
    | AccessFs.REMOVE_DIR
    | AccessFs.REMOVE_FILE
    | AccessFs.MAKE_DIR
    | AccessFs.MAKE_REG
    | AccessFs.MAKE_SOCK
    | AccessFs.MAKE_FIFO
    | AccessFs.MAKE_SYM
    # ioctl on a writable device (ABI 5): a pseudo-terminal (IPython's ``!cmd``) needs it.
    | AccessFs.IOCTL_DEV
    | AccessFs.REFER
)


def _handled_net(plan: SandboxPlan, abi: int) -> AccessNet:
    handled = AccessNet(0)
    if plan.deny_tcp_bind:
        handled |= AccessNet.BIND_TCP
    if plan.connect_ports is not None:
        handled |= AccessNet.CONNECT_TCP
    return handled & net_rights(abi)


def _allow_ports(ruleset: Ruleset, plan: SandboxPlan) -> None:
    if plan.deny_tcp_bind:
        for port in plan.bind_ports:
            ruleset.allow_port(port, AccessNet.BIND_TCP)
    for port in plan.connect_ports or ():
        ruleset.allow_port(port, AccessNet.CONNECT_TCP)


def _landlock_ruleset(plan: SandboxPlan) -> Ruleset:
    abi = landlock_abi()
    ruleset = Ruleset(abi, fs_rights(abi), _handled_net(plan, abi), scopes(abi))
    try:
        for paths, access in ((plan.read, READ), (plan.execute, EXECUTE), (plan.write, WRITE)):
            for path in paths:
                ruleset.allow_path(path, access)
        _allow_ports(ruleset, plan)
    except BaseException:
        ruleset.close()
        raise
    return ruleset


def _restrict_network_for_bubblewrap(plan: SandboxPlan) -> None:
    """Enter a Landlock domain that handles TCP only (and the IPC scopes), where the kernel
    has network rules. Root restricts itself with CAP_SYS_ADMIN; anyone else needs
    no_new_privs, which a set-uid bubblewrap cannot run under: there the rules are left out."""
    try:
        abi = landlock_abi()
    except OSError:
        return
    handled = _handled_net(plan, abi)
    if not handled:
        return
    if os.geteuid() != 0:
        if plan.bwrap and os.stat(plan.bwrap).st_mode & stat.S_ISUID:
            return
        set_no_new_privs()
    with Ruleset(abi, AccessFs(0), handled, scopes(abi)) as ruleset:
        _allow_ports(ruleset, plan)
        deny_untracked_sockets()
        ruleset.restrict_self()


def _kept_paths(plan: SandboxPlan) -> list[str]:
    return [os.path.realpath(p) for p in (*plan.read, *plan.execute, *plan.write)]


def confine(plan: SandboxPlan, command: Sequence[str]) -> list[str]:
    """Apply ``plan`` to this process; return the command line to exec (bubblewrap's, in front
    of ``command``, at that level)."""
    apply_limits(plan.rlimits)
    if plan.level == "bubblewrap":
        from .bubblewrap import bwrap_argv

        # bubblewrap sets no_new_privs and drops capabilities for the kernel itself; a
        # set-uid bubblewrap (where user namespaces are off) needs them still here. An ignored
        # SIGINT survives exec: bubblewrap then outlives an interrupt meant for the kernel,
        # which installs its own handler.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        argv = [*bwrap_argv(plan, os.getcwd()), *command]
        if plan.read_only_mounts:
            enter_read_only_view([os.path.realpath(p) for p in plan.write])
        _restrict_network_for_bubblewrap(plan)
        return argv
    set_no_new_privs()
    if plan.level not in ("none", "landlock"):
        raise ValueError(f"unknown sandbox level {plan.level!r}")
    view = plan.level == "landlock" and bool(plan.hide)
    if plan.pid_namespace:
        # The view is built in the new namespace's first process: its /proc is then the new
        # namespace's. This process stays outside, as the one the runner signals.
        unshare_namespaces(mount=view, pid=True)
        become_init(plan.max_tasks)
    if plan.level == "none":
        return list(command)
    if view:
        enter_private_view(
            plan.hide,
            _kept_paths(plan),
            private_shm=plan.private_shm,
            private_proc=plan.private_proc,
            read_only=plan.read_only_mounts,
            writable=[os.path.realpath(p) for p in plan.write],
            unshared=plan.pid_namespace,
        )
    ruleset = _landlock_ruleset(plan)
    drop_capabilities()
    if ruleset.handled_net:
        deny_untracked_sockets()
    ruleset.restrict_self()
    return list(command)


def _probe_mounts(folder: str) -> int:
    """Exit 0 when a private view hiding ``folder``, with a private ``/proc``, works here;
    :data:`PROBE_VIEW_ONLY` without the ``/proc``; 1 when there is no private view."""
    try:
        set_no_new_privs()
        enter_private_view([os.path.realpath(folder)], [])
    except OSError:
        return 1
    if os.listdir(folder):
        return 1
    try:
        mount_private_proc()
    except OSError:
        return PROBE_VIEW_ONLY
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 2 and args[0] == "--probe-mounts":
        return _probe_mounts(args[1])
    if len(args) == 2 and args[0] == "--probe-pid-namespace":
        return probe_pid_namespace(int(args[1]))
    if len(args) < 4 or args[0] != "--policy" or args[2] != "--":
        print(_USAGE, file=sys.stderr)
        return 2
    command = args[3:]
    try:
        plan = SandboxPlan.from_json(args[1])
        to_exec = confine(plan, command)
    except Exception as exc:
        print(
            f"watchdog-lab: the bot kernel was not started, its sandbox could not be set up: "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return EXIT_NOT_CONFINED
    if plan.pid_namespace and plan.level != "bubblewrap":
        exec_as_child(to_exec)  # this process is the namespace's init: it stays, as a reaper
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(to_exec[0], to_exec)  # noqa: S606 - an argv list, no shell is wanted
    except OSError as exc:
        print(f"watchdog-lab: cannot start {to_exec[0]!r}: {exc.strerror}", file=sys.stderr)
    return EXIT_NOT_CONFINED


if __name__ == "__main__":
    sys.exit(main())
