"""The wire format in which granted connections are handed to a process that may use them.

A bot's runner writes the payload into a pipe whose read end the bot kernel inherits; the
environment holds only that descriptor's number, ``WATCHDOG_LAB_CONNECTIONS_FD`` (see
:class:`~.sources.PipeSource`), so ``/proc/<pid>/environ``, ``ps e`` and every subprocess's
environment hold no secret. The kernel broker answers with the same format. The payload is
base64url (no padding) of UTF-8 JSON::

    {"v": 1, "connections": [{"name": str, "kind": str, "fields": {field: value},
                              "visibility": {field: "public" | "hint" | "secret"}}]}

base64url keeps the value one opaque token that a stray print cannot partly show in clear.
Decoding is strict (unknown keys, duplicate keys, duplicate names and wrong types are errors)
because a half-understood payload is worse than a clear failure; the version number is how the
format changes.

Error messages describe problems by position only and never quote the payload. The payload is
never bound to a local variable of a frame that an error passes through, so a traceback that
captures locals cannot show it either.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from typing import Any, Final

from .connection import Connection
from .errors import InjectionError
from .masking import LEVELS

FD_ENV_VAR: Final = "WATCHDOG_LAB_CONNECTIONS_FD"
FORMAT_VERSION: Final = 1
# A pipe has no size limit of its own; this cap keeps a reader's memory bounded. 1 MiB holds
# hundreds of connections with RSA keys.
MAX_ENCODED_CHARS: Final = 1024 * 1024

_ITEM_KEYS: Final = frozenset({"name", "kind", "fields", "visibility"})
_TOP_KEYS: Final = frozenset({"v", "connections"})
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
_DEFAULT_ORIGIN: Final = "the connection injection"


class _DuplicateKey(Exception):
    """Internal signal from the JSON hook; never leaves this module."""


def encode_connections(items: Iterable[Connection]) -> str:
    """Encode connections for handing to a bot kernel (or from the kernel broker).

    Raises :class:`InjectionError` if two names are equal ignoring case (lookups could not tell
    them apart) or if the result exceeds :data:`MAX_ENCODED_CHARS`. Checks run before
    any value is extracted, and the encoded text is dropped before the size error is raised, so
    no frame of a failed call holds secrets.
    """
    conns = list(items)
    _check_encodable(conns)
    text = _encode(conns)
    size = len(text)
    if size > MAX_ENCODED_CHARS:
        del text
        raise InjectionError(
            f"The {len(conns)} connections granted to this bot encode to {size} characters, "
            f"more than WatchDog Lab hands to one process ({MAX_ENCODED_CHARS}); grant fewer "
            "connections to this bot."
        )
    return text


def _check_encodable(conns: list[Connection]) -> None:
    seen: set[str] = set()
    for position, conn in enumerate(conns, start=1):
        if not isinstance(conn, Connection):
            raise TypeError(
                f"Item #{position} to encode is a {type(conn).__name__}, not a Connection."
            )
        key = conn.name.casefold()
        if key in seen:
            raise InjectionError(
                f"Two connections to inject are named {conn.name!r} (names are compared "
                "ignoring case); rename one of them in WatchDog Lab."
            )
        seen.add(key)


def _encode(conns: list[Connection]) -> str:
    """Serialize checked connections; every part is a string, so this cannot fail."""
    document = {
        "v": FORMAT_VERSION,
        "connections": [
            {
                "name": conn.name,
                "kind": conn.kind,
                "fields": {field: conn[field] for field in conn.field_names},
                "visibility": dict(conn.visibility),
            }
            for conn in conns
        ],
    }
    raw = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_connections(text: str, *, origin: str = _DEFAULT_ORIGIN) -> list[Connection]:
    """Decode what :func:`encode_connections` produced.

    ``origin`` names the source in error messages (for example the inherited pipe).
    Raises :class:`InjectionError` for anything malformed or of another format version.
    """
    outcome = _decode(text)
    del text  # gone from this frame before anything is raised through it
    if isinstance(outcome, str):
        raise InjectionError(
            f"{origin[:1].upper()}{origin[1:]} is unusable: {outcome}. Restart the bot from "
            "WatchDog Lab so its connections are handed over again; if this persists, the bot's "
            "environment runs a different watchdog-lab version than the one that started it."
        )
    return outcome


def _decode(text: object) -> list[Connection] | str:
    """Decode, returning either the connections or a problem description (never raising).

    Returning instead of raising keeps the payload out of every traceback: the exceptions caught
    here, with frames whose locals hold decoded secrets, are dropped, not chained.
    """
    try:
        return _decode_strict(text)
    except _Problem as problem:
        return str(problem)
    except Exception as unexpected:  # a bug here must not leak through its traceback
        return f"it could not be decoded ({type(unexpected).__name__})"


class _Problem(Exception):
    """Internal: a description of what is wrong, safe to show."""


def _decode_strict(text: object) -> list[Connection]:
    if not isinstance(text, str):
        raise _Problem(f"expected text, got {type(text).__name__}")
    if not text:
        raise _Problem("it is empty")
    if _BASE64URL.fullmatch(text) is None or len(text) % 4 == 1:
        raise _Problem("it is not base64url text")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _Problem("it is not base64url text") from None
    try:
        document = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError:
        raise _Problem("it does not decode to UTF-8 text") from None
    except _DuplicateKey:
        raise _Problem("it repeats a key inside one JSON object") from None
    except RecursionError:
        raise _Problem("its JSON is nested too deeply") from None
    except ValueError:
        raise _Problem("it does not decode to JSON") from None
    if not isinstance(document, dict):
        raise _Problem("the JSON is not an object")
    version = document.get("v")
    if type(version) is not int:
        raise _Problem('the JSON has no integer format version "v"')
    if version != FORMAT_VERSION:
        raise _Problem(
            f"it uses format version {version}, but this SDK reads version {FORMAT_VERSION} only"
        )
    if set(document) != _TOP_KEYS:
        raise _Problem('the JSON must have exactly the keys "v" and "connections"')
    items = document["connections"]
    if not isinstance(items, list):
        raise _Problem('"connections" is not a list')
    connections: list[Connection] = []
    seen: set[str] = set()
    for position, item in enumerate(items, start=1):
        conn = _decode_item(position, item)
        key = conn.name.casefold()
        if key in seen:
            raise _Problem(
                f"connection #{position} has the same name as an earlier one (ignoring case)"
            )
        seen.add(key)
        connections.append(conn)
    return connections


def _decode_item(position: int, item: object) -> Connection:
    where = f"connection #{position}"
    if not isinstance(item, dict):
        raise _Problem(f"{where} is not a JSON object")
    if set(item) != _ITEM_KEYS:
        raise _Problem(f'{where} must have exactly the keys "name", "kind", "fields", "visibility"')
    name, kind, fields, visibility = item["name"], item["kind"], item["fields"], item["visibility"]
    if not isinstance(name, str) or not name.strip():
        raise _Problem(f'{where}: "name" is not a non-empty string')
    if not isinstance(kind, str) or not kind.strip():
        raise _Problem(f'{where}: "kind" is not a non-empty string')
    if not isinstance(fields, dict) or not all(
        isinstance(field, str) and field and isinstance(value, str)
        for field, value in fields.items()
    ):
        raise _Problem(f'{where}: "fields" does not map non-empty names to strings')
    if not isinstance(visibility, dict):
        raise _Problem(f'{where}: "visibility" is not a JSON object')
    for field, level in visibility.items():
        if field not in fields:
            raise _Problem(f'{where}: "visibility" names a field that has no value')
        if not isinstance(level, str) or level not in LEVELS:
            raise _Problem(
                f'{where}: a "visibility" level is not one of {", ".join(sorted(LEVELS))}'
            )
    return Connection(name, kind, fields, visibility)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKey
    return result
