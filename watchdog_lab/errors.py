"""Errors that belong to no single service: files a user names, and the configuration that
every face shares."""

from __future__ import annotations

import errno

__all__ = [
    "InputFileError",
    "InputFileTooLarge",
    "InvalidSetting",
    "NotARegularFile",
    "UnsafeHomeEntry",
]


class InputFileError(ValueError):
    """A file a user named (a notebook, a password file, a JSON input) that cannot be read as
    asked; each face words it as its own input error."""


class NotARegularFile(InputFileError):
    """A device, a pipe, a folder or a socket where a regular file was expected: reading
    ``/dev/zero`` or a FIFO would never end or would block."""

    def __init__(self, what: str, path: str, kind: str) -> None:
        super().__init__(f"{what} {path!r} is {kind}, not a regular file.")
        self.what, self.path, self.kind = what, path, kind


class InputFileTooLarge(InputFileError):
    """More bytes than the limit for this kind of input: refused rather than read into
    memory."""

    def __init__(self, what: str, path: str, limit: int) -> None:
        super().__init__(f"{what} {path!r} is larger than {_size(limit)}; refused.")
        self.what, self.path, self.limit = what, path, limit


def _size(count: int) -> str:
    """``4 MiB`` rather than ``4194304 bytes``: limits are round numbers a user recognises."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if count >= scale and count % scale == 0:
            return f"{count // scale} {unit}"
    return f"{count} bytes"


class InvalidSetting(ValueError):
    """A ``c.WatchdogLab.*`` value (or a config file) that cannot be used; the message names
    the setting and what it accepts, so the user can fix the file it came from."""


class UnsafeHomeEntry(OSError):
    """A file or folder WatchDog Lab keeps in its home is a symlink (or not the kind of entry
    it should be): creating, opening or chmodding it would act on whatever it points to, which
    may be a file of the user's outside the home, or one another process wants loosened."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(
            errno.ELOOP,
            f"{problem}; WatchDog Lab does not follow links inside its home (remove it, or move "
            "the real file or folder there)",
            path,
        )
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.filename} {self.strerror}."
