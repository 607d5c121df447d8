"""Request and response models of the kernel broker and of the kernel grant routes.

Kernel routes (authenticated by the kernel token) look a connection up, list, ask for and
withdraw grants; UI routes (authenticated by Jupyter) grant and revoke for a kernel and manage
the grants remembered per notebook. No response model carries a secret value: the one answer
that does (a looked-up connection) is written by the broker's handler in the SDK's wire format.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ..aifix.models import MAX_INPUT_CHARS, SHA256_PATTERN, CellError
from ..bots.models import PromoteBot
from ..vault.models import CreateConnection, VaultState
from .models import PromoteBotRequest, _Consented


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GrantSource(str, Enum):
    """How a grant came about: the user act that allowed it."""

    PASSWORD = "password"  # noqa: S105 - `%wd connect`, confirmed with the vault password
    UI = "ui"  # the sidebar's notebook access toggle
    NOTEBOOK = "notebook"  # remembered for the kernel's notebook, confirmed by password


class LookupConnection(_Request):
    """Kernel route: the connection ``name`` (case-insensitive), if granted to this kernel."""

    name: str = Field(min_length=1, max_length=256)


class CreatePasswordGrant(_Request):
    """Kernel route (``%wd connect``): the vault password is the user act behind the grant."""

    connection: str = Field(min_length=1, max_length=256)
    password: SecretStr


class CreateKernelGrant(_Request):
    """UI route: ``connection`` is a name or an id; ``remember`` keeps it for the notebook.

    ``password`` is required (the route answers ``password_required`` without it): the Jupyter
    token that authenticates the route is readable by kernel code. It is optional in the model
    only so that its absence gets that answer rather than a generic ``invalid_body``.
    """

    connection: str = Field(min_length=1, max_length=256)
    remember: bool = False
    password: SecretStr | None = None


class ConfirmRememberedGrants(_Request):
    """UI route: apply the grants remembered for the kernel's notebook, with the password.

    Remembered grants are never applied by themselves: the notebook path they are kept under
    is a session's, and kernel code can move its session to any path.
    """

    password: SecretStr | None = None


class KernelFailingCell(CellError):
    """Kernel route (``%wd fix``): the cell that last raised in this kernel, as it says.

    Kernel code may lie here; that only changes its own fix. What it may not choose is what
    the audit records (the broker names the kernel's notebook) or the package versions (the
    server reads them from its own environment), so neither is a field.
    """

    ename: str = Field(min_length=1, max_length=MAX_INPUT_CHARS)


class PreviewKernelFix(_Request):
    """Kernel route: the exact payload AI Fix would send for ``cell`` (no password: nothing
    leaves the server, and the payload is redacted with every value of the vault)."""

    cell: KernelFailingCell


class CreateKernelFix(_Request):
    """Kernel route: send the previewed payload (``sha256``) to the Messages API.

    The vault password is the user's act: sending a cell to a third party, and spending the
    Anthropic key, is as much a user's decision as a grant, and kernel code cannot type it.
    """

    cell: KernelFailingCell
    sha256: str = Field(pattern=SHA256_PATTERN)
    connection: str | None = Field(
        None, min_length=1, max_length=256, description="default: the only anthropic one"
    )
    password: SecretStr


class DescribeGrant(_Response):
    connection_id: str
    connection: str | None = Field(
        description="current name; null while the vault is locked and the name was never seen"
    )
    source: GrantSource
    granted_at: float
    remembered: bool = Field(description="also remembered for the kernel's notebook")


class DescribeSuggestedGrant(_Response):
    """A grant remembered for the kernel's notebook, not applied to this kernel (yet)."""

    connection_id: str
    connection: str | None = Field(description="current name; null while the vault is locked")


class ListKernelGrants(_Response):
    kernel_id: str
    path: str | None = Field(description="the notebook of the kernel's session, if any")
    vault: VaultState
    grants: list[DescribeGrant]
    suggested: list[DescribeSuggestedGrant] = Field(
        default_factory=list,
        description="remembered for the notebook, applied only when the user confirms them "
        "with the password (POST kernels/{kernel_id}/remembered-grants)",
    )


class DescribeRevoke(_Response):
    kernel_id: str
    connection_id: str
    connection: str | None
    forgotten: bool = Field(description="a grant remembered for the notebook was removed too")


class DescribeNotebookGrant(_Response):
    path: str
    connection_id: str
    connection: str | None = Field(description="current name; null while the vault is locked")
    created_at: float


class ListNotebookGrants(_Response):
    notebook_grants: list[DescribeNotebookGrant]


class DescribeForget(_Response):
    forgotten: int


# --- the kernel's view of the vault and the bots (``%wd``, ``wd.panel()``) ---------------------


class CreateKernelConnection(CreateConnection, _Consented):
    """Kernel route: add a connection. The password is needed from a kernel (see
    :mod:`.kernel_handlers`); optional in the model only so that its absence gets the
    ``password_required`` answer."""


class DeleteKernelBot(_Request):
    """Kernel route: delete a bot, confirmed by the vault password."""

    password: SecretStr | None = None


class CreateKernelPlan(_Request):
    """Kernel route: the promote plan of the kernel's own notebook, with the names the user
    allows despite the typosquat check."""

    allow_packages: list[str] = Field(default_factory=list, max_length=100)


class CreateKernelPromote(PromoteBotRequest):
    """Kernel route: promote the kernel's own notebook. ``notebook`` must be left out: the
    server reads it from the kernel's session, so kernel code cannot name another file."""

    notebook: str = Field(
        "", max_length=0, description="leave out: always the notebook of the kernel's session"
    )

    def for_notebook(self, notebook: str) -> PromoteBot:
        """The core request for ``notebook``, without the password."""
        return PromoteBot.model_validate(
            {**self.model_dump(exclude={"password", "notebook"}), "notebook": notebook}
        )
