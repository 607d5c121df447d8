"""Resource limits of a bot kernel: which ones a bot may set, their defaults, and applying them.

Limits are set in the exec wrapper, before the kernel starts, with the hard limit equal to the
soft one so that bot code cannot raise them again. Defaults guard the machine and the secrets,
not the bot's style:

- ``core`` is always 0: a core dump is the kernel's memory on disk, granted secrets included.
- ``nofile`` 4096: plenty for a bot's connections, yet a descriptor leak fails in the bot.
- ``fsize`` 1 GiB: a runaway writer stops before it fills the disk other bots share.
- ``as``, ``cpu``, ``data``, ``nproc``, ``stack``: unlimited unless configured. An address-space
  cap that suits one bot kills another (numpy and OpenBLAS reserve far more than they touch),
  CPU seconds accumulate over a continuous bot's whole life, and ``nproc`` counts every process
  of the user, not only the bot's.

A configured value of -1 means unlimited (to lift a default). A value above the hard limit the
runner itself has is clamped to it: an unprivileged process cannot raise its hard limits.
"""

from __future__ import annotations

import resource
from collections.abc import Mapping

from .errors import InvalidLimit

__all__ = ["DEFAULT_LIMITS", "LIMIT_NAMES", "UNLIMITED", "apply_limits", "resolve_limits"]

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
DEFAULT_LIMITS: dict[str, int] = {"core": 0, "nofile": 4096, "fsize": GIB}
_MINIMUM = {"nofile": 64, "as": 64 * 1024**2, "data": 64 * 1024**2, "stack": 1024**2}


def resolve_limits(configured: Mapping[str, int]) -> dict[str, int]:
    """Defaults overlaid with the bot's configuration, under canonical names; refuses unknown
    names, values that would stop any kernel from starting, and core dumps."""
    limits = dict(DEFAULT_LIMITS)
    for raw_name, value in configured.items():
        name = "as" if raw_name == "memory" else raw_name
        if name not in LIMIT_NAMES:
            known = ", ".join(sorted(LIMIT_NAMES))
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


def apply_limits(limits: Mapping[str, int]) -> None:
    """Set each limit, soft and hard alike; called in the process that is about to exec."""
    for name, value in limits.items():
        which = getattr(resource, LIMIT_NAMES[name])
        _, hard = resource.getrlimit(which)
        wanted = resource.RLIM_INFINITY if value == UNLIMITED else value
        if hard != resource.RLIM_INFINITY and (wanted == resource.RLIM_INFINITY or wanted > hard):
            wanted = hard
        resource.setrlimit(which, (wanted, wanted))
