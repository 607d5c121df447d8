"""What one bot kernel may touch: the contract between the runner and the exec wrapper.

The runner (:mod:`.confine`) decides the plan from the bot's folders and configuration; the
wrapper (:mod:`.launch`) enforces it in the process that then becomes the kernel. The plan
crosses a process boundary on the wrapper's command line, so it is plain JSON of paths and
numbers, and holds nothing secret. Kept free of heavy imports: the wrapper runs before every
kernel start.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

__all__ = ["EnforcedLevel", "SandboxPlan", "wrapper_command"]

EnforcedLevel = Literal["landlock", "bubblewrap", "none"]


class SandboxPlan(NamedTuple):
    """Paths are absolute. A path that does not exist when the wrapper runs is skipped: a
    missing rule only narrows what the kernel may do. (A NamedTuple rather than a dataclass:
    importing ``dataclasses`` costs the wrapper more than everything else it does.)"""

    level: EnforcedLevel
    # Read only (files and directories).
    read: tuple[str, ...] = ()
    # Read and execute: system binaries and libraries, the interpreter, the bot's venv.
    execute: tuple[str, ...] = ()
    # Read and write, never execute: the bot's own state, scratch and socket folders.
    write: tuple[str, ...] = ()
    # Directories replaced, in a private mount namespace, by empty read-only tmpfs; every
    # allowed path beneath one is mounted back. Empty: no mount namespace.
    hide: tuple[str, ...] = ()
    # A private, writable /dev/shm (only with a mount namespace: the real one is shared).
    private_shm: bool = False
    # A /proc that lists only the kernel's own processes (only with a mount namespace).
    private_proc: bool = False
    # Landlock: refuse TCP bind, except on ``bind_ports`` (a kernel on TCP transport binds
    # its five channel ports, which the wrapper's caller knows before the launch).
    deny_tcp_bind: bool = True
    bind_ports: tuple[int, ...] = ()
    # Landlock (ABI >= 4): TCP connect only to these ports (exchanges speak HTTPS); ``None``
    # leaves connect unrestricted. Keeps a bot off local kernels' and the server's ports.
    connect_ports: tuple[int, ...] | None = None
    # With a private mount view: every mount read-only except the ``write`` paths, so no
    # ``chmod``/``chown``/``utime``/``setxattr`` reaches a shared inode (Landlock does not
    # cover metadata).
    read_only_mounts: bool = False
    # Resource limits under canonical names (see :mod:`.limits`), already resolved.
    rlimits: Mapping[str, int] = MappingProxyType({})
    # The bubblewrap executable, for the bubblewrap level.
    bwrap: str | None = None
    # A PID namespace of its own (see :mod:`.containment`): every process the kernel starts
    # ends with it. bubblewrap makes its own.
    pid_namespace: bool = False
    # At most this many tasks (processes and threads) in that namespace; None: no cap.
    max_tasks: int | None = None

    def to_json(self) -> str:
        data = self._asdict()
        data["rlimits"] = dict(self.rlimits)
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SandboxPlan:
        data: dict[str, Any] = json.loads(text)
        for key in ("read", "execute", "write", "hide", "bind_ports"):
            data[key] = tuple(data.get(key, ()))
        if data.get("connect_ports") is not None:
            data["connect_ports"] = tuple(data["connect_ports"])
        return cls(**data)


def wrapper_command(plan: SandboxPlan) -> list[str]:
    """The exec wrapper's command line (:mod:`.launch`), to put in front of a kernel's: it
    applies ``plan`` in the process that then becomes the kernel. ``-I``: nothing from the
    environment or the working folder runs before the sandbox is in place."""
    return [
        sys.executable,
        "-I",
        "-m",
        "watchdog_lab.bots.launch",
        "--policy",
        plan.to_json(),
        "--",
    ]
