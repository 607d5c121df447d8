"""The ``watchdog-lab`` command: the vault on a headless machine, the same rules as the UI.

A thin face: every decision about the vault is the vault's; this package only gets passwords
and fields from safe sources, prints masked results, and turns refusals into one-line errors.
"""

from __future__ import annotations

from .app import build_parser, main

__all__ = ["build_parser", "main"]
