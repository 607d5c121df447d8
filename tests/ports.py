"""Kernel ports for tests run by several pytest-xdist workers at once.

jupyter_client picks a kernel's five TCP ports by binding port 0 and closing the socket; the
kernel binds them a moment later. Two processes starting kernels at the same time can be handed
the same free port in between, and one kernel then dies with "Address already in use". Within
one process jupyter_client's ``LocalPortCache`` singleton prevents that; across the workers of
one test run, each worker installs a cache that hands out ports from a range of its own, below
the kernel's ephemeral range (so neither another worker nor an outgoing connection's source
port can take them).
"""

from __future__ import annotations

import os
import re
import socket

from jupyter_client.connect import LocalPortCache

# Below Linux's default ephemeral range (32768-60999), above the well-known services.
FIRST_PORT = 10000
PORTS_PER_WORKER = 4000


class WorkerPortCache(LocalPortCache):
    """Ports from ``[first, first + count)``, in turn, skipping any that cannot be bound."""

    def __init__(self, first: int, count: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._first = first
        self._count = count
        self._next = 0

    def find_available_port(self, ip: str) -> int:
        for _ in range(self._count):
            port = self._first + self._next
            self._next = (self._next + 1) % self._count
            if port in self.currently_used_ports or not _bindable(ip, port):
                continue
            self.currently_used_ports.add(port)
            return port
        raise RuntimeError(f"no free port in {self._first}-{self._first + self._count - 1}")


def _bindable(ip: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True


def install_worker_ports() -> None:
    """Give this pytest-xdist worker (``gw<N>``) its own kernel port range; nothing otherwise."""
    match = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    if match is None:
        return
    first = FIRST_PORT + int(match.group(1)) * PORTS_PER_WORKER
    if first + PORTS_PER_WORKER > 32768:
        raise RuntimeError("too many pytest-xdist workers for the kernel port ranges")
    LocalPortCache._instance = WorkerPortCache(first, PORTS_PER_WORKER)
