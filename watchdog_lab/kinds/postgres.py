"""PostgreSQL: a database that vault sync writes ciphertext to (a Supabase project is one).

The connection string carries the database password, so it is a secret field like an exchange
key: it is typed at a hidden prompt or read from JSON, never from argv. ``owner`` is the uuid
the rows are filed under; the sync client sends it as the ``request.jwt.claim.sub`` setting so
that the row-level security policies (``owner = auth.uid()``) let it see its own rows only.
A connection made without one gets a fresh uuid here; a second home must be given the same.
"""

from __future__ import annotations

import re
import uuid

from .base import FieldSpec, KindSpec
from .errors import InvalidFields

# A URI (what Supabase's dashboard shows) or libpq's keyword=value form.
_URI_RE = re.compile(r"postgres(?:ql)?://", re.IGNORECASE)
_KEYWORD_RE = re.compile(r"[a-z_]+\s*=")


def _check(fields: dict[str, str]) -> dict[str, str]:
    dsn = fields.get("dsn", "").strip()
    # The value is never quoted back: it holds the database password.
    if not (_URI_RE.match(dsn) or _KEYWORD_RE.match(dsn)):
        raise InvalidFields(
            "Field 'dsn' must be a PostgreSQL connection string: postgresql://USER:PASSWORD@"
            "HOST:PORT/DATABASE, or libpq's 'host=... dbname=...' form."
        )
    owner = fields.get("owner", "").strip()
    if owner:
        try:
            owner = str(uuid.UUID(owner))
        except ValueError:
            raise InvalidFields(
                "Field 'owner' must be a uuid (leave it empty to have one made)."
            ) from None
    else:
        owner = str(uuid.uuid4())
    return {**fields, "dsn": dsn, "owner": owner}


KIND = KindSpec(
    "postgres",
    (
        FieldSpec(
            "dsn",
            "secret",
            description="connection string, postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
        ),
        FieldSpec(
            "owner",
            "public",
            required=False,
            description="uuid the synced rows belong to (empty: a new one)",
        ),
    ),
    description="PostgreSQL database for vault sync (ciphertext only; Supabase works)",
    check=_check,
)
