"""The primitives against public vectors, and the rules the library itself does not enforce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from argon2.low_level import Type, hash_secret_raw

from watchdog_lab.vault.crypto import (
    Aead,
    CryptoError,
    DecryptionFailed,
    KdfParams,
    aad,
    derive_key,
    unwrap_key,
    wrap_key,
)

VECTORS = json.loads((Path(__file__).parent / "data/wycheproof/aes_gcm_test.json").read_text())


def _cases(iv_bits: int | None) -> list[dict]:
    out = []
    for group in VECTORS["testGroups"]:
        if group["keySize"] != 256:
            continue
        if (iv_bits is None and group["ivSize"] != 96) or (iv_bits == 96 and group["ivSize"] == 96):
            out.extend(group["tests"])
    return out


@pytest.mark.parametrize("case", _cases(96), ids=lambda c: f"tc{c['tcId']}")
def test_wycheproof_256_bit_key_96_bit_iv(case: dict) -> None:
    key, iv, ad = (bytes.fromhex(case[k]) for k in ("key", "iv", "aad"))
    msg, ct, tag = (bytes.fromhex(case[k]) for k in ("msg", "ct", "tag"))
    aead = Aead(key)
    if case["result"] == "valid":
        assert aead.seal(iv, msg, ad) == ct + tag
        assert aead.open(iv, ct + tag, ad) == msg
    else:
        with pytest.raises(DecryptionFailed):
            aead.open(iv, ct + tag, ad)


@pytest.mark.parametrize("case", _cases(None), ids=lambda c: f"tc{c['tcId']}")
def test_wycheproof_iv_that_is_not_96_bits_is_refused(case: dict) -> None:
    aead = Aead(bytes.fromhex(case["key"]))
    iv = bytes.fromhex(case["iv"])
    with pytest.raises(CryptoError, match="exactly 12 bytes"):
        aead.seal(iv, bytes.fromhex(case["msg"]), bytes.fromhex(case["aad"]))
    with pytest.raises(CryptoError, match="exactly 12 bytes"):
        aead.open(iv, bytes.fromhex(case["ct"] + case["tag"]), bytes.fromhex(case["aad"]))


def test_encrypt_uses_a_fresh_12_byte_nonce_each_time() -> None:
    aead = Aead(bytes(32))
    a, b = aead.encrypt(b"value", b"ad"), aead.encrypt(b"value", b"ad")
    assert a[:12] != b[:12]
    assert len(a) == 12 + len(b"value") + 16
    assert aead.decrypt(a, b"ad") == b"value"


def test_decrypt_with_other_associated_data_fails() -> None:
    aead = Aead(bytes(32))
    blob = aead.encrypt(b"value", aad("conn-1", "secret"))
    with pytest.raises(DecryptionFailed):
        aead.decrypt(blob, aad("conn-1", "api_key"))


def test_aad_parts_are_unambiguous() -> None:
    assert aad("ab", "c") != aad("a", "bc")
    assert aad(1, "x") != aad("1x")


def test_argon2id_reference_vector() -> None:
    out = hash_secret_raw(b"password", b"somesalt", 2, 65536, 1, 32, Type.ID)
    assert out.hex() == "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"


def test_derive_key_is_the_argon2id_vector_for_the_same_parameters() -> None:
    key = derive_key("password", b"somesalt" * 2, KdfParams(2, 65536, 1))
    expected = hash_secret_raw(b"password", b"somesalt" * 2, 2, 65536, 1, 32, Type.ID)
    assert bytes(key) == expected and isinstance(key, bytearray)


def test_rfc9106_argon2id_vector() -> None:
    from argon2.low_level import ARGON2_VERSION, core, ffi, lib

    # RFC 9106 section 5.3: password 32 x 0x01, salt 16 x 0x02, secret 8 x 0x03, AD 12 x 0x04.
    pwd, salt, secret, ad = b"\x01" * 32, b"\x02" * 16, b"\x03" * 8, b"\x04" * 12
    out = ffi.new("uint8_t[]", 32)
    ctx = ffi.new(
        "argon2_context *",
        {
            "out": out, "outlen": 32,
            "pwd": ffi.from_buffer(pwd), "pwdlen": len(pwd),
            "salt": ffi.from_buffer(salt), "saltlen": len(salt),
            "secret": ffi.from_buffer(secret), "secretlen": len(secret),
            "ad": ffi.from_buffer(ad), "adlen": len(ad),
            "t_cost": 3, "m_cost": 32, "lanes": 4, "threads": 4,
            "version": ARGON2_VERSION,
            "allocate_cbk": ffi.NULL, "free_cbk": ffi.NULL, "flags": lib.ARGON2_DEFAULT_FLAGS,
        },
    )  # fmt: skip
    assert core(ctx, Type.ID.value) == lib.ARGON2_OK
    assert bytes(ffi.buffer(out, 32)).hex() == (
        "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
    )


def test_password_is_unicode_normalised_before_derivation() -> None:
    params = KdfParams(1, 8192, 1)
    composed, decomposed = "caf\u00e9 password", "cafe\u0301 password"
    assert derive_key(composed, b"s" * 16, params) == derive_key(decomposed, b"s" * 16, params)


@pytest.mark.parametrize(
    "params",
    [
        KdfParams(0, 65536, 1),
        KdfParams(17, 65536, 1),
        KdfParams(3, 2 * 1024 * 1024, 4),
        KdfParams(3, 16, 4),
        KdfParams(3, 65536, 0),
        KdfParams(3, 65536, 64),
    ],
)
def test_kdf_parameters_out_of_bounds_are_refused_before_any_work(params: KdfParams) -> None:
    with pytest.raises(CryptoError):
        derive_key("password", b"s" * 16, params)


def test_kdf_parameters_round_trip_through_json() -> None:
    params = KdfParams(4, 128 * 1024, 2)
    assert KdfParams.from_json(params.to_json()) == params


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "{}",
        '{"alg": "scrypt", "time_cost": 3, "memory_kib": 65536, "parallelism": 4}',
        '{"alg": "argon2id", "time_cost": "3", "memory_kib": 65536, "parallelism": 4}',
        '{"alg": "argon2id", "time_cost": 3, "memory_kib": 65536, "parallelism": 4, "x": 1}',
    ],
)
def test_unreadable_kdf_parameters_are_refused(text: str) -> None:
    with pytest.raises(CryptoError):
        KdfParams.from_json(text)


def test_key_wrap_round_trip_and_binding() -> None:
    kek, dek = bytes(range(32)), bytearray(b"k" * 32)
    wrapped = wrap_key(kek, dek, b"header-1")
    assert unwrap_key(kek, wrapped, b"header-1") == dek
    with pytest.raises(DecryptionFailed):
        unwrap_key(kek, wrapped, b"header-2")
    with pytest.raises(DecryptionFailed):
        unwrap_key(bytes(32), wrapped, b"header-1")
