"""Errors raised by the SDK that runs inside bots and kernels.

Every message names what went wrong and what to do about it, and none of them ever contains a
field value: these messages end up in bot logs, tracebacks and "Fix with AI" payloads.
"""

from __future__ import annotations

from collections.abc import Sequence


class SdkError(Exception):
    """Base class, so bot code can catch every SDK failure with one ``except``."""


class ConnectionNotAvailable(SdkError, LookupError):
    """No connection of that name was granted to this process.

    The constructor takes the parts rather than a finished message so that the exception keeps
    its arguments in ``args`` (it survives pickling across process boundaries) and so callers can
    read ``requested`` and ``available`` without parsing text.
    """

    def __init__(self, requested: str, available: Sequence[str] = ()) -> None:
        super().__init__(requested, tuple(available))
        self.requested = requested
        self.available: tuple[str, ...] = tuple(available)

    def __str__(self) -> str:
        if self.available:
            listed = ", ".join(repr(name) for name in self.available)
            return (
                f"No connection named {self.requested!r} is available here. "
                f"Available: {listed}. Names are case-insensitive; to use another connection, "
                "grant it to this bot in WatchDog Lab (or run `%wd connect NAME` in a notebook)."
            )
        return (
            f"No connection named {self.requested!r} is available here: no connections were "
            "granted to this process. Grant it to this bot in WatchDog Lab "
            "(or run `%wd connect NAME` in a notebook)."
        )


class InjectionError(SdkError, ValueError):
    """The connections handed to this process could not be read.

    Raised for malformed or unsupported-version payloads. The message describes the problem by
    position and expected shape only; it never quotes the payload, which holds secrets.
    """


class UnknownField(SdkError, KeyError):
    """``conn["field"]`` named a field the connection does not have."""

    def __str__(self) -> str:
        # KeyError.__str__ would quote the message like a key; show it as a sentence instead.
        return str(self.args[0]) if self.args else ""


class ConnectionKindError(SdkError, AttributeError):
    """A kind-specific convenience (``sign_request``, ``base_url``) was used on another kind.

    It is an ``AttributeError`` so that ``hasattr(conn, "base_url")`` answers ``False`` for
    connections of other kinds instead of raising.
    """


class ConnectionConfigError(SdkError, ValueError):
    """The connection's fields do not fit what was asked of them (missing field, bad key...).

    The fix is in the vault (edit the connection), not in bot code, and the message says so.
    """
