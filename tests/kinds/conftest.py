"""A folder added to the kinds package's path: a kind module dropped there is part of it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from watchdog_lab import kinds


@contextlib.contextmanager
def extra_kind_folder(tmp_path: Path) -> Iterator[Path]:
    """While open, modules written to the yielded folder are modules of ``watchdog_lab.kinds``."""
    folder = tmp_path / "more-kinds"
    folder.mkdir()
    original = kinds.__path__
    kinds.__path__ = [*original, str(folder)]
    kinds.refresh()
    try:
        yield folder
    finally:
        kinds.__path__ = original
        for name in [m for m in sys.modules if m.startswith("watchdog_lab.kinds.")]:
            module = sys.modules[name]
            if str(folder) in str(getattr(module, "__file__", "")):
                del sys.modules[name]
        kinds.refresh()
