"""Sandbox detection: what it reports must match what the machine really does."""

from __future__ import annotations

import ctypes
import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots import sandbox
from watchdog_lab.bots.sandbox import SandboxSupport, choose_best, detect, landlock_abi

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux probes")


def _create_ruleset_fd() -> int:
    """Independently of the probe: make a real (unenforced) Landlock ruleset, return its fd."""

    class Attr(ctypes.Structure):
        _fields_ = [("handled_access_fs", ctypes.c_uint64)]

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    attr = Attr(1)  # LANDLOCK_ACCESS_FS_EXECUTE, known since ABI 1
    return int(
        libc.syscall(
            ctypes.c_long(444), ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), 0
        )
    )


@linux_only
def test_landlock_abi_agrees_with_creating_a_ruleset() -> None:
    if os.uname().machine not in sandbox.LANDLOCK_CREATE_RULESET:
        pytest.skip("architecture without a known syscall number")
    abi, note = landlock_abi()
    fd = _create_ruleset_fd()
    try:
        if abi is None:
            assert fd < 0 and note
        else:
            assert abi >= 1 and fd >= 0 and note == ""
    finally:
        if fd >= 0:
            os.close(fd)


@linux_only
def test_a_syscall_the_kernel_lacks_reports_no_landlock() -> None:
    abi, note = landlock_abi(syscall_nr=1000)  # unassigned on every Linux architecture
    assert abi is None
    assert "without Landlock" in note


def _no_new_privs_flag() -> str:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("NoNewPrivs:"):
            return line.split()[1]
    raise AssertionError("no NoNewPrivs line")


@linux_only
def test_no_new_privs_is_only_queried_never_set() -> None:
    before = _no_new_privs_flag()
    assert sandbox.no_new_privs_available() is True
    detect(refresh=True)
    assert _no_new_privs_flag() == before


@linux_only
def test_user_namespace_probe_agrees_with_unshare() -> None:
    tool = shutil.which("unshare")
    if tool is None:
        pytest.skip("util-linux unshare not installed")
    real = subprocess.run([tool, "--user", "true"], capture_output=True, check=False)
    assert sandbox.user_namespaces_work() is (real.returncode == 0)


def _fake_bwrap(folder: Path, exit_code: int) -> Path:
    folder.mkdir()
    script = folder / "bwrap"
    script.write_text(f"#!/bin/sh\nexit {exit_code}\n")
    script.chmod(0o755)
    return script


def test_bubblewrap_missing_from_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    found = detect(refresh=True)
    assert found.bubblewrap is None and found.bubblewrap_works is False
    assert found.best != "bubblewrap"


def test_bubblewrap_that_fails_is_not_counted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = _fake_bwrap(tmp_path / "bin", exit_code=1)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    found = detect(refresh=True)
    assert found.bubblewrap == str(fake)
    assert found.bubblewrap_works is False


def test_bubblewrap_is_judged_by_running_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = _fake_bwrap(tmp_path / "bin", exit_code=0)
    assert sandbox.bubblewrap_works(str(fake)) is True
    assert sandbox.bubblewrap_works(str(tmp_path / "missing")) is False


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")
def test_installed_bubblewrap_agrees_with_a_real_sandboxed_run() -> None:
    real = subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "--", "true"],
        capture_output=True,
        check=False,
    )
    assert detect(refresh=True).bubblewrap_works is (real.returncode == 0)


@pytest.mark.parametrize(
    ("landlock", "nnp", "bwrap", "best"),
    [
        (7, True, True, "landlock"),
        (1, True, False, "landlock"),
        (7, False, True, "bubblewrap"),
        (None, True, True, "bubblewrap"),
        (0, True, False, "unsandboxed"),
        (None, True, False, "unsandboxed"),
        (7, False, False, "unsandboxed"),
    ],
)
def test_best_level_policy(landlock: int | None, nnp: bool, bwrap: bool, best: str) -> None:
    assert choose_best(landlock, nnp, bwrap) == best


def test_detect_reports_its_own_best_level_and_is_cached() -> None:
    found = detect(refresh=True)
    assert found.best == choose_best(found.landlock_abi, found.no_new_privs, found.bubblewrap_works)
    assert detect() is found
    assert found.summary().startswith(f"{found.best}: ")
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.best = "landlock"  # type: ignore[misc]
    assert isinstance(found, SandboxSupport)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Probes made under a patched PATH must not leak into other tests."""
    yield
    detect(refresh=True)
