"""The Kalshi kind on its own: the key check the vault relies on, the helpers' own errors."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from watchdog_lab.kinds import CredentialsError, InvalidFields, resolve_kind
from watchdog_lab.kinds.kalshi import KIND, base_url, sign_request

from .. import support

KEY_ID = "a95b1c2d-7e3f-4a11-9c2b-3d4e5f6a7b8c"


class Fields(dict):
    """Just what helpers may use of a connection (the Credentials protocol), nothing more."""

    name = "K"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self)

    def _cached(self, key: str, build):  # type: ignore[no-untyped-def]
        return build()


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    return support.rsa_pem()


def test_the_key_is_stored_with_unix_line_ends_and_one_final_newline(rsa_pem: str) -> None:
    pasted = "\r\n".join(rsa_pem.strip().splitlines()) + "\r\n\r\n"
    fields = KIND.validate({"api_key_id": KEY_ID, "private_key_pem": pasted})
    assert fields["private_key_pem"] == rsa_pem.strip() + "\n"
    assert fields["environment"] == "demo"


def test_a_key_that_is_not_pem_is_refused_without_quoting_it() -> None:
    with pytest.raises(InvalidFields, match="not an unencrypted PEM private key") as caught:
        KIND.validate({"api_key_id": KEY_ID, "private_key_pem": "s3cr3t-not-a-key"})
    assert "s3cr3t" not in str(caught.value)


def test_a_key_of_another_algorithm_is_refused() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(InvalidFields, match="must be an RSA private key"):
        KIND.validate({"api_key_id": KEY_ID, "private_key_pem": pem})


def test_the_registry_serves_this_module() -> None:
    assert resolve_kind("kalshi") is KIND
    assert KIND.visibility("environment") == "public" and KIND.visibility("api_key_id") == "hint"


def test_helpers_report_unusable_fields_as_credentials_errors(rsa_pem: str) -> None:
    with pytest.raises(CredentialsError, match="no 'environment' field"):
        base_url(Fields(api_key_id=KEY_ID))  # type: ignore[arg-type]
    with pytest.raises(CredentialsError, match="no 'api_key_id' field"):
        sign_request(Fields(private_key_pem=rsa_pem), "GET", "/x")  # type: ignore[arg-type]
