"""The ``Connection`` object: a set of credentials that never shows its secrets by accident.

A bot author writes ``conn = wd.connection("Kalshi")`` and then prints, logs, pretty-prints,
f-strings or crashes with ``conn`` in scope. Every one of those paths goes through ``repr``,
``str`` or ``format``, so all three return the same masked text, computed once. Values come out
only when code names a field explicitly (``conn.api_key_id`` or ``conn["api_key_id"]``).

Where the values live matters as much as how the object prints. Debuggers, variable inspectors
and ``vars()`` walk an object's attributes, so the values are not kept in any attribute: they
sit in the closure of a reader function that never raises (a frame that raises would show the
closure's dict in a traceback that captures locals). For the same reason ``dir()`` lists no
field names: variable inspectors call ``getattr`` on every name ``dir()`` returns.

Conveniences that belong to one kind (Kalshi's ``conn.sign_request(...)`` and ``conn.base_url``)
are declared by that kind's module in :mod:`watchdog_lab.kinds`; the registry is imported the
first time one is asked for, so code that only reads fields never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn, final

from .errors import ConnectionConfigError, ConnectionKindError, UnknownField
from .masking import LEVELS, SECRET, mask_value

if TYPE_CHECKING:
    from typing import TypeVar

    from ..kinds import Helper

    _T = TypeVar("_T")

_NOT_SERIALIZABLE = (
    "Connection objects cannot be pickled or serialized: that would copy their secrets into a "
    "file, a queue or another process. Pass the connection's name instead and call "
    "wd.connection(name) where the credentials are used."
)


def _sealed_reader(values: dict[str, str]) -> Callable[[str], str | None]:
    """Return a lookup function that holds ``values`` in its closure.

    The function must not raise: a frame it raised from would carry ``values`` among its locals
    into any traceback that captures locals. Callers pass only ``str`` keys, so ``dict.get``
    cannot fail here.
    """
    get = values.get

    def read(field: str) -> str | None:
        return get(field)

    return read


@final
class Connection:
    """Credentials for one exchange or service, masked everywhere they could be displayed.

    ``fields`` maps field names to values; ``visibility`` maps field names to ``"public"``
    (shown whole), ``"hint"`` (first three characters of values of at least twelve) or
    ``"secret"`` (never shown); fields not listed are secret. Instances are immutable, compare
    by identity, refuse pickling and serialization, and cannot be subclassed (a subclass could
    bring back a ``__dict__`` or an unmasked ``__repr__``).
    """

    __slots__ = (
        "__weakref__",
        "_cache",
        "_fields",
        "_kind",
        "_levels",
        "_masked",
        "_name",
        "_read",
    )

    _name: str
    _kind: str
    _fields: tuple[str, ...]
    _levels: Mapping[str, str]
    _masked: str
    _read: Callable[[str], str | None]
    _cache: dict[str, Any]

    def __init__(
        self,
        name: str,
        kind: str,
        fields: Mapping[str, str],
        visibility: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise TypeError("Connection name must be a non-empty string.")
        if not isinstance(kind, str) or not kind.strip():
            raise TypeError(f"Connection {name!r}: kind must be a non-empty string.")
        if not isinstance(fields, Mapping):
            raise TypeError(f"Connection {name!r}: fields must be a mapping of names to strings.")
        values: dict[str, str] = {}
        for field, value in fields.items():
            if not isinstance(field, str) or not field:
                raise TypeError(f"Connection {name!r}: field names must be non-empty strings.")
            if not isinstance(value, str):
                # Name the field and the type, never the value.
                raise TypeError(
                    f"Connection {name!r}: the value of field {field!r} must be a string, "
                    f"not {type(value).__name__}."
                )
            values[field] = value
        levels = _checked_levels(name, values, visibility)

        set_slot = object.__setattr__
        set_slot(self, "_name", name)
        set_slot(self, "_kind", kind)
        set_slot(self, "_fields", tuple(values))
        set_slot(self, "_levels", MappingProxyType(levels))
        set_slot(self, "_masked", _masked_text(name, kind, values, levels))
        set_slot(self, "_read", _sealed_reader(values))
        set_slot(self, "_cache", {})

    def __init_subclass__(cls, **kwargs: Any) -> NoReturn:
        raise TypeError("Connection cannot be subclassed: a subclass could undo its masking.")

    # Identity and the explicit ways in.

    @property
    def name(self) -> str:
        """The connection's name as the user spelled it in the vault."""
        return self._name

    @property
    def kind(self) -> str:
        """What the credentials are for (``"kalshi"``, ``"binance"``, ``"anthropic"``...)."""
        return self._kind

    @property
    def field_names(self) -> tuple[str, ...]:
        """The names of the fields, in the order they were given; never their values."""
        return self._fields

    @property
    def visibility(self) -> Mapping[str, str]:
        """How much of each field may be shown (levels only), for code that re-encodes it."""
        return self._levels

    def __getattr__(self, attr: str) -> Any:
        # Only reached when normal lookup failed. Underscore names are protocol probes
        # (``_repr_html_``, ``__deepcopy__``...): answering them from fields would be a leak.
        if attr.startswith("_"):
            raise AttributeError(f"'Connection' object has no attribute {attr!r}")
        value = self._read(attr)
        if value is not None:
            return value
        helper = _helpers_of(self._kind).get(attr)
        if helper is not None:
            return _use_helper(self, attr, helper)
        owners = _helper_owners(attr)
        if owners:
            raise ConnectionKindError(
                f"{attr!r} is available on {' or '.join(map(repr, owners))} connections only; "
                f"connection {self._name!r} is of kind {self._kind!r}."
            )
        raise AttributeError(f"{self._describe_missing(attr)}.")

    def __dir__(self) -> list[str]:
        # The kind's helpers are offered (tab completion); field names are not (inspectors
        # getattr() whatever dir() lists).
        return sorted({*object.__dir__(self), *_helpers_of(self._kind)})

    def __getitem__(self, field: str) -> str:
        if not isinstance(field, str):
            raise TypeError(f"Connection fields are named by strings, not {type(field).__name__}.")
        value = self._read(field)
        if value is None:
            raise UnknownField(f"{self._describe_missing(field)}.")
        return value

    def __contains__(self, field: object) -> bool:
        return field in self._fields

    def _describe_missing(self, field: str) -> str:
        listed = ", ".join(self._fields) if self._fields else "none"
        return f"Connection {self._name!r} has no field {field!r}; its fields are: {listed}"

    # Every textual rendering is the same masked text.

    def __repr__(self) -> str:
        return self._masked

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(self._masked, spec)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's pretty printer: the masked text, whatever the nesting."""
        printer.text(self._masked)

    # Immutability and containment.

    def __setattr__(self, attr: str, value: object) -> NoReturn:
        raise AttributeError("Connection objects are read-only.")

    def __delattr__(self, attr: str) -> NoReturn:
        raise AttributeError("Connection objects are read-only.")

    def __iter__(self) -> Iterator[str]:
        # Without this, Python would iterate by calling __getitem__(0), (1)...; and dict(conn)
        # or list(conn) must not look like a way to dump the fields.
        raise TypeError("Connection objects are not iterable; use conn.field_names for the names.")

    def __copy__(self) -> Connection:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Connection:
        # Immutable, so sharing is a correct deep copy, and it keeps a single copy of the secret.
        return self

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(_NOT_SERIALIZABLE)

    def __reduce__(self) -> NoReturn:
        raise TypeError(_NOT_SERIALIZABLE)

    def __getstate__(self) -> NoReturn:
        raise TypeError(_NOT_SERIALIZABLE)

    def _cached(self, key: str, build: Callable[[], _T]) -> _T:
        """Per-object memo for derived objects (a parsed private key), built on first use.

        Part of what kind helpers may use (:class:`watchdog_lab.kinds.base.Credentials`).
        """
        cache = self._cache
        if key not in cache:
            cache[key] = build()
        return cache[key]  # type: ignore[no-any-return]  # one cache holds every key's type


