"""IPython face of WatchDog Lab: ``%load_ext watchdog_lab`` brings the ``%wd`` magics.

Imported only when IPython loads the extension, so that the SDK (``import watchdog_lab``) never
imports IPython in a bot.
"""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%wd`` and, unless the name is taken, make ``wd`` the SDK in the notebook;
    from now on, keep the last failing cell for ``%wd fix``."""
    import watchdog_lab

    from . import failures
    from .magics import WatchdogMagics

    ipython.register_magics(WatchdogMagics(ipython, failures=failures.install(ipython)))
    if "wd" not in ipython.user_ns:
        ipython.push({"wd": watchdog_lab})
