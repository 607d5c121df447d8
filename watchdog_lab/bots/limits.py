"""Resource limits of a bot kernel: which ones a bot may set, their defaults, and applying them.

Limits are set in the exec wrapper, before the kernel starts, with the hard limit equal to the
soft one so that bot code cannot raise them again. Defaults guard the machine and the secrets,
not the bot's style:

- ``core`` is always 0: a core dump is the kernel's memory on disk, granted secrets included.
- ``nofile`` 4096: plenty for a bot's connections, yet a descriptor leak fails in the bot.
- ``fsize`` 1 GiB: a runaway writer stops before it fills the disk other bots share.
- ``pids`` 1024: tasks (processes and threads) in the bot kernel's PID namespace, which is
  what caps a fork bomb (see :mod:`.containment`); not a resource limit of one process but of
  the whole namespace, enforced where the namespace exists and Linux is 6.14 or later.
- ``data`` half the machine's memory (at least 1 GiB): the private writable memory one process
  of the bot may hold, so a runaway allocation fails in the bot with ``MemoryError`` instead of
  making the machine's OOM killer choose among the bots and the server. Unlike ``as`` it does
  not count reservations that are never made writable (thread arenas, JIT and allocator
  address space), so ordinary numeric code runs under it.
- ``as``, ``cpu``, ``nproc``, ``stack``: unlimited unless configured. An address-space cap that
  suits one bot kills another (numpy and OpenBLAS reserve far more than they touch), CPU
  seconds accumulate over a continuous bot's whole life, and ``nproc`` counts every process of
  the user, not only the bot's (every other bot's and the server's too; a root-run bot, once
  its capabilities are dropped, would count the whole machine's root processes).

``data`` holds per process; what all of a bot's processes use together would need a cgroup's
``memory.max``, which needs a cgroup v2 hierarchy with the memory controller delegated to this
user.

A configured value of -1 means unlimited (to lift a default). A value above the hard limit the
runner itself has is clamped to it: an unprivileged process cannot raise its hard limits.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping

from .errors import InvalidLimit

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TASKS",
    "LIMIT_NAMES",
    "TASKS",
    "UNLIMITED",
    "apply_limits",
    "default_data_limit",
    "resolve_limits",
    "task_cap",
]

UNLIMITED = -1
GIB = 1024**3

# Names a bot's configuration may use; "memory" is the friendly alias of "as".
LIMIT_NAMES: dict[str, str] = {
    "as": "RLIMIT_AS",
    "memory": "RLIMIT_AS",
    "core": "RLIMIT_CORE",
    "cpu": "RLIMIT_CPU",
    "data": "RLIMIT_DATA",
    "fsize": "RLIMIT_FSIZE",
    "nofile": "RLIMIT_NOFILE",
    "nproc": "RLIMIT_NPROC",
    "stack": "RLIMIT_STACK",
}
# The task cap of the bot's PID namespace (not an rlimit: it holds for all its processes).
TASKS = "pids"
DEFAULT_TASKS = 1024


def default_data_limit() -> int:
    """Half the machine's physical memory, at least 1 GiB (see the module's docstring); no
    limit where the system does not say how much memory it has."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return UNLIMITED
    return max(GIB, physical // 2)


DEFAULT_LIMITS: dict[str, int] = {
    "core": 0,
    "nofile": 4096,
    "fsize": GIB,
    "data": default_data_limit(),
    TASKS: DEFAULT_TASKS,
}
# A kernel alone runs about ten threads (channels, heartbeat, output), its wrapper two processes.
_MINIMUM = {"nofile": 64, "as": 64 * 1024**2, "data": 64 * 1024**2, "stack": 1024**2, TASKS: 64}


def resolve_limits(configured: Mapping[str, int]) -> dict[str, int]:
    """Defaults overlaid with the bot's configuration, under canonical names; refuses unknown
    names, values that would stop any kernel from starting, and core dumps."""
    limits = dict(DEFAULT_LIMITS)
    for raw_name, value in configured.items():
        name = "as" if raw_name == "memory" else raw_name
        if name not in LIMIT_NAMES and name != TASKS:
            known = ", ".join(sorted([*LIMIT_NAMES, TASKS]))
            raise InvalidLimit(f"Unknown resource limit {raw_name!r}; known limits: {known}.")
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidLimit(f"Resource limit {raw_name!r} must be an integer, -1 for none.")
        if name == "core" and value != 0:
            raise InvalidLimit(
                "Core dumps stay disabled for bots: a dump would write the bot's secrets to "
                "disk. Remove the 'core' limit from the bot's configuration."
            )
        if value != UNLIMITED and (value < 0 or value < _MINIMUM.get(name, 0)):
            floor = _MINIMUM.get(name, 0)
            raise InvalidLimit(
                f"Resource limit {raw_name!r} = {value} is too low for a kernel to start; "
                f"use at least {floor} or -1 for none."
            )
        limits[name] = value
    return limits


def task_cap(limits: Mapping[str, int]) -> int | None:
    """The task cap of resolved ``limits``: None when it is lifted (-1)."""
    value = limits.get(TASKS, DEFAULT_TASKS)
    return None if value == UNLIMITED else value


def apply_limits(limits: Mapping[str, int]) -> None:
    """Set each resource limit, soft and hard alike; called in the process that is about to
    exec. The task cap is not one (:func:`task_cap`): it is skipped here."""
    for name, value in limits.items():
        if name == TASKS:
            continue
        which = getattr(resource, LIMIT_NAMES[name])
        _, hard = resource.getrlimit(which)
        wanted = resource.RLIM_INFINITY if value == UNLIMITED else value
        if hard != resource.RLIM_INFINITY and (wanted == resource.RLIM_INFINITY or wanted > hard):
            wanted = hard
        resource.setrlimit(which, (wanted, wanted))
