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


class BrokerError(ConnectionNotAvailable):
    """The Jupyter server's kernel broker did not hand a connection to this kernel.

    Interactive kernels get their connections from the server that started them, one request
    per ``wd.connection()`` call. The broker refuses for a reason the user can act on (the
    connection is not granted to this notebook, the vault is locked, a wrong password) and says
    which in ``reason``, a stable code that programs can branch on; ``status`` is the HTTP
    status, or ``None`` when the server did not answer at all. The message is the broker's own,
    except for ``not_granted``, which is worded here so that it names the connection as the
    caller spelled it (the broker only sees the case-folded name).
    """

    NOT_GRANTED = "not_granted"

    def __init__(
        self, requested: str, reason: str, message: str, status: int | None = None
    ) -> None:
        super().__init__(requested)
        # The full argument list, so that pickling rebuilds the same error.
        self.args = (requested, reason, message, status)
        self.reason = reason
        self.message = message
        self.status = status

    def __str__(self) -> str:
        if self.reason == self.NOT_GRANTED and self.requested:
            return (
                f"Connection {self.requested!r} is not granted to this notebook. Run "
                f"`%wd connect {self.requested}` in a cell (it asks for your vault password), "
                "or turn on notebook access for it in the WatchDog Lab sidebar; then call "
                "wd.connection() again."
            )
        return self.message
