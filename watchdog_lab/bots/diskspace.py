"""Whether a bot's folders have run out of space: a failure that is not the bot's code's.

A bot whose disk is full fails every run, however good its code; counting those failures
would mark it ``crashed`` after a few tries and leave it stopped after the space came back.
So the runner asks here after a failed run: when one of the bot's folders is full, the
failure is reported as ``disk full: …`` and retried with the usual growing delay, without
counting towards the crash loop, until a run succeeds again.

The check is ``statvfs``: what the filesystem says is left for this user, not the error a
cell raised (bot code can raise any ``OSError`` it likes, and a full disk may show up
as anything from ``ENOSPC`` to a kernel that cannot write its connection file).
"""

from __future__ import annotations

import os
from pathlib import Path

from .layout import BotPaths

__all__ = ["FULL_BELOW_BYTES", "disk_full"]

#: Less than this left for the bot's user counts as full: no cell, log record or
#: kernel start gets far on it (a page or two of a small filesystem; nothing on a real disk).
FULL_BELOW_BYTES = 64 * 1024


def _free_bytes(folder: Path) -> int | None:
    try:
        info = os.statvfs(folder)
    except OSError:
        return None
    # Root may also write the blocks a filesystem keeps back for it (ext4: 5%).
    blocks = info.f_bfree if os.geteuid() == 0 else info.f_bavail
    return blocks * info.f_frsize


def disk_full(paths: BotPaths) -> str | None:
    """Why the bot's folders are full, in words for its status; None when they are not.

    Its writable folders first (``state/``, ``tmp/``: what its code fills), then the bot's
    folder itself (its log, runs and status)."""
    for label, folder in (
        ("its state folder", paths.state),
        ("its temporary folder", paths.tmp),
        ("its folder", paths.root),
    ):
        free = _free_bytes(folder)
        if free is not None and free < FULL_BELOW_BYTES:
            return (
                f"no space left in {label} ({free // 1024} KiB free); retrying until space is freed"
            )
    return None
