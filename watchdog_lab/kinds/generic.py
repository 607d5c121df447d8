"""Generic: any named secret fields, for a service no other kind describes."""

from __future__ import annotations

from .base import KindSpec

KIND = KindSpec("generic", open=True, description="any named secret fields")
