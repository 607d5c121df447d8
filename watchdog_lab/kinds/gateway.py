"""Jupyter Enterprise Gateway: the auth token bots' runners present to a kernel gateway.

Whoever holds the token can start kernels on the gateway and connect to the channels of every
kernel it runs, other bots' included: it is a secret like an exchange key, so it lives in the
vault and reaches a bot's runner with the bot's other secrets, on its standard input. The
gateway's address is a setting (``c.WatchdogLab.gateway_url``), not a field: it is not secret,
and every bot of a home uses the same gateway. ``ca_pem`` adds a private certificate authority
to the system's trust store, for a gateway whose certificate a company CA signed.
"""

from __future__ import annotations

from .base import FieldSpec, KindSpec
from .errors import InvalidFields

_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
_PEM_END = "-----END CERTIFICATE-----"


def _check(fields: dict[str, str]) -> dict[str, str]:
    token = fields.get("token", "").strip()
    if not token or any(ch.isspace() for ch in token):
        # Never quoted back: it is the secret.
        raise InvalidFields(
            "Field 'token' must be the gateway's auth token (its EG_AUTH_TOKEN), one word "
            "without spaces."
        )
    ca = fields.get("ca_pem", "").strip()
    if ca and (_PEM_BEGIN not in ca or _PEM_END not in ca):
        raise InvalidFields(
            "Field 'ca_pem' must hold PEM certificates (-----BEGIN CERTIFICATE-----), for "
            "example @ca.pem at the prompt; leave it empty to trust the system's store only."
        )
    return {**fields, "token": token, **({"ca_pem": ca + "\n"} if ca else {})}


KIND = KindSpec(
    "gateway",
    (
        FieldSpec("token", "secret", description="the gateway's auth token (EG_AUTH_TOKEN)"),
        FieldSpec(
            "ca_pem",
            "public",
            required=False,
            description="PEM certificates of a private CA that signs the gateway's certificate",
            from_file=True,
        ),
    ),
    description="Jupyter Enterprise Gateway that runs bots' kernels (c.WatchdogLab.gateway_url)",
    check=_check,
)
