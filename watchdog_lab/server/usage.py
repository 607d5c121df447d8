"""Who may use each connection: the bots granted it, the running kernels granted it, and the
notebooks that remember a grant of it.

The answer holds names and paths only. Everything in it is already open to a holder of the
Jupyter token one route at a time (``GET bots``, ``GET kernels/{id}/grants``,
``GET notebook-grants``, ``GET connections``); gathered here, the sidebar can show it beside each
connection without asking once per kernel. Connection names are encrypted in the vault, so the
vault must be unlocked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .models import DescribeConnectionUsage, DescribeKernelUse, ListConnectionUsage

if TYPE_CHECKING:
    from ..bots.registry import BotRecord
    from ..vault import Vault

#: A running kernel's grants: its id, its session's notebook (or ``None``), connection ids.
KernelGrants = tuple[str, str | None, Sequence[str]]


def connection_usage(
    vault: Vault,
    bots: Iterable[BotRecord],
    kernels: Iterable[KernelGrants],
    remembered: Iterable[tuple[str, str]],
) -> ListConnectionUsage:
    """Usage of every readable connection of ``vault`` (unlocked, else the vault's refusal).

    ``remembered`` pairs a notebook path with a connection id. Grants of connections that no
    longer decrypt (or were removed meanwhile) are left out: they name nothing the user can act
    on here.
    """
    names = vault.connection_names()
    bot_names: dict[str, list[str]] = {connection_id: [] for connection_id in names}
    kernel_uses: dict[str, list[DescribeKernelUse]] = {connection_id: [] for connection_id in names}
    notebooks: dict[str, list[str]] = {connection_id: [] for connection_id in names}
    for bot in bots:
        for connection_id in bot.grants:
            if connection_id in bot_names:
                bot_names[connection_id].append(bot.name)
    for kernel_id, path, granted in kernels:
        for connection_id in granted:
            if connection_id in kernel_uses:
                kernel_uses[connection_id].append(DescribeKernelUse(kernel_id=kernel_id, path=path))
    for path, connection_id in remembered:
        if connection_id in notebooks:
            notebooks[connection_id].append(path)
    return ListConnectionUsage(
        usage=[
            DescribeConnectionUsage(
                connection_id=connection_id,
                connection=name,
                bots=sorted(bot_names[connection_id], key=str.casefold),
                kernels=sorted(
                    kernel_uses[connection_id], key=lambda use: (use.path or "", use.kernel_id)
                ),
                remembered=sorted(notebooks[connection_id]),
            )
            for connection_id, name in names.items()
        ]
    )
