"""Request and response models of AI Fix, shared by every face (REST, CLI, magics).

A :class:`FailingCell` is what a face knows about a failure; :class:`DescribeFixPayload` is
exactly what would leave, shown before it goes; :class:`CreateFix` names that payload's
SHA-256, so what is sent is what was shown; :class:`DescribeFix` is the reviewed answer.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from .errors import NoFix

#: The longest cell, error or traceback a face may hand over (characters): far above what is
#: sent (the payload cap applies after cutting), low enough that parsing stays cheap.
MAX_INPUT_CHARS = 4 * 1024 * 1024
MAX_TRACEBACK_ENTRIES = 100_000
MAX_PACKAGES = 10_000
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FixTarget(str, Enum):
    """Where the failing cell lives: decides how a fix is applied, and what the audit names."""

    NOTEBOOK = "notebook"
    BOT = "bot"

    def __str__(self) -> str:
        return self.value


class CellError(_Strict):
    """A cell's source and the error it raised: what every face receives of a failing cell
    (the REST routes and the kernel broker extend it with what only they know)."""

    source: str = Field(max_length=MAX_INPUT_CHARS)
    ename: str = Field(max_length=MAX_INPUT_CHARS)
    evalue: str = Field("", max_length=MAX_INPUT_CHARS)
    traceback: list[str] = Field(default_factory=list, max_length=MAX_TRACEBACK_ENTRIES)
    language: str = Field("python", max_length=64)
    language_version: str = Field("", max_length=64)

    def notebook_cell(
        self, name: str, *, versions: dict[str, str], cell_index: int | None = None
    ) -> FailingCell:
        """This cell as a notebook's failing cell: ``name`` (the notebook, for the audit) and
        the package ``versions`` come from the server, never from whoever reported the cell."""
        return FailingCell(
            **self.model_dump(include=set(CellError.model_fields)),
            versions=versions,
            target=FixTarget.NOTEBOOK,
            name=name,
            cell_index=cell_index,
        )


class FailingCell(CellError):
    """A cell that raised, as the face saw it. Only ``source``, the error, the language and
    the versions of what the cell imports are ever sent; ``target``, ``name`` and
    ``cell_index`` are for the audit and for applying the fix."""

    # Import name -> version, as the caller knows them (the bot's venv, the kernel's report);
    # only the modules the cell imports are sent.
    versions: dict[str, str] = Field(default_factory=dict, max_length=MAX_PACKAGES)
    target: FixTarget = FixTarget.NOTEBOOK
    name: str = Field("", max_length=4096, description="notebook path or bot name")
    cell_index: int | None = Field(None, ge=0)


class DescribeFixPayload(_Strict):
    """The exact request body AI Fix would send, and its SHA-256 (hex, over those bytes)."""

    body: str = Field(description="the exact JSON text sent as the Messages API request body")
    sha256: str = Field(pattern=SHA256_PATTERN)
    size: int = Field(description="bytes of the body (UTF-8)")
    model: str
    redactions: int = Field(description="secrets replaced by [REDACTED:...] markers")
    traceback_cut: bool = Field(description="whether the middle of the traceback was left out")


class CreateFix(_Strict):
    """Send the payload the user saw: its SHA-256 must match the one rebuilt now."""

    cell: FailingCell
    sha256: str = Field(pattern=SHA256_PATTERN)
    connection: str | None = Field(
        None, description="the anthropic connection to use; default: the only one"
    )


class FixOutcome(str, Enum):
    FIXED = "fixed"
    NO_FIX = "no_fix"

    def __str__(self) -> str:
        return self.value


class DescribeFix(_Strict):
    """The model's proposal, to review: a unified diff of the cell and the explanation."""

    outcome: FixOutcome
    explanation: str
    fixed_source: str | None = None
    diff: str = ""
    no_fix_reason: str | None = None
    source_redacted: bool = Field(
        False,
        description="the cell held a secret, sent (and so diffed and proposed) as a "
        "[REDACTED:...] marker: applying the fix puts the marker in its place",
    )
    sha256: str = Field(pattern=SHA256_PATTERN, description="the payload that was sent")
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None

    def require_fix(self) -> str:
        """The fixed source, or :class:`~.errors.NoFix` for a face that cannot show 'no fix'."""
        if self.outcome is not FixOutcome.FIXED or self.fixed_source is None:
            raise NoFix(self.no_fix_reason or "the model proposed no change", self.explanation)
        return self.fixed_source
