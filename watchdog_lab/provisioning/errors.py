"""What confining a kernel the Jupyter server starts can refuse."""

from __future__ import annotations

__all__ = ["BotKernelRefused", "KernelSandboxError"]


class KernelSandboxError(Exception):
    """Base class: a kernel was not started because its confinement could not be set up."""


class BotKernelRefused(KernelSandboxError):
    """A kernel on a bot's kernelspec cannot be confined as that bot (its files are missing or
    its sandbox setting cannot be met here), so it is not started at all."""
