"""Kalshi: an API key id, an RSA private key (PEM) and the environment (demo or prod).

The vault refuses a key that does not parse as an RSA private key, so it fails when the user
types it rather than inside a running bot. Connections of this kind sign their own requests
(``conn.sign_request(method, path)``, ``conn.sign_ws()``) and know their URLs (``conn.base_url``,
``conn.ws_url``), so a bot never handles the private key itself.

Kalshi authenticates each request with three headers; the signature is RSA-PSS (SHA-256, MGF1
SHA-256, salt length = digest length) over ``timestamp_ms + METHOD + path``, where the path is
the full URL path without its query string. The WebSocket handshake is signed the same way over
``GET /trade-api/ws/v2``. ``cryptography`` is imported on first use so that bots that never sign
do not pay for it. Nothing here binds the PEM text to a local variable: a frame that raised
would otherwise show it in a traceback that captures locals.

Keys only work in the environment that issued them (a demo key is refused by prod with a 401).
What can be told without the network is told before any request: a host named explicitly
(``conn.api_endpoint(host=...)``: an older Kalshi host, or the local simulator for a demo
connection) that serves another environment than the connection's is refused, naming both.
What only the exchange can tell (its 401) is turned into the same kind of message by
``conn.check_response(status, body)``.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import ipaddress
import json
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from .base import Credentials, FieldSpec, Helper, KindSpec
from .errors import CredentialsError, InvalidFields
from .tls import pool_manager

API_KEY_ID_FIELD: Final = "api_key_id"
PRIVATE_KEY_FIELD: Final = "private_key_pem"
ENVIRONMENT_FIELD: Final = "environment"

DEMO: Final = "demo"
PROD: Final = "prod"
ENVIRONMENTS: Final = (DEMO, PROD)
# Spellings of an environment accepted from connections saved before the names were fixed.
_ENVIRONMENT_ALIASES: Final[dict[str, str]] = {"production": PROD}

REST_PATH_PREFIX: Final = "/trade-api/v2"
WS_PATH: Final = "/trade-api/ws/v2"
# Kalshi signs the full path; a path given relative to the base URL gets the REST prefix.
API_PATH_PREFIX: Final = "/trade-api/"

# The hosts Kalshi recommends, then the older ones it still serves (existing connections and
# code keep working with them).
PROD_HOST: Final = "external-api.kalshi.com"
DEMO_HOST: Final = "external-api.demo.kalshi.co"
PROD_LEGACY_HOST: Final = "api.elections.kalshi.com"
DEMO_LEGACY_HOST: Final = "demo-api.kalshi.co"
PROD_BASE_URL: Final = f"https://{PROD_HOST}{REST_PATH_PREFIX}"
DEMO_BASE_URL: Final = f"https://{DEMO_HOST}{REST_PATH_PREFIX}"
PROD_WS_URL: Final = f"wss://external-api-ws.kalshi.com{WS_PATH}"
DEMO_WS_URL: Final = f"wss://external-api-ws.demo.kalshi.co{WS_PATH}"


@dataclass(frozen=True)
class KalshiHost:
    """One REST host Kalshi serves, the environment whose keys it accepts, its WebSocket URL."""

    host: str
    environment: str
    ws_url: str


KALSHI_HOSTS: Final[dict[str, KalshiHost]] = {
    h.host: h
    for h in (
        KalshiHost(PROD_HOST, PROD, PROD_WS_URL),
        KalshiHost(DEMO_HOST, DEMO, DEMO_WS_URL),
        KalshiHost(PROD_LEGACY_HOST, PROD, f"wss://{PROD_LEGACY_HOST}{WS_PATH}"),
        KalshiHost(DEMO_LEGACY_HOST, DEMO, f"wss://{DEMO_LEGACY_HOST}{WS_PATH}"),
    )
}
DEFAULT_HOSTS: Final[dict[str, str]] = {PROD: PROD_HOST, DEMO: DEMO_HOST}
# The REST base URL of each environment name a connection may hold (aliases included).
BASE_URLS: Final[dict[str, str]] = {
    DEMO: DEMO_BASE_URL,
    PROD: PROD_BASE_URL,
    "production": PROD_BASE_URL,
}
# The local simulator (``watchdog-lab sim kalshi``) listens here unless told otherwise.
SIM_DEFAULT_HOST: Final = "127.0.0.1"
# Only demo keys are sent to it: a prod key's signed requests must reach Kalshi alone.
SIMULATOR_ENVIRONMENT: Final = DEMO
SIM_DEFAULT_PORT: Final = 8989
_LOCAL_NAMES: Final = frozenset({"localhost"})
# Stored as the key id by ``connections add --generate-key`` until Kalshi has issued one.
PENDING_KEY_ID: Final = "pending-kalshi-key-id"

HEADER_KEY: Final = "KALSHI-ACCESS-KEY"
HEADER_TIMESTAMP: Final = "KALSHI-ACCESS-TIMESTAMP"
HEADER_SIGNATURE: Final = "KALSHI-ACCESS-SIGNATURE"
UNAUTHORIZED: Final = 401

# A generated key: Kalshi signs with RSA; 2048 bits by default, 4096 for who wants more margin.
GENERATED_KEY_BITS: Final = 2048
GENERATED_KEY_BITS_CHOICES: Final = (2048, 4096)
API_KEYS_PAGES: Final[dict[str, str]] = {
    PROD: "https://kalshi.com/account/profile",
    DEMO: "https://demo.kalshi.co/account/profile",
}
SDK_PACKAGE: Final = "kalshi_python_sync"

_KEY_CACHE_SLOT: Final = "kalshi_private_key"
_SHOWN_MAX: Final = 60


# --- what the vault stores and checks -------------------------------------------------------


def check_fields(fields: dict[str, str]) -> dict[str, str]:
    """Refuse a key that would only fail later, at the exchange, inside a running bot."""
    return {**fields, PRIVATE_KEY_FIELD: _checked_rsa_pem(fields[PRIVATE_KEY_FIELD])}


def _checked_rsa_pem(pem: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    text = pem.replace("\r\n", "\n").strip() + "\n"
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidFields(
            f"Field {PRIVATE_KEY_FIELD!r} is not an unencrypted PEM private key (paste the whole "
            "file Kalshi gave you, BEGIN and END lines included)."
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidFields(f"Field {PRIVATE_KEY_FIELD!r} must be an RSA private key for Kalshi.")
    return text


# --- a key pair made here, whose public half the user gives Kalshi --------------------------


@dataclass(frozen=True)
class GeneratedKey:
    """A new key pair: the private PEM goes into the vault, only the public PEM is shown.

    ``repr`` hides the private half, so a debugger or a log line that shows the object does
    not show the key.
    """

    private_pem: str
    public_pem: str

    def __repr__(self) -> str:
        return f"GeneratedKey(public_pem={self.public_pem!r}, private_pem='***')"


def generate_key(bits: int = GENERATED_KEY_BITS) -> GeneratedKey:
    """An RSA key pair for Kalshi: the private half as PKCS#8 PEM, the public as SPKI PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if bits not in GENERATED_KEY_BITS_CHOICES:
        raise InvalidFields(
            f"A Kalshi key is {' or '.join(map(str, GENERATED_KEY_BITS_CHOICES))} bits, not {bits}."
        )
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return GeneratedKey(
        private_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii"),
        public_pem=key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii"),
    )


