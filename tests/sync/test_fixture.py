"""The sync tests' PostgreSQL fixture fails (never skips) without the server binaries."""

from __future__ import annotations

import pytest

from . import conftest


def test_missing_postgresql_binaries_fail_with_the_install_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conftest.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(conftest.shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="apt-get install postgresql"):
        conftest._pg_bin()
