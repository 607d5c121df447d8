"""ccxt exchanges: ``ccxt:<exchange id>``, with the credential names ccxt itself uses.

One module covers every exchange ccxt supports: the family's member is the lowercase ccxt id
(``ccxt:binance``), and the fields are ccxt's ``requiredCredentials`` keys, all optional since
each exchange asks for a different subset, plus two settings: ``environment`` (``live`` or
``sandbox``) and ``tls_pins`` (public-key pins, see :mod:`.tls`).

Connections of this kind build their own ccxt client, ``conn.ccxt()``: the credentials set,
ccxt's own check that the exchange has every credential it needs, sandbox mode from the
connection, and every HTTPS request made under the TLS policy of :mod:`.tls`. ccxt is an
optional extra (``watchdog-lab[ccxt]``), imported on the first call only.
"""

from __future__ import annotations

import re
from typing import Any, Final

from .base import Credentials, FieldSpec, Helper, KindSpec, Visibility
from .errors import CredentialsError, MissingExtra, TLSPolicyError, UnknownKind
from .tls import PolicyContext, client_context, parse_pins

FAMILY = "ccxt"
_EXCHANGE_ID_RE = re.compile(r"[a-z][a-z0-9_]{1,39}")
_SHOWN_MAX = 40

# ccxt's `requiredCredentials` keys: the credential names any ccxt exchange may ask for.
CREDENTIALS: dict[str, Visibility] = {
    "apiKey": "hint",
    "secret": "secret",
    "uid": "hint",
    "accountId": "hint",
    "login": "hint",
    "password": "secret",
    "twofa": "secret",
    "privateKey": "secret",
    "walletAddress": "public",
    "token": "secret",
}

ENVIRONMENT_FIELD: Final = "environment"
LIVE: Final = "live"
SANDBOX: Final = "sandbox"
ENVIRONMENTS: Final = (LIVE, SANDBOX)
PINS_FIELD: Final = "tls_pins"
EXTRA_HINT: Final = (
    "conn.ccxt() needs the ccxt library: install WatchDog Lab with its 'ccxt' extra "
    "(pip install 'watchdog-lab[ccxt]'), or add 'ccxt' to the bot's notebook (%pip install ccxt)."
)
# ccxt settings that would take TLS out of the policy's hands: the helper owns them.
TLS_OWNED_OPTIONS: Final = frozenset(
    {"verify", "validateServerSsl", "session", "ssl_context", "tcp_connector", "cafile"}
)


def check_fields(fields: dict[str, str]) -> dict[str, str]:
    """Pins are normalised when typed, so a malformed one fails in the vault, not in a bot."""
    if PINS_FIELD not in fields:
        return fields
    return {**fields, PINS_FIELD: ", ".join(parse_pins(fields[PINS_FIELD]))}


# --- what a connection of this kind offers in a kernel or a bot -----------------------------


def ccxt_exchange(
    conn: Credentials, *, asynchronous: bool = False, cafile: str | None = None, **config: Any
) -> Any:
    """A ccxt exchange for this connection: credentials set and checked, sandbox mode as the
    connection says, HTTPS under the TLS policy (verified, TLS 1.2+, the connection's pins).

    ``config`` is passed to the exchange's constructor (``options``, ``timeout``...), except
    the TLS settings, which the policy owns. ``asynchronous`` returns the ``ccxt.async_support``
    client (pins are refused there: they are checked on blocking sockets only). ``cafile``
    trusts one more CA, for an exchange behind a private CA.
    """
    owned = sorted(TLS_OWNED_OPTIONS.intersection(config))
    if owned:
        raise TLSPolicyError(
            f"conn.ccxt() sets {', '.join(owned)} itself (the TLS policy); leave them out."
        )
    module = _ccxt_module(asynchronous)
    exchange_id = _exchange_id(conn)
    if exchange_id not in getattr(module, "exchanges", ()):
        raise CredentialsError(
            f"ccxt {getattr(module, '__version__', '')} has no exchange {exchange_id!r} (the "
            f"kind of connection {conn.name!r}); check the id in ccxt.exchanges."
        )
    exchange = getattr(module, exchange_id)(config)
    for credential in CREDENTIALS:
        if credential in conn:
            setattr(exchange, credential, conn[credential])
    missing = _missing_credentials(exchange)
    if missing:
        raise CredentialsError(
            f"ccxt exchange {exchange_id!r} needs the field(s) {', '.join(missing)} in "
            f"connection {conn.name!r}; edit the connection in WatchDog Lab."
        )
    _set_environment(conn, exchange, exchange_id)
    context = client_context(_pins(conn), cafile=cafile)
    exchange.verify = True
    exchange.validateServerSsl = True
    if asynchronous:
        exchange.ssl_context = context
    else:
        exchange.session = _policy_session(context, trust_env=bool(exchange.requests_trust_env))
    return exchange


