"""How the server extension makes its kernels start through the interactive provisioner.

jupyter_client picks a kernel's provisioner from its kernelspec, else from the process-wide
:class:`KernelProvisionerFactory` singleton's ``default_provisioner_name``. Setting that default
confines every kernelspec that names no provisioner of its own (``python3`` and the user's
kernels) without touching them; bot kernelspecs name ``watchdog-lab-bot`` themselves. A default
the user configured on purpose (a container provisioner, say) is left alone, with a warning:
replacing it would start their kernels somewhere else entirely.

The singleton outlives the server (tests start many in one process), so the change is undone
when the extension stops.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from . import INTERACTIVE_PROVISIONER
from .sandbox import KernelSandbox, choose_kernel_sandbox, describe_kernel_sandbox

__all__ = [
    "LOCAL_PROVISIONER",
    "confine_server_kernels",
    "describe_server_kernels",
    "server_kernel_sandbox",
]

LOCAL_PROVISIONER = "local-provisioner"


def confine_server_kernels(
    serverapp: Any, mode: str, lab_home: str | os.PathLike[str], log: logging.Logger | Any
) -> Callable[[], None] | None:
    """Make ``serverapp``'s kernels start confined (``mode`` ``best``); returns the undo, or
    ``None`` when nothing was changed (``none``, a gateway, a user-chosen provisioner)."""
    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    # The home the provisioners hide is the extension's (c.WatchdogLab.home), not only the
    # environment's: provisioners read their configuration from the server's.
    serverapp.config.ConfinedProvisioner.lab_home = str(lab_home)
    if mode == "none":
        log.warning(
            "WatchDog Lab: c.WatchdogLab.kernel_sandbox = 'none': interactive kernels run "
            "unconfined and their code can read the Jupyter token."
        )
        return None
    if getattr(getattr(serverapp, "gateway_config", None), "gateway_enabled", False):
        log.info("WatchDog Lab: kernels run on a gateway; their confinement is the gateway's.")
        return None
    factory = KernelProvisionerFactory.instance(parent=serverapp)
    previous = factory.default_provisioner_name
    if previous not in (LOCAL_PROVISIONER, INTERACTIVE_PROVISIONER):
        log.warning(
            "WatchDog Lab: the default kernel provisioner is %r (configured), so interactive "
            "kernels are not confined by WatchDog Lab.",
            previous,
        )
        return None
    factory.default_provisioner_name = INTERACTIVE_PROVISIONER
    log.info("WatchDog Lab: interactive kernels: %s", describe_kernel_sandbox(mode))

    def undo() -> None:
        if factory.default_provisioner_name == INTERACTIVE_PROVISIONER:
            factory.default_provisioner_name = LOCAL_PROVISIONER

    return undo


def server_kernel_sandbox(serverapp: Any, mode: str) -> KernelSandbox:
    """What the interactive kernels of this running server really get: the machine's level
    (:func:`choose_kernel_sandbox`), unless the provisioner is not in place (a gateway, a
    default provisioner the user configured); ``none`` is the machine's ``off``."""
    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    if mode != "none":
        if getattr(getattr(serverapp, "gateway_config", None), "gateway_enabled", False):
            return KernelSandbox(
                "unconfined", reason="kernels run on a gateway (its own sandbox applies)"
            )
        default = KernelProvisionerFactory.instance(parent=serverapp).default_provisioner_name
        if default != INTERACTIVE_PROVISIONER:
            return KernelSandbox(
                "unconfined", reason=f"the default kernel provisioner is {default!r}"
            )
    return choose_kernel_sandbox(mode)


def describe_server_kernels(serverapp: Any, mode: str) -> str:
    """:func:`server_kernel_sandbox`, worded as ``doctor`` and the sidebar show it."""
    return server_kernel_sandbox(serverapp, mode).describe()
