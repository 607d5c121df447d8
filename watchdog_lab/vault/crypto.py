"""The vault's cryptography: Argon2id key derivation, AES-256-GCM, key wrapping, keyed indexes,
and sealing to an X25519 public key (so a process without the data key can still write what
only the key's holder reads).

Kept free of storage concerns so the primitives can be checked against public test vectors on
their own. Two rules the underlying library does not enforce and this module does: nonces are
exactly 96 bits, and Argon2 parameters read from disk are bounded before any work is done (a
tampered header must not be able to make an unlock hang or exhaust memory).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import unicodedata
from dataclasses import asdict, dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT_VERSION = 1
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
SALT_SIZE = 16
X25519_KEY_SIZE = 32
SEAL_INFO = b"watchdog-lab/v1/sealed-box"

# Upper bounds on parameters read back from a vault header. They sit far above any sensible
# setting (64 MiB / t=3 is the default) but low enough that a forged header cannot stall unlock.
MAX_TIME_COST = 16
MAX_MEMORY_KIB = 1024 * 1024
MAX_PARALLELISM = 16
MIN_MEMORY_KIB_PER_LANE = 8


class CryptoError(Exception):
    """A primitive refused its input; callers translate it into a vault error."""


class DecryptionFailed(CryptoError):
    """Authentication failed: wrong key, wrong associated data, or altered bytes."""


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. The default is RFC 9106's second recommendation (t=3, 64 MiB, p=4)."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4

    def check(self) -> None:
        """Refuse parameters outside the bounds this version will ever run."""
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise CryptoError(f"KDF parameter {name} must be an integer")
        if not 1 <= self.time_cost <= MAX_TIME_COST:
            raise CryptoError(f"KDF time_cost {self.time_cost} outside 1..{MAX_TIME_COST}")
        if not 1 <= self.parallelism <= MAX_PARALLELISM:
            raise CryptoError(f"KDF parallelism {self.parallelism} outside 1..{MAX_PARALLELISM}")
        low = MIN_MEMORY_KIB_PER_LANE * self.parallelism
        if not low <= self.memory_kib <= MAX_MEMORY_KIB:
            raise CryptoError(f"KDF memory_kib {self.memory_kib} outside {low}..{MAX_MEMORY_KIB}")

    def to_json(self) -> str:
        return json.dumps({"alg": "argon2id", **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> KdfParams:
        try:
            raw = json.loads(text)
            if raw.pop("alg") != "argon2id" or set(raw) != {
                "time_cost",
                "memory_kib",
                "parallelism",
            }:
                raise ValueError
            params = cls(**raw)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CryptoError("KDF parameters are unreadable") from exc
        params.check()
        return params


def normalize_password(password: str) -> bytes:
    """NFC-normalise so the same password typed on different systems derives the same key."""
    return unicodedata.normalize("NFC", password).encode("utf-8")


def derive_key(password: str, salt: bytes, params: KdfParams) -> bytearray:
    """Argon2id(password, salt) -> 32-byte key-encryption key (a bytearray, so it can be wiped)."""
    params.check()
    if len(salt) != SALT_SIZE:
        raise CryptoError(f"salt must be {SALT_SIZE} bytes")
    return bytearray(
        hash_secret_raw(
            normalize_password(password),
            salt,
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=KEY_SIZE,
            type=Type.ID,
        )
    )


def aad(*parts: str | bytes | int) -> bytes:
    """Unambiguous associated data: each part length-prefixed, so ("ab","c") != ("a","bc")."""
    out = bytearray(b"WDL")
    for part in parts:
        if isinstance(part, int):
            data = str(part).encode()
        elif isinstance(part, str):
            data = part.encode("utf-8")
        else:
            data = bytes(part)
        out += len(data).to_bytes(4, "big") + data
    return bytes(out)


class Aead:
    """AES-256-GCM with exactly 96-bit random nonces; blobs are ``nonce || ciphertext || tag``."""

    def __init__(self, key: bytes | bytearray) -> None:
        if len(key) != KEY_SIZE:
            raise CryptoError("AES-256-GCM needs a 32-byte key")
        self._gcm = AESGCM(bytes(key))

    def encrypt(self, plaintext: bytes, associated: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self.seal(nonce, plaintext, associated)

    def decrypt(self, blob: bytes, associated: bytes) -> bytes:
        if len(blob) < NONCE_SIZE + TAG_SIZE:
            raise DecryptionFailed("ciphertext too short")
        return self.open(blob[:NONCE_SIZE], blob[NONCE_SIZE:], associated)

    def seal(self, nonce: bytes, plaintext: bytes, associated: bytes) -> bytes:
        _check_nonce(nonce)
        return self._gcm.encrypt(nonce, plaintext, associated)

    def open(self, nonce: bytes, ciphertext_and_tag: bytes, associated: bytes) -> bytes:
        _check_nonce(nonce)
        try:
            return self._gcm.decrypt(nonce, ciphertext_and_tag, associated)
        except InvalidTag as exc:
            raise DecryptionFailed("authentication failed") from exc


def _check_nonce(nonce: bytes) -> None:
    if len(nonce) != NONCE_SIZE:
        raise CryptoError(f"nonce must be exactly {NONCE_SIZE} bytes, got {len(nonce)}")


def wrap_key(kek: bytes | bytearray, dek: bytes | bytearray, associated: bytes) -> bytes:
    return Aead(kek).encrypt(bytes(dek), associated)


def unwrap_key(kek: bytes | bytearray, wrapped: bytes, associated: bytes) -> bytearray:
    dek = bytearray(Aead(kek).decrypt(wrapped, associated))
    if len(dek) != KEY_SIZE:
        raise DecryptionFailed("unwrapped key has the wrong size")
    return dek


def subkey(dek: bytes | bytearray, purpose: str) -> bytes:
    """A key for one purpose (name index, header MAC), so no key is used for two jobs."""
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=purpose.encode()
    ).derive(bytes(dek))


def keyed_digest(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def new_seal_keypair() -> tuple[bytearray, bytes]:
    """A fresh X25519 pair: (private key, wipeable; public key)."""
    private = X25519PrivateKey.generate()
    return bytearray(private.private_bytes_raw()), private.public_key().public_bytes_raw()


def seal_public_key(private: bytes | bytearray) -> bytes:
    """The public half of a raw X25519 private key (to check a stored public key against)."""
    return X25519PrivateKey.from_private_bytes(bytes(private)).public_key().public_bytes_raw()


def _sealing_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    # Both public keys in the salt bind the AES key to this exchange: a sealed box cannot be
    # replayed under another recipient key or another ephemeral key.
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=ephemeral + recipient, info=SEAL_INFO
    ).derive(shared)


def seal(recipient: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """Encrypt to ``recipient`` (an X25519 public key) without holding any secret.

    ECIES: an ephemeral X25519 key agrees a secret with the recipient, HKDF-SHA256 turns it into
    an AES-256-GCM key. Blob: ``ephemeral public key || nonce || ciphertext || tag``.
    """
    try:
        peer = X25519PublicKey.from_public_bytes(recipient)
    except ValueError as exc:
        raise CryptoError("the recipient key is not an X25519 public key") from exc
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(peer)
    except ValueError as exc:  # a low-order point: the "shared" secret would be all zeros
        raise CryptoError("the recipient key is not a usable X25519 public key") from exc
    key = _sealing_key(shared, ephemeral_public, recipient)
    return ephemeral_public + Aead(key).encrypt(plaintext, associated)


def open_sealed(private: bytes | bytearray, blob: bytes, associated: bytes) -> bytes:
    """Decrypt a :func:`seal` blob with the recipient's private key."""
    if len(blob) < X25519_KEY_SIZE + NONCE_SIZE + TAG_SIZE:
        raise DecryptionFailed("sealed blob too short")
    key_pair = X25519PrivateKey.from_private_bytes(bytes(private))
    ephemeral = blob[:X25519_KEY_SIZE]
    try:
        shared = key_pair.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    except ValueError as exc:
        raise DecryptionFailed("the ephemeral key is not usable") from exc
    key = _sealing_key(shared, ephemeral, key_pair.public_key().public_bytes_raw())
    return Aead(key).decrypt(blob[X25519_KEY_SIZE:], associated)


def wipe(buffer: bytearray | None) -> None:
    """Overwrite key material we own before dropping it."""
    if buffer is not None:
        for i in range(len(buffer)):
            buffer[i] = 0
