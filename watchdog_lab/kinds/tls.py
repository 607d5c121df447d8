"""The TLS policy of every connection an exchange helper opens, and public-key pinning.

A bot talks to an exchange over networks its author does not control, with credentials that
move money. The helpers therefore build their client TLS contexts here, and only here:

- certificates are verified (``CERT_REQUIRED``) against the system's trust store and the
  host name is checked; a context built here refuses to be switched to ``CERT_NONE``, to stop
  checking host names, or to accept a protocol below TLS 1.2, so a library that tries to weaken
  it (``verify=False``) fails loudly instead of talking in the clear;
- optionally, the server's public key must match one of a set of pins: the base64 SHA-256 of
  the leaf certificate's SubjectPublicKeyInfo, written ``sha256/<base64>``. Several pins are
  allowed so a key can be rotated: add the new pin, wait for the exchange to switch, remove the
  old one. Pins are checked on the live connection, right after the handshake and before a
  byte of the request is sent.

Pins are checked where the handshake runs on a socket (``http.client``, ``urllib``,
``requests``). Event-loop clients (asyncio, aiohttp) hand the context a memory BIO instead;
a pinned context refuses that (fails closed) rather than connect without checking the pin.

This module is a kinds module only by location: it defines no ``KIND`` and the registry skips
it. It uses the standard library, and ``cryptography`` inside the one function that parses a
certificate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import ssl
from collections.abc import Iterable
from typing import Any, Final

from .errors import InvalidFields, PinMismatch, TLSPolicyError

__all__ = [
    "MINIMUM_VERSION",
    "PIN_PREFIX",
    "PolicyContext",
    "client_context",
    "parse_pins",
    "pool_manager",
    "spki_pin",
]

MINIMUM_VERSION: Final = ssl.TLSVersion.TLSv1_2
PIN_PREFIX: Final = "sha256/"
# A SHA-256 digest is 32 bytes: 44 characters of padded base64.
_DIGEST_BYTES: Final = 32
_PIN_SEPARATORS: Final = re.compile(r"[\s,;]+")
# Pins are written as curl writes them too (sha256//...); both spellings are accepted.
_PIN_PREFIXES: Final = ("sha256//", PIN_PREFIX)
_SHOWN_MAX: Final = 60
PINS_MAX: Final = 8


def parse_pins(text: str) -> tuple[str, ...]:
    """The pins written in ``text`` (separated by spaces, commas or semicolons), normalised to
    ``sha256/<base64>``; raises :class:`~.errors.InvalidFields` naming the one that is not a pin.
    """
    pins: list[str] = []
    for word in _PIN_SEPARATORS.split(text.strip()):
        if not word:
            continue
        # "sha256//X" is curl's spelling of pin X, or ours of a pin whose base64 starts with
        # "/": each prefix is tried, and the one that leaves a SHA-256 wins.
        candidates = [word[len(p) :] for p in _PIN_PREFIXES if word.casefold().startswith(p)]
        digest = b""
        for encoded in candidates or [word]:
            digest = _digest(encoded)
            if len(digest) == _DIGEST_BYTES:
                break
        if len(digest) != _DIGEST_BYTES:
            raise InvalidFields(
                f"{word[:_SHOWN_MAX]!r} is not a public-key pin: write the base64 SHA-256 of the "
                f"server's SubjectPublicKeyInfo as '{PIN_PREFIX}<44 base64 characters>'."
            )
        pin = PIN_PREFIX + base64.b64encode(digest).decode("ascii")
        if pin not in pins:
            pins.append(pin)
    if len(pins) > PINS_MAX:
        raise InvalidFields(f"At most {PINS_MAX} public-key pins: keep the current and the next.")
    return tuple(pins)


def _digest(encoded: str) -> bytes:
    """The bytes of a base64 pin, or nothing if it is not base64."""
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return b""


def spki_pin(certificate_der: bytes) -> str:
    """The pin of a certificate's public key: ``sha256/`` + base64(SHA-256(SPKI DER))."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    spki = (
        x509.load_der_x509_certificate(certificate_der)
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    return PIN_PREFIX + base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