def public_key_pem(conn: Credentials) -> str:
    """The public half of the connection's key (PEM), to give Kalshi again or to a simulator."""
    from cryptography.hazmat.primitives import serialization

    key = conn._cached(_KEY_CACHE_SLOT, lambda: _load_private_key(conn))
    return str(
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


# --- hosts and environments -----------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """Where a connection's requests go: its environment, REST base URL and WebSocket URL."""

    environment: str
    base_url: str
    ws_url: str
    simulator: bool = False


def environment_of(conn: Credentials) -> str:
    """The connection's environment, ``demo`` or ``prod`` (older spellings accepted)."""
    if ENVIRONMENT_FIELD not in conn:
        raise CredentialsError(
            f"Kalshi connection {conn.name!r} has no {ENVIRONMENT_FIELD!r} field; edit it in "
            f"WatchDog Lab and set it to one of: {', '.join(BASE_URLS)}."
        )
    given = conn[ENVIRONMENT_FIELD].strip().casefold()
    environment = _ENVIRONMENT_ALIASES.get(given, given)
    if environment not in ENVIRONMENTS:
        raise CredentialsError(
            f"Kalshi connection {conn.name!r} has an unknown {ENVIRONMENT_FIELD!r}; edit it in "
            f"WatchDog Lab and set it to one of: {', '.join(BASE_URLS)}."
        )
    return environment


def is_loopback(host: str) -> bool:
    """A host on this machine: where the simulator runs, never a real exchange."""
    if host.casefold() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_endpoint(name: str, environment: str, host: str | None = None) -> Endpoint:
    """The URLs of ``environment``, or of ``host`` once it is known to serve that environment.

    ``host`` may be a bare host (``demo-api.kalshi.co``), a URL with or without the
    ``/trade-api/v2`` path, or, for a demo connection, the local simulator
    (``http://127.0.0.1:8989``). A Kalshi host of the other environment, or a host that is not
    Kalshi's, is refused: signed requests there would only come back as 401s (or go to a
    stranger).
    """
    if environment not in ENVIRONMENTS:
        raise CredentialsError(
            f"Kalshi connection {name!r}: unknown environment; use one of: "
            f"{', '.join(ENVIRONMENTS)}."
        )
    if host is None or not host.strip():
        default = KALSHI_HOSTS[DEFAULT_HOSTS[environment]]
        return Endpoint(environment, f"https://{default.host}{REST_PATH_PREFIX}", default.ws_url)
    text = host.strip()
    shown = text[:_SHOWN_MAX]
    parts = urlsplit(text if "://" in text else f"//{text}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    hostname = (parts.hostname or "").casefold()
    if (
        not hostname
        or port == -1
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or parts.path.rstrip("/") not in ("", REST_PATH_PREFIX)
        or parts.scheme not in ("", "http", "https")
    ):
        raise CredentialsError(
            f"Kalshi connection {name!r}: {shown!r} is not a host or a base URL (give "
            f"{PROD_HOST}, {DEMO_HOST}, or http://{SIM_DEFAULT_HOST}:PORT for the simulator)."
        )
    if is_loopback(hostname):
        if environment != SIMULATOR_ENVIRONMENT:
            raise CredentialsError(
                f"Kalshi connection {name!r} is for {environment}: point only a "
                f"{SIMULATOR_ENVIRONMENT} connection (or one made for the simulator) at "
                f"{shown!r}. Whatever listens there receives requests signed by this key, and "
                "Kalshi's signature does not cover the body, so they could be replayed to "
                "Kalshi within seconds."
            )
        scheme = parts.scheme or "http"
        netloc = parts.netloc
        ws_scheme = "wss" if scheme == "https" else "ws"
        return Endpoint(
            environment,
            f"{scheme}://{netloc}{REST_PATH_PREFIX}",
            f"{ws_scheme}://{netloc}{WS_PATH}",
            simulator=True,
        )
    known = KALSHI_HOSTS.get(hostname)
    if known is None:
        listed = ", ".join(KALSHI_HOSTS)
        raise CredentialsError(
            f"Kalshi connection {name!r}: {shown!r} is not a Kalshi host; use one of {listed} "
            "(or the local simulator on 127.0.0.1)."
        )
    if parts.scheme == "http" or port not in (None, 443):
        raise CredentialsError(
            f"Kalshi connection {name!r}: {hostname} is only reached over https on port 443."
        )
    if known.environment != environment:
        raise CredentialsError(environment_mismatch(name, environment, known))
    return Endpoint(environment, f"https://{known.host}{REST_PATH_PREFIX}", known.ws_url)


def environment_mismatch(name: str, environment: str, known: KalshiHost) -> str:
    """Why a key of one environment will not work at another's host, and what to change."""
    return (
        f"Kalshi connection {name!r} is for the {environment} environment, but {known.host} "
        f"serves {known.environment}: Kalshi keys only work in the environment that issued "
        f"them. Use a {environment} host ({DEFAULT_HOSTS[environment]}), or, if this key was "
        f"made on {known.environment}, set the connection's {ENVIRONMENT_FIELD!r} to "
        f"{known.environment} in WatchDog Lab."
    )


def api_endpoint(conn: Credentials, host: str | None = None) -> Endpoint:
    """``conn.api_endpoint(host=None)``: the connection's URLs, checked against its environment."""
    return resolve_endpoint(conn.name, environment_of(conn), host)


def base_url(conn: Credentials) -> str:
    """The REST base URL Kalshi recommends for the connection's ``environment`` (demo or prod)."""
    return api_endpoint(conn).base_url


def ws_url(conn: Credentials) -> str:
    """The WebSocket URL Kalshi recommends for the connection's ``environment``."""
    return api_endpoint(conn).ws_url


def check_response(conn: Credentials, status: int, body: object = None) -> None:
    """Raise a message naming the environment when Kalshi refused the key (its 401 shape).

    ``body`` is the response's body (bytes, text or parsed JSON). Anything that is not a 401
    in Kalshi's error shape (``{"error": {"code": ..., "message": ...}}``, or the flat
    ``{"code": ..., "message": ...}``) passes; the caller handles it as before.
    """
    if int(status) != UNAUTHORIZED:
        return
    error = _kalshi_error(body)
    if error is None:
        return
    code, _ = error
    environment = environment_of(conn)
    other = DEMO if environment == PROD else PROD
    raise CredentialsError(
        f"Kalshi refused the key of connection {conn.name!r} (401, {code[:_SHOWN_MAX]!r}). "
        f"The connection is for the {environment} environment ({DEFAULT_HOSTS[environment]}); "
        f"Kalshi keys only work in the environment that issued them. If the key was made on "
        f"{other}, set the connection's {ENVIRONMENT_FIELD!r} to {other}; otherwise check its "
        f"{API_KEY_ID_FIELD!r}, that the key was not deleted on Kalshi, and this machine's clock "
        "(a signature's timestamp must be recent)."
    )


def _kalshi_error(body: object) -> tuple[str, str] | None:
    """``(code, message)`` of a body in Kalshi's error shape, else ``None``."""
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict):
        return None
    inner = body.get("error", body)
    if not isinstance(inner, dict):
        return None
    code, message = inner.get("code"), inner.get("message")
    if not isinstance(code, str) or not isinstance(message, str):
        return None
    return code, message


# --- what a connection of this kind offers in a kernel or a bot -----------------------------


def signing_path(path: str) -> str:
    """The path Kalshi expects in the signed message.

    Accepts a full URL, a full path (``/trade-api/v2/portfolio/balance``) or a path relative to
    the REST base URL (``/portfolio/balance``); drops any query string or fragment.
    """
    only_path = urlsplit(path).path if "://" in path else path.split("?", 1)[0].split("#", 1)[0]
    if not only_path.startswith("/"):
        only_path = "/" + only_path
    if not only_path.startswith(API_PATH_PREFIX):
        only_path = REST_PATH_PREFIX + only_path
    return only_path


def sign_request(
    conn: Credentials, method: str, path: str, timestamp_ms: int | None = None
) -> dict[str, str]:
    """Headers that authenticate one Kalshi request made with ``conn``.

    ``timestamp_ms`` defaults to now; pass one only to reproduce a signature.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key_id = _key_id(conn)
    stamp = str(int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms))
    message = f"{stamp}{method.upper()}{signing_path(path)}".encode()
    key = conn._cached(_KEY_CACHE_SLOT, lambda: _load_private_key(conn))
    signature = key.sign(
        message,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
        hashes.SHA256(),
    )
    return {
        HEADER_KEY: key_id,
        HEADER_TIMESTAMP: stamp,
        HEADER_SIGNATURE: base64.b64encode(signature).decode("ascii"),
    }


def sign_ws(conn: Credentials, timestamp_ms: int | None = None) -> dict[str, str]:
    """The three headers of the WebSocket handshake (signed over ``GET /trade-api/ws/v2``)."""
    return sign_request(conn, "GET", WS_PATH, timestamp_ms)


def kalshi_client(conn: Credentials, host: str | None = None, *, cafile: str | None = None) -> Any:
    """A ``kalshi_python_sync.KalshiClient`` for this connection (Kalshi's own SDK).

    The client keeps the key in its configuration object: use it only where the connection was
    granted anyway. ``host`` is as for ``conn.api_endpoint``. Its HTTPS goes through the TLS
    policy of :mod:`.tls` (verified, TLS 1.2+) rather than the SDK's own pool, whose
    ``verify_ssl`` a notebook could turn off; ``cafile`` trusts one more CA.
    """
    url = api_endpoint(conn, host).base_url
    key_id = _key_id(conn)
    conn._cached(_KEY_CACHE_SLOT, lambda: _load_private_key(conn))  # reported in our words
    sdk: Any = None
    # Raised outside the handler, so the ImportError is not chained onto the message.
    with contextlib.suppress(ImportError):
        sdk = importlib.import_module(SDK_PACKAGE)
    if sdk is None:
        raise CredentialsError(
            f"conn.kalshi_client() needs Kalshi's SDK, the {SDK_PACKAGE!r} package, which is "
            f"not installed here: `pip install {SDK_PACKAGE}` in this kernel's environment, or "
            "name it in the bot's notebook so that promote installs it."
        )
    configuration = sdk.Configuration(host=url)
    configuration.api_key_id = key_id
    configuration.private_key_pem = _pem_bytes(conn).decode("ascii")
    client = sdk.KalshiClient(configuration)
    client.rest_client.pool_manager = pool_manager(cafile=cafile)
    return client


def _key_id(conn: Credentials) -> str:
    key_id = _required(conn, API_KEY_ID_FIELD)
    if key_id == PENDING_KEY_ID:
        raise CredentialsError(
            f"Kalshi connection {conn.name!r} has no key id yet: give Kalshi its public key "
            "(printed when the key was made; conn.public_key_pem() returns it again), then set "
            f"{API_KEY_ID_FIELD!r} to the id Kalshi shows (`watchdog-lab connections update "
            f"{conn.name}`)."
        )
    return key_id


def _required(conn: Credentials, field: str) -> str:
    if field not in conn:
        raise CredentialsError(
            f"Kalshi connection {conn.name!r} has no {field!r} field; edit it in WatchDog Lab "
            f"(its fields are: {', '.join(conn.field_names) or 'none'})."
        )
    return conn[field]


def _load_private_key(conn: Credentials) -> Any:
    """Parse the PEM once; errors say what to fix and never include the key text."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    _required(conn, PRIVATE_KEY_FIELD)
    problem = None
    try:
        key = serialization.load_pem_private_key(_pem_bytes(conn), password=None)
    except (ValueError, TypeError):
        problem = "is not a PEM private key without a password"
        key = None
    except Exception:
        problem = "could not be read as a private key"
        key = None
    # Raised outside the except block so the library's exception (and its frames) is not
    # chained onto ours.
    if problem is not None:
        raise CredentialsError(
            f"The {PRIVATE_KEY_FIELD!r} of Kalshi connection {conn.name!r} {problem}; paste the "
            "key file Kalshi gave you into the connection in WatchDog Lab."
        )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsError(
            f"The {PRIVATE_KEY_FIELD!r} of Kalshi connection {conn.name!r} is not an RSA key; "
            "Kalshi issues RSA keys, paste that key file into the connection in WatchDog Lab."
        )
    return key


def _pem_bytes(conn: Credentials) -> bytes:
    # A key pasted through a single-line form often arrives with literal "\n" sequences.
    if "\n" not in conn[PRIVATE_KEY_FIELD] and "\\n" in conn[PRIVATE_KEY_FIELD]:
        return conn[PRIVATE_KEY_FIELD].replace("\\n", "\n").strip().encode()
    return conn[PRIVATE_KEY_FIELD].strip().encode()


KIND = KindSpec(
    "kalshi",
    (
        FieldSpec(API_KEY_ID_FIELD, "hint", description="the key id Kalshi shows with the key"),
        FieldSpec(
            PRIVATE_KEY_FIELD,
            "secret",
            description="the RSA private key file Kalshi gave you (PEM)",
            from_file=True,
        ),
        FieldSpec(
            ENVIRONMENT_FIELD,
            "public",
            choices=ENVIRONMENTS,
            default=DEMO,
            description="demo or prod",
        ),
    ),
    description="Kalshi: API key id + RSA private key (PEM); environment demo or prod",
    check=check_fields,
    helpers={
        "base_url": Helper(base_url, value=True),
        "ws_url": Helper(ws_url, value=True),
        "api_endpoint": Helper(api_endpoint),
        "sign_request": Helper(sign_request),
        "sign_ws": Helper(sign_ws),
        "check_response": Helper(check_response),
        "public_key_pem": Helper(public_key_pem),
        "kalshi_client": Helper(kalshi_client),
    },
)
