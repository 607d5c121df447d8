"""Request authentication as Kalshi does it: a known key id, a fresh timestamp, a PSS signature.

The signed message is ``timestamp_ms + METHOD + path`` (the path without its query), signed
with RSA-PSS, SHA-256, MGF1-SHA-256 and a salt as long as the digest. The simulator knows only
public keys: those registered with ``POST /api_keys`` or given with ``--public-key``, so a
client's private key never has to leave the vault to be tested against it.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from ..kinds.kalshi import HEADER_KEY, HEADER_SIGNATURE, HEADER_TIMESTAMP
from .errors import AuthError, BadRequest

# How far a request's timestamp may be from the simulator's clock, either way. Kalshi refuses
# stale signatures so that a captured request cannot be replayed later.
TIMESTAMP_WINDOW_MS: Final = 10_000
MAX_PUBLIC_KEY_CHARS: Final = 16_384
MIN_KEY_BITS: Final = 2048


def load_public_key(pem: str) -> Any:
    """An RSA public key from PEM (SubjectPublicKeyInfo or PKCS#1), or :class:`BadRequest`."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if not isinstance(pem, str) or len(pem) > MAX_PUBLIC_KEY_CHARS:
        raise BadRequest("public_key must be a PEM public key")
    if "PRIVATE KEY" in pem:
        raise BadRequest("public_key is a private key: give only the public half")
    try:
        key = load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadRequest("public_key must be an RSA public key in PEM")
    if key.key_size < MIN_KEY_BITS:
        raise BadRequest(f"public_key must be at least {MIN_KEY_BITS} bits")
    return key


class KeyRegistry:
    """The public keys the simulator accepts, by key id; each key trades for its own account."""

    def __init__(
        self,
        new_id: Callable[[], str],
        window_ms: int = TIMESTAMP_WINDOW_MS,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self._keys: dict[str, Any] = {}
        self._names: dict[str, str] = {}
        self._new_id = new_id
        self.window_ms = window_ms
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))

    def register(self, pem: str, name: str = "", key_id: str | None = None) -> str:
        """Accept a public key; returns its key id (a new one unless ``key_id`` is given)."""
        key = load_public_key(pem)
        chosen = key_id or self._new_id()
        self._keys[chosen] = key
        self._names[chosen] = name
        return chosen

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def listed(self) -> list[dict[str, str]]:
        return [{"api_key_id": k, "name": self._names[k]} for k in sorted(self._keys)]

    def verify(self, method: str, path: str, headers: Mapping[str, str]) -> str:
        """The key id that signed this request, or :class:`AuthError` saying what is wrong."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        key_id = headers.get(HEADER_KEY)
        stamp = headers.get(HEADER_TIMESTAMP)
        signature = headers.get(HEADER_SIGNATURE)
        if not key_id or not stamp or not signature:
            raise AuthError(
                f"missing {HEADER_KEY}, {HEADER_TIMESTAMP} or {HEADER_SIGNATURE} header"
            )
        key = self._keys.get(key_id)
        if key is None:
            raise AuthError("unknown API key id")
        if not stamp.isdigit():
            raise AuthError(f"{HEADER_TIMESTAMP} must be milliseconds since the epoch")
        if abs(self._clock_ms() - int(stamp)) > self.window_ms:
            raise AuthError(
                f"{HEADER_TIMESTAMP} is more than {self.window_ms} ms from the server's clock"
            )
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise AuthError("signature is not base64") from None
        message = f"{stamp}{method.upper()}{path.split('?', 1)[0]}".encode()
        try:
            key.verify(
                raw,
                message,
                padding.PSS(
                    mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH
                ),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise AuthError("signature does not verify") from None
        return key_id