class PolicyContext(ssl.SSLContext):
    """A client context that keeps the policy: verification, host names, TLS 1.2 or newer, and
    the pins, whatever a library sets on it later."""

    _pins: tuple[str, ...]

    def __new__(cls, pins: Iterable[str] = ()) -> PolicyContext:
        context = super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)
        context._pins = tuple(pins)
        return context

    def __init__(self, pins: Iterable[str] = ()) -> None:
        # ssl.SSLContext.__init__ takes the protocol; everything was set in __new__.
        pass

    @property
    def pins(self) -> tuple[str, ...]:
        """The accepted public-key pins; empty when any verified key is accepted."""
        return self._pins

    # The three settings a library could lower, guarded.

    @property  # type: ignore[override]  # typeshed declares the C base's int
    def verify_mode(self) -> ssl.VerifyMode:
        return ssl.SSLContext.verify_mode.__get__(self)  # type: ignore[attr-defined,no-any-return]

    @verify_mode.setter
    def verify_mode(self, value: ssl.VerifyMode) -> None:
        if value != ssl.CERT_REQUIRED:
            raise TLSPolicyError(
                "Certificate verification cannot be turned off for exchange connections; to trust "
                "a private CA, add it to the system's store (or pass its file as cafile=)."
            )
        ssl.SSLContext.verify_mode.__set__(self, value)  # type: ignore[attr-defined]

    @property
    def check_hostname(self) -> bool:
        return ssl.SSLContext.check_hostname.__get__(self)  # type: ignore[attr-defined,no-any-return]

    @check_hostname.setter
    def check_hostname(self, value: bool) -> None:
        if not value:
            raise TLSPolicyError(
                "Host name checking cannot be turned off for exchange connections."
            )
        ssl.SSLContext.check_hostname.__set__(self, value)  # type: ignore[attr-defined]

    @property  # type: ignore[override]  # typeshed declares the C base's int
    def minimum_version(self) -> ssl.TLSVersion:
        return ssl.SSLContext.minimum_version.__get__(self)  # type: ignore[attr-defined,no-any-return]

    @minimum_version.setter
    def minimum_version(self, value: ssl.TLSVersion) -> None:
        if value < MINIMUM_VERSION:
            raise TLSPolicyError(
                "Exchange connections use TLS 1.2 or newer; "
                f"{getattr(value, 'name', value)} is refused."
            )
        ssl.SSLContext.minimum_version.__set__(self, value)  # type: ignore[attr-defined]

    def wrap_socket(
        self,
        sock: Any,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        tls = super().wrap_socket(
            sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            session=session,
        )
        if self._pins:
            if not do_handshake_on_connect:
                tls.do_handshake()
            self._check_pin(tls, server_hostname)
        return tls

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        if self._pins:
            raise TLSPolicyError(
                "Public-key pins are checked on blocking connections only; this client runs TLS "
                "in an event loop. Use the synchronous client, or remove the pins."
            )
        return super().wrap_bio(*args, **kwargs)

    def _check_pin(self, tls: ssl.SSLSocket, server_hostname: str | bytes | None) -> None:
        certificate = tls.getpeercert(binary_form=True)
        seen = spki_pin(certificate) if certificate else "no certificate"
        if seen in self._pins:
            return
        tls.close()
        host = server_hostname.decode() if isinstance(server_hostname, bytes) else server_hostname
        raise PinMismatch(
            f"The public key of {host or 'the server'} ({seen}) matches none of the "
            f"{len(self._pins)} pinned key(s); if the exchange rotated its key, add its new pin "
            "to the connection's tls_pins field."
        )


def client_context(pins: Iterable[str] = (), cafile: str | None = None) -> PolicyContext:
    """A client context under the policy, trusting the system's CAs (and ``cafile``'s).

    ``pins`` are normalised with :func:`parse_pins`'s rules by the caller; an empty set checks
    the chain and the host name only.
    """
    context = PolicyContext(pins)
    context.minimum_version = MINIMUM_VERSION
    context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if cafile is not None:
        context.load_verify_locations(cafile=cafile)
    return context


def pool_manager(
    pins: Iterable[str] = (), cafile: str | None = None, **kwargs: Any
) -> Any:  # urllib3 ships no stable public type for a pool manager across its versions
    """A ``urllib3.PoolManager`` whose HTTPS connections use :func:`client_context`: for a
    client built on urllib3 (OpenAPI-generated exchange SDKs) whose pool can be replaced.

    ``urllib3`` is imported here only: the kinds package does not depend on it.
    """
    import urllib3

    return urllib3.PoolManager(
        ssl_context=client_context(pins, cafile=cafile), cert_reqs="CERT_REQUIRED", **kwargs
    )