def _checked_levels(
    name: str, values: Mapping[str, str], visibility: Mapping[str, str] | None
) -> dict[str, str]:
    """Complete the visibility table: every field gets a level, unlisted ones ``secret``."""
    given = dict(visibility or {})
    for field, level in given.items():
        if field not in values:
            raise ValueError(
                f"Connection {name!r}: visibility names field {field!r}, which has no value."
            )
        if level not in LEVELS:
            raise ValueError(
                f"Connection {name!r}: visibility of field {field!r} must be one of "
                f"{', '.join(sorted(LEVELS))}, not {level!r}."
            )
    return {field: given.get(field, SECRET) for field in values}


def _masked_text(name: str, kind: str, values: Mapping[str, str], levels: Mapping[str, str]) -> str:
    parts = [f"name={name!r}", f"kind={kind!r}"]
    parts.extend(f"{field}={mask_value(value, levels[field])!r}" for field, value in values.items())
    return f"Connection({', '.join(parts)})"


def _helpers_of(kind: str) -> Mapping[str, Helper]:
    from ..kinds import find_kind

    spec = find_kind(kind)
    return spec.helpers if spec is not None else {}


def _helper_owners(attr: str) -> tuple[str, ...]:
    from ..kinds import helper_owners

    return helper_owners(attr)


def _use_helper(conn: Connection, attr: str, helper: Helper) -> Any:
    """A value helper's value, or a method bound to ``conn``; kind errors become the SDK's."""
    if helper.value:
        return _call(helper, conn, (), {})

    def method(*args: Any, **kwargs: Any) -> Any:
        return _call(helper, conn, args, kwargs)

    method.__name__ = method.__qualname__ = attr
    method.__doc__ = helper.function.__doc__
    return method


def _call(helper: Helper, conn: Connection, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run a kind's helper; its :class:`~watchdog_lab.kinds.CredentialsError` is raised again as
    :class:`ConnectionConfigError`, the class bot code catches, with the same message and frames
    but nothing chained (a chained library error could carry a key's text)."""
    from ..kinds import CredentialsError

    try:
        return helper.function(conn, *args, **kwargs)
    except CredentialsError as exc:
        message, frames = str(exc), exc.__traceback__
    raise ConnectionConfigError(message).with_traceback(frames)
