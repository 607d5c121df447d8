"""The interactive kernels' setting (``c.WatchdogLab.kernel_sandbox``), beside the provisioner
that applies it."""

from __future__ import annotations

from traitlets import Enum
from traitlets.config import LoggingConfigurable

from .sandbox import KERNEL_SANDBOX_MODES

__all__ = ["KernelsConfig"]


class KernelsConfig(LoggingConfigurable):
    """Whether kernels the server starts are confined; on by default because kernel code is
    untrusted and the server's token sits in the runtime folder they would otherwise see."""

    kernel_sandbox = Enum(
        KERNEL_SANDBOX_MODES,
        default_value="best",
        help="Interactive kernels this server starts: 'best' confines them where the machine "
        "allows (Landlock + a private mount view: no WatchDog Lab home, no Jupyter runtime "
        "folder with the server's token, a private /proc, no server secrets in the "
        "environment); 'none' starts them unconfined. Bot kernelspecs are always confined as "
        "their bot.",
    ).tag(config=True)
