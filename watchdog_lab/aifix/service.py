"""``AIFix``: the core every face calls to preview, send and read an AI fix of a failing cell.

The flow a face follows: :meth:`AIFix.preview` shows the exact body and its SHA-256; the user
approves; :meth:`AIFix.send` rebuilds the body and sends it only if its hash is the approved
one (a cell, a vault value or a setting changed in between means the user did not see what
would go). Every send is audited in the vault: time, notebook or bot, the payload's hash,
model, token counts and outcome, never the payload or the reply; the server log gets one line
with the hash and the outcome.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Iterable

from ..redact import Redactor
from ..vault import ConnectionNotFound, Vault
from ..vault import VaultLocked as VaultIsLocked
from ..vault.audit import Event
from ..vault.models import ConnectionSecrets
from .client import MessagesClient, Reply, parses
from .diff import same_code, unified_diff
from .errors import AIFixError, AmbiguousConnection, NoConnection, PayloadChanged, VaultLocked
from .models import CreateFix, DescribeFix, DescribeFixPayload, FailingCell, FixOutcome
from .options import FixSettings
from .payload import Payload, build_payload
from .tracetext import Chained, TextRedactor

__all__ = ["ANTHROPIC_KIND", "AIFix"]

ANTHROPIC_KIND = "anthropic"
API_KEY_FIELD = "api_key"

log = logging.getLogger(__name__)


class AIFix:
    """Previews and sends AI fixes for one vault, with one set of settings.

    Thread-safe: a server calls it from worker threads. Its redactor knows every secret
    value of the vault (every connection, granted or not) and is rebuilt whenever those
    values change.
    """

    def __init__(
        self,
        vault: Vault,
        settings: FixSettings | None = None,
        *,
        remembered: Redactor | None = None,
    ) -> None:
        """``remembered``: a redactor applied after the vault's (the server's, which still knows
        the values of deleted connections), so that a preview shown through it is the body sent."""
        self.vault = vault
        self._remembered = remembered
        self.settings = settings or FixSettings()
        self._lock = threading.Lock()
        self._redactor: tuple[bytes, Redactor] | None = None
        self._messages = MessagesClient(self.settings)

    # ------------------------------------------------------------------ the faces' calls

    def preview(self, cell: FailingCell) -> DescribeFixPayload:
        """The exact body that :meth:`send` would send for ``cell``, and its SHA-256."""
        return self._payload(cell).describe()

    def send(self, cell: FailingCell, *, sha256: str, connection: str | None = None) -> DescribeFix:
        """Send the payload of ``cell`` if its SHA-256 is ``sha256``, and return the proposal.

        ``connection`` names the ``anthropic`` connection (default: the only one). Raises an
        :class:`~.errors.AIFixError`; a reply that changes nothing or does not parse is a
        :class:`DescribeFix` with ``outcome`` ``no_fix``, not an error.
        """
        redactor = self._current_redactor()
        payload = self._payload(cell, redactor)
        if not hmac.compare_digest(payload.sha256.encode(), sha256.strip().lower().encode()):
            self._audit(cell, payload, None, PayloadChanged.outcome)
            raise PayloadChanged
        secrets = self._anthropic(connection)
        try:
            reply = self._messages.ask(
                payload.body, api_key=secrets.fields.get(API_KEY_FIELD, ""), connection=secrets.name
            )
        except AIFixError as exc:
            self._audit(cell, payload, secrets, exc.outcome)
            raise
        result = self._judge(cell, payload, reply, redactor)
        self._audit(cell, payload, secrets, result.outcome.value, reply)
        return result

    def create(self, request: CreateFix) -> DescribeFix:
        """:meth:`send` for a face that parsed a :class:`CreateFix`."""
        return self.send(request.cell, sha256=request.sha256, connection=request.connection)

    def close(self) -> None:
        """Close the HTTP connections kept for the API (the server calls this at stop)."""
        self._messages.close()

    def connections(self) -> list[str]:
        """Names of the vault's ``anthropic`` connections (names are not secret)."""
        try:
            listed = self.vault.list_connections()
        except VaultIsLocked:
            raise VaultLocked from None
        return [c.name for c in listed if c.kind == ANTHROPIC_KIND and c.name is not None]

    # ------------------------------------------------------------------ the parts

    def _payload(self, cell: FailingCell, redactor: TextRedactor | None = None) -> Payload:
        return build_payload(
            cell,
            redactor or self._current_redactor(),
            model=self.settings.model,
            max_bytes=self.settings.max_payload_bytes,
        )

    def _current_redactor(self) -> TextRedactor:
        """A redactor that knows every secret value the vault holds right now.

        Rebuilt only when those values change (compiling one for a hundred connections costs
        far more than reading them); the fingerprint that tells is a hash kept in memory only.
        """
        try:
            secrets = sorted(self.vault.iter_secrets())
        except VaultIsLocked:
            raise VaultLocked from None
        fingerprint = _fingerprint(secrets)
        with self._lock:
            if self._redactor is None or not hmac.compare_digest(self._redactor[0], fingerprint):
                self._redactor = (fingerprint, Redactor(secrets))
            current = self._redactor[1]
        return current if self._remembered is None else Chained(current, self._remembered)

    def _anthropic(self, name: str | None) -> ConnectionSecrets:
        names = self.connections()
        if name is None:
            if not names:
                raise NoConnection
            if len(names) > 1:
                raise AmbiguousConnection(sorted(names))
            name = names[0]
        elif name not in names:
            raise NoConnection(name)
        try:
            return self.vault.get_connection(name)
        except VaultIsLocked:
            raise VaultLocked from None
        except ConnectionNotFound:
            raise NoConnection(name) from None

    def _judge(
        self, cell: FailingCell, payload: Payload, reply: Reply, redactor: TextRedactor
    ) -> DescribeFix:
        """The reply as a reviewed proposal; what the model wrote is redacted like the payload
        (it saw no secret, but nothing it says reaches a face unredacted)."""
        fixed = redactor.redact(reply.fixed_source)
        explanation = redactor.redact(reply.explanation)
        common = {
            "explanation": explanation,
            "sha256": payload.sha256,
            "model": payload.model,
            "input_tokens": reply.input_tokens,
            "output_tokens": reply.output_tokens,
            "source_redacted": payload.sent_source != cell.source,
        }
        reason = None
        if same_code(payload.sent_source, fixed):
            reason = "the proposed cell is the same as the failing one"
        elif not parses(fixed, cell.language):
            reason = f"the proposed cell is not valid {cell.language}"
        if reason is not None:
            return DescribeFix(outcome=FixOutcome.NO_FIX, no_fix_reason=reason, **common)
        return DescribeFix(
            outcome=FixOutcome.FIXED,
            fixed_source=fixed,
            diff=unified_diff(payload.sent_source, fixed),
            **common,
        )

    def _audit(
        self,
        cell: FailingCell,
        payload: Payload,
        secrets: ConnectionSecrets | None,
        outcome: str,
        reply: Reply | None = None,
    ) -> None:
        detail: dict[str, object] = {
            "target": cell.target.value,
            "name": cell.name,
            "cell_index": cell.cell_index,
            "sha256": payload.sha256,
            "bytes": len(payload.body),
            "model": payload.model,
            "connection": secrets.name if secrets else None,
            "input_tokens": reply.input_tokens if reply else None,
            "output_tokens": reply.output_tokens if reply else None,
            "outcome": outcome,
        }
        self.vault.record_event(
            Event.AI_FIX_REQUESTED, subject=secrets.id if secrets else None, detail=detail
        )
        log.info(
            "AI Fix request %s (%d bytes, %s): %s",
            payload.sha256[:16],
            len(payload.body),
            payload.model,
            outcome,
        )


def _fingerprint(secrets: Iterable[tuple[str, str, str]]) -> bytes:
    digest = hashlib.sha256()
    for triple in secrets:
        for part in triple:
            encoded = part.encode("utf-8", "surrogatepass")
            digest.update(len(encoded).to_bytes(8, "big"))
            digest.update(encoded)
    return digest.digest()