def _ccxt_module(asynchronous: bool) -> Any:
    import importlib

    name = "ccxt.async_support" if asynchronous else "ccxt"
    try:
        return importlib.import_module(name)
    except ImportError:
        pass
    # Raised outside the except block: the import error's chain says nothing the hint does not.
    raise MissingExtra(EXTRA_HINT, name="ccxt")


def _exchange_id(conn: Credentials) -> str:
    family, _, member = str(getattr(conn, "kind", "")).casefold().partition(":")
    if family != FAMILY or not _EXCHANGE_ID_RE.fullmatch(member):
        raise CredentialsError(
            f"Connection {conn.name!r} is not of a '{FAMILY}:<exchange id>' kind; conn.ccxt() "
            "needs the exchange's ccxt id in the kind (ccxt:binance)."
        )
    return member


def _missing_credentials(exchange: Any) -> list[str]:
    """ccxt's own check first; then which of its required credentials are empty, by name."""
    if exchange.check_required_credentials(False):
        return []
    required = getattr(exchange, "requiredCredentials", {})
    return [
        name for name, needed in required.items() if needed and not getattr(exchange, name, None)
    ]


def _set_environment(conn: Credentials, exchange: Any, exchange_id: str) -> None:
    environment = conn[ENVIRONMENT_FIELD].strip().casefold() if ENVIRONMENT_FIELD in conn else LIVE
    if environment not in ENVIRONMENTS:
        raise CredentialsError(
            f"Connection {conn.name!r} has an unknown {ENVIRONMENT_FIELD!r}; set it to one of: "
            f"{', '.join(ENVIRONMENTS)}."
        )
    if environment != SANDBOX:
        return
    supported = bool((getattr(exchange, "urls", None) or {}).get("test"))
    if supported:
        try:
            exchange.set_sandbox_mode(True)
        except Exception:  # ccxt's NotSupported, or a half-declared testnet
            supported = False
    if not supported:
        raise CredentialsError(
            f"ccxt has no sandbox for {exchange_id!r}; set the {ENVIRONMENT_FIELD!r} of "
            f"connection {conn.name!r} to {LIVE!r}, or use an exchange with a testnet."
        )


def _pins(conn: Credentials) -> tuple[str, ...]:
    if PINS_FIELD not in conn:
        return ()
    try:
        return parse_pins(conn[PINS_FIELD])
    except ValueError as exc:
        message = str(exc)
    raise CredentialsError(f"Connection {conn.name!r}, field {PINS_FIELD!r}: {message}")


def _policy_session(context: PolicyContext, *, trust_env: bool) -> Any:
    """A ``requests`` session whose HTTPS goes through ``context`` and that refuses plain HTTP."""
    import requests
    from requests.adapters import HTTPAdapter

    class PolicyAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = context
            super().init_poolmanager(*args, **kwargs)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            kwargs["ssl_context"] = context
            return super().proxy_manager_for(proxy, **kwargs)

    class PlainRefused(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            raise TLSPolicyError(
                f"Plain HTTP is refused for exchange connections ({request.method} to an http:// "
                "URL); use the exchange's https:// URL."
            )

    session = requests.Session()
    session.trust_env = trust_env
    session.mount("https://", PolicyAdapter())
    session.mount("http://", PlainRefused())
    return session


def exchange_kind(exchange: str) -> KindSpec:
    """The kind of one ccxt exchange, named by its ccxt id."""
    if not _EXCHANGE_ID_RE.fullmatch(exchange):
        raise UnknownKind(
            f"Invalid ccxt exchange id {exchange[:_SHOWN_MAX]!r}: use the lowercase ccxt id, "
            f"e.g. '{FAMILY}:binance'."
        )
    return KindSpec(
        f"{FAMILY}:{exchange}",
        FIELDS,
        description=f"ccxt exchange {exchange}",
        check=check_fields,
        helpers=HELPERS,
    )


FIELDS = (
    *(FieldSpec(name, level, required=False) for name, level in CREDENTIALS.items()),
    FieldSpec(
        ENVIRONMENT_FIELD,
        "public",
        required=False,
        choices=ENVIRONMENTS,
        description="live or sandbox (the exchange's testnet, where ccxt knows one)",
    ),
    FieldSpec(
        PINS_FIELD,
        "public",
        required=False,
        description="optional public-key pins of the exchange, sha256/<base64>, comma separated",
    ),
)
HELPERS = {"ccxt": Helper(ccxt_exchange)}
KIND = KindSpec(
    FAMILY,
    FIELDS,
    description="any exchange ccxt supports, by its ccxt id (ccxt:binance, ccxt:kraken...)",
    usage=f"{FAMILY}:<exchange id>",
    variant=exchange_kind,
    check=check_fields,
    helpers=HELPERS,
)
