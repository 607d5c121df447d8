"""What the kernel broker refuses, as classes :mod:`.errors` maps to a status and a reason.

The vault's own errors (locked, wrong password, throttled, unknown connection) pass through
unchanged and keep the statuses of :mod:`.errors`; these are the refusals only the broker makes.
Messages never carry a secret, a token or a password.
"""

from __future__ import annotations


class KernelBrokerError(Exception):
    """Base class of the broker's refusals."""


class KernelTokenInvalid(KernelBrokerError):
    """The request did not carry the token of a kernel this server started and still runs."""

    def __init__(self) -> None:
        super().__init__(
            "This route answers kernels started by this Jupyter server only, identified by the "
            "kernel token in their environment. If the kernel outlived a server restart or was "
            "started elsewhere, restart it from JupyterLab."
        )


class NotLoopback(KernelBrokerError):
    def __init__(self) -> None:
        super().__init__(
            "The kernel broker only answers requests from this machine (a loopback address)."
        )


class NotGranted(KernelBrokerError):
    """The connection is not granted to this kernel (or does not exist: the two look alike,
    so kernel code cannot probe which names the vault holds)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"Connection {name!r} is not granted to this notebook. Run `%wd connect {name}` in "
            "a cell (it asks for your vault password), or turn on notebook access for it in the "
            "WatchDog Lab sidebar; then call wd.connection() again."
        )


class VaultLockedForKernel(KernelBrokerError):
    """The vault is locked: granted connections wait for the next unlock (grants are kept)."""

    def __init__(self) -> None:
        super().__init__(
            "The vault is locked. Unlock it in the WatchDog Lab sidebar, then call "
            "wd.connection() again; this notebook's grants are kept while it is locked."
        )


class KernelNotFound(KernelBrokerError):
    def __init__(self, kernel_id: str) -> None:
        super().__init__(
            f"No running kernel {kernel_id} was started by this Jupyter server; it may have "
            "been shut down. Reload the notebook's kernel information and try again."
        )


class GrantNotFound(KernelBrokerError):
    def __init__(self, connection: str) -> None:
        super().__init__(f"Connection {connection!r} is not granted to this kernel.")


class NoNotebook(KernelBrokerError):
    """``remember`` asked of a kernel that belongs to no notebook session."""

    def __init__(self, kernel_id: str) -> None:
        super().__init__(
            f"Kernel {kernel_id} belongs to no notebook, so there is no notebook to remember "
            "this grant for. Grant it without 'remember', or open the notebook first."
        )


class NoNotebookToPromote(NoNotebook):
    """``%wd promote`` in a kernel that belongs to no notebook session."""

    def __init__(self, kernel_id: str) -> None:
        KernelBrokerError.__init__(
            self,
            f"Kernel {kernel_id} belongs to no notebook, so there is nothing to promote. Run "
            "%wd promote in a notebook opened in JupyterLab (a console has no notebook), or "
            "promote a saved notebook with: watchdog-lab bots promote PATH",
        )


class PasswordMissing(KernelBrokerError):
    """A grant asked for without the vault password: kernel code can use the Jupyter token,
    so only the password, typed for this request, shows that the user asked."""

    def __init__(self, action: str) -> None:
        super().__init__(
            f"{action} needs the vault password in the request ('password'): code running in a "
            "kernel can use the Jupyter token, so only the password shows it is you."
        )
