"""A process holding injected secrets becomes non-dumpable (environ and mem closed to peers)."""

from __future__ import annotations

import os
import subprocess
import sys

from watchdog_lab.sdk import Connection
from watchdog_lab.sdk.injection import FD_ENV_VAR, encode_connections

from .conftest import handed_over

PROBE = (
    "import ctypes, watchdog_lab.sdk as s\n"
    "s.preload()\n"
    "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))\n"  # PR_GET_DUMPABLE
)


def _dumpable(env: dict[str, str], pass_fds: tuple[int, ...] = ()) -> str:
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        env={"PATH": os.environ["PATH"], **env},
        pass_fds=pass_fds,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()


def test_a_process_with_injected_connections_is_made_non_dumpable() -> None:
    token = encode_connections([Connection("Ex", "generic", {"t": "x" * 20}, {})])
    with handed_over(token) as fd:
        assert _dumpable({FD_ENV_VAR: str(fd)}, (fd,)) == "0"


def test_a_process_without_injected_connections_is_left_alone() -> None:
    assert _dumpable({}) == "1"
