"""What an interactive kernel the Jupyter server starts may touch, and what it keeps.

Kernel code is untrusted (packages imported for research, code copied from the internet), yet
an interactive kernel is the user's workbench: it must still read the system, run programs,
``pip install --user``, write caches and the notebooks' folders. So the plan is the reverse of
a bot's: read and execute everything, write the server's root folder, the home and the temp
folders, and hide only what hands out power over the server or the vault:

- the WatchDog Lab home (the vault, every bot) and the Jupyter runtime folder (every kernel's
  connection file, ``jpserver-*.json`` with the server's token) become empty read-only folders
  in the kernel's private mount view; the kernel's own connection file is mounted back, and
  readable only (Landlock);
- ``/proc`` lists only the kernel's own processes where a procfs may be mounted (root), so
  the server's command line (``--IdentityProvider.token=...``) and other kernels are out of
  sight; Landlock already keeps the kernel from tracing (and so from reading the environment
  of) any process outside its domain, and from signalling it;
- the server's secrets are dropped from the kernel's environment.

Hiding needs a private mount namespace, and a name that Landlock cannot hide; Landlock keeps
the kernel from writing anywhere else (``/etc`` of a root-run server) and from undoing the view
(no capability is left). Where either is missing, interactive kernels run unconfined (only
the environment is cleaned) and :func:`describe_kernel_sandbox` says so: a weaker half-measure
would still leave the token readable, and would be shown as protection it is not.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from ..bots.mounts import SHM, is_within
from ..bots.sandbox_plan import SandboxPlan

__all__ = [
    "KERNEL_SANDBOX_MODES",
    "SECRET_ENV",
    "KernelSandbox",
    "choose_kernel_sandbox",
    "describe_kernel_sandbox",
    "interactive_plan",
    "scrub_environment",
]

#: Values of ``c.WatchdogLab.kernel_sandbox``.
KERNEL_SANDBOX_MODES = ("best", "none")

#: Server secrets a kernel never inherits: the server's token (which runs code outside every
#: sandbox), JupyterHub's API token, and the password/code variables the CLI reads.
SECRET_ENV = (
    "JUPYTER_TOKEN",
    "JPY_API_TOKEN",
    "JUPYTERHUB_API_TOKEN",
    "JUPYTER_PASSWORD",
    "WATCHDOG_LAB_PASSWORD",
    "WATCHDOG_LAB_NEW_PASSWORD",
    "WATCHDOG_LAB_TOTP_CODE",
)

#: Devices a kernel writes: sinks and sources, its terminal, and the pseudo-terminals that
#: IPython's ``!command`` opens.
DEVICES_WRITE = (
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
)
#: Shared scratch folders, written as on an unconfined machine.
SCRATCH = ("/tmp", "/var/tmp", SHM)  # noqa: S108 - the machine's own temp folders, as they are


@dataclass(frozen=True)
class KernelSandbox:
    """How interactive kernels are confined on this machine, or why they are not."""

    kind: Literal["landlock", "unconfined", "off"]
    abi: int | None = None
    private_proc: bool = False
    reason: str = ""

    @property
    def confined(self) -> bool:
        return self.kind == "landlock"

    def describe(self) -> str:
        """``landlock (ABI 7) + private mounts + private /proc``, ``unconfined: <why>`` or
        ``off (...)``: the wording of the bots' level, so both read the same in the UI."""
        if self.kind == "landlock":
            proc = " + private /proc" if self.private_proc else ""
            return f"landlock (ABI {self.abi}) + private mounts{proc}"
        if self.kind == "off":
            return f"off ({self.reason})"
        return f"unconfined: {self.reason}"


@functools.lru_cache(maxsize=4)
def choose_kernel_sandbox(mode: str = "best") -> KernelSandbox:
    """The confinement interactive kernels get for ``c.WatchdogLab.kernel_sandbox`` here
    (probed once per process: the probes start child processes)."""
    if mode.strip().lower() == "none":
        return KernelSandbox("off", reason="c.WatchdogLab.kernel_sandbox = 'none'")
    from ..bots.confine import choose_level

    level = choose_level("landlock")
    if level.kind != "landlock":
        return KernelSandbox("unconfined", reason=level.reason)
    if not level.private_mounts:
        return KernelSandbox(
            "unconfined",
            reason="no private mount namespace here, so the Jupyter runtime folder (with the "
            "server's token) and the WatchDog Lab home cannot be hidden from kernels",
        )
    return KernelSandbox("landlock", abi=level.abi, private_proc=level.private_proc)


def describe_kernel_sandbox(mode: str = "best") -> str:
    """The level interactive kernels of a server with ``kernel_sandbox = mode`` get here: for
    ``doctor``, the server's status route and the sidebar."""
    return choose_kernel_sandbox(mode).describe()


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(path))


def _named_and_real(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    out: list[str] = []
    for path in paths:
        named, real = os.path.abspath(os.fspath(path)), _real(path)
        out += [named] if named == real else [named, real]
    return out


def interactive_plan(
    *,
    root_dir: str | os.PathLike[str],
    connection_file: str | os.PathLike[str],
    hidden: Iterable[str | os.PathLike[str]],
    home: str | os.PathLike[str] | None = None,
    extra_write: Iterable[str | os.PathLike[str]] = (),
    sandbox: KernelSandbox,
) -> SandboxPlan:
    """The plan for one interactive kernel: read/execute ``/``, write ``root_dir``, ``home``
    (default: the user's), the temp folders and ``extra_write`` (IPC socket folders), hide each
    folder of ``hidden`` (the WatchDog Lab home, the runtime folders) except the kernel's own,
    read-only, ``connection_file``.

    A write path inside a hidden folder (or equal to one) is dropped: the hidden folder wins,
    since the mount view would otherwise mount it back. A hidden folder inside a written one
    (a runtime folder in ``/tmp``) stays hidden.
    """
    if not sandbox.confined:
        raise ValueError(f"no plan for an unconfined kernel ({sandbox.describe()})")
    folders = sorted(
        {_real(h) for h in hidden if os.path.isdir(h) and not os.path.islink(_real(h))}
    )
    wanted = [root_dir, home if home is not None else os.path.expanduser("~"), *SCRATCH]
    wanted += [tempfile.gettempdir(), *extra_write]
    write = [
        path
        for path in _named_and_real(wanted)
        if not any(is_within(path, folder) for folder in folders)
    ]
    write += list(DEVICES_WRITE)
    return SandboxPlan(
        level="landlock",
        read=(_real(connection_file),),
        execute=("/",),
        write=tuple(dict.fromkeys(write)),
        hide=tuple(folders),
        private_proc=sandbox.private_proc,
        deny_tcp_bind=False,
    )


def scrub_environment(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without the server's secrets (:data:`SECRET_ENV`)."""
    return {key: value for key, value in env.items() if key not in SECRET_ENV}
