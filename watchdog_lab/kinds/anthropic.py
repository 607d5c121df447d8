"""Anthropic: one API key, used by AI Fix."""

from __future__ import annotations

from .base import FieldSpec, KindSpec

KIND = KindSpec(
    "anthropic", (FieldSpec("api_key", "secret"),), description="Anthropic API key (for AI Fix)"
)
