"""Kernels the Jupyter server starts are confined too: code in every kernel is untrusted.

Two kernel provisioners, registered under ``jupyter_client.kernel_provisioners``:

- ``watchdog-lab-kernel`` (:class:`.provisioners.InteractiveKernelProvisioner`): the server
  extension makes it the default for every kernelspec that names no provisioner of its own,
  when ``c.WatchdogLab.kernel_sandbox`` is ``best``.
- ``watchdog-lab-bot`` (:class:`.provisioners.BotKernelProvisioner`): named by every bot's
  kernelspec, so a bot's kernel opened from JupyterLab is confined exactly as the bot.

This module stays free of jupyter_client imports: the doctor and the server ask
:func:`describe_kernel_sandbox` without loading the provisioners.
"""

from __future__ import annotations

from ..bots.kernelspec import BOT_PROVISIONER
from .sandbox import KERNEL_SANDBOX_MODES, describe_kernel_sandbox

__all__ = [
    "BOT_PROVISIONER",
    "INTERACTIVE_PROVISIONER",
    "KERNEL_SANDBOX_MODES",
    "describe_kernel_sandbox",
]

#: Entry point names (pyproject.toml, ``jupyter_client.kernel_provisioners``).
INTERACTIVE_PROVISIONER = "watchdog-lab-kernel"
