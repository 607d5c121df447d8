"""The vault's settings (``c.WatchdogLab.auto_lock_minutes``, the Argon2id costs), declared and
checked beside the vault that uses them.

The values bound what an attacker with a copy of ``vault.db`` must pay per guess, so the checks
refuse costs below what keeps a vault expensive to brute-force and above what a laptop can
unlock; a bad value stops the server or the CLI at start, with the setting's name.
"""

from __future__ import annotations

from typing import Any

from traitlets import Float, Int, TraitError, validate
from traitlets.config import LoggingConfigurable

from .crypto import KdfParams

__all__ = ["VaultConfig", "in_range"]

#: Idle auto-lock ceiling: a week; longer is "never", which 0 already says.
AUTO_LOCK_MAX_MINUTES = 7 * 24 * 60
# Bounds on Argon2id: below them a vault is cheap to brute-force, above them an unlock would
# take minutes or more memory than a laptop has.
ARGON2_TIME = (1, 64)
ARGON2_MEMORY_KIB = (8 * 1024, 4 * 1024 * 1024)
ARGON2_LANES = (1, 64)


def in_range(name: str, value: float, low: float, high: float, unit: str = "") -> None:
    """Raise the :class:`TraitError` a setting out of ``[low, high]`` (or NaN) deserves."""
    if not (low <= value <= high):  # NaN fails every comparison, so it lands here too
        raise TraitError(f"{name}: {value!r} is outside {_bound(low)} to {_bound(high)}{unit}.")


def _bound(value: float) -> str:
    """A bound as a user would type it: 4194304, not 4.1943e+06 (``:g``'s six digits)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class VaultConfig(LoggingConfigurable):
    """How a vault locks itself and what a new password costs to derive."""

    auto_lock_minutes = Float(
        30.0,
        help="Lock the vault (drop the data key) after this many minutes without a vault "
        "operation. 0 disables the idle lock.",
    ).tag(config=True)

    @validate("auto_lock_minutes")
    def _valid_auto_lock(self, proposal: Any) -> float:
        minutes = float(proposal["value"])
        in_range("auto_lock_minutes", minutes, 0, AUTO_LOCK_MAX_MINUTES, " minutes")
        return minutes

    argon2_time_cost = Int(3, help="Argon2id passes for a new vault or password.").tag(config=True)
    argon2_memory_kib = Int(64 * 1024, help="Argon2id memory in KiB.").tag(config=True)
    argon2_parallelism = Int(4, help="Argon2id lanes.").tag(config=True)

    @validate("argon2_time_cost", "argon2_memory_kib", "argon2_parallelism")
    def _valid_argon2(self, proposal: Any) -> int:
        name = proposal["trait"].name
        low, high = {
            "argon2_time_cost": ARGON2_TIME,
            "argon2_memory_kib": ARGON2_MEMORY_KIB,
            "argon2_parallelism": ARGON2_LANES,
        }[name]
        in_range(name, proposal["value"], low, high)
        return int(proposal["value"])

    @property
    def kdf(self) -> KdfParams:
        """The key-derivation costs for a new vault or a new password."""
        return KdfParams(self.argon2_time_cost, self.argon2_memory_kib, self.argon2_parallelism)
