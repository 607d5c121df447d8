"""The doctor's facts: vault state, private modes, tools and versions, sandbox level."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import stat
import uuid
from pathlib import Path

import pytest

from watchdog_lab import __version__
from watchdog_lab.bots.errors import PromoteRunning
from watchdog_lab.bots.leftovers import promoting, remove_leftovers
from watchdog_lab.bots.sandbox import SandboxSupport
from watchdog_lab.doctor import find_uv, gather, registered_bots
from watchdog_lab.vault import KdfParams, Vault

FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
SANDBOX = SandboxSupport(
    best="landlock",
    landlock_abi=7,
    landlock_note="",
    no_new_privs=True,
    bubblewrap=None,
    bubblewrap_works=False,
    user_namespaces=True,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    with Vault(home, kdf=FAST_KDF) as vault:
        vault.create("correct horse battery")
    return home


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_absent_vault_is_reported_and_nothing_is_created(tmp_path: Path) -> None:
    home = tmp_path / "nothing-here"
    report = gather(home, sandbox=SANDBOX)
    assert report.vault.state == "absent"
    assert not home.exists()
    assert any("watchdog-lab init" in w for w in report.warnings)


def test_private_modes_give_no_warning(home: Path) -> None:
    report = gather(home, sandbox=SANDBOX)
    assert (report.home.mode, report.vault_file.mode) == ("0700", "0600")
    assert not report.home.too_open and not report.vault_file.too_open
    assert report.vault.state == "locked" and report.vault.totp_enabled is False
    assert not any("looser" in w for w in report.warnings)


def test_loose_modes_are_reported_as_found_then_tightened(home: Path) -> None:
    home.chmod(0o755)
    (home / "vault.db").chmod(0o644)
    report = gather(home, sandbox=SANDBOX)
    assert report.home.mode == "0755" and report.home.too_open and report.home.tightened
    assert report.vault_file.mode == "0644" and report.vault_file.too_open
    loose = [w for w in report.warnings if "looser" in w]
    assert len(loose) == 2
    assert _mode(home) == 0o700 and _mode(home / "vault.db") == 0o600


def test_unreadable_vault_is_an_error_state_not_a_crash(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "vault.db").write_bytes(b"this is not sqlite" * 100)
    report = gather(home, sandbox=SANDBOX)
    assert report.vault.state == "error"
    assert "not a readable SQLite database" in (report.vault.error or "")
    assert any("cannot be opened" in w for w in report.warnings)


def test_versions_are_the_installed_ones(home: Path) -> None:
    report = gather(home, sandbox=SANDBOX)
    assert report.watchdog_lab == __version__
    assert report.python.version == platform.python_version()
    for name in ("jupyter_server", "jupyterlab"):
        assert report.packages[name] == importlib.metadata.version(name)


def test_uv_version_comes_from_running_uv(home: Path, tmp_path: Path) -> None:
    fake = tmp_path / "uv"
    fake.write_text('#!/bin/sh\necho "uv 9.8.7 (test build)"\n')
    fake.chmod(0o755)
    report = gather(home, sandbox=SANDBOX, locate_uv=lambda: str(fake))
    assert report.uv.version == "uv 9.8.7 (test build)" and report.uv.path == str(fake)


def test_missing_uv_is_a_warning(home: Path) -> None:
    report = gather(home, sandbox=SANDBOX, locate_uv=lambda: None)
    assert report.uv.version is None and "pip install uv" in (report.uv.error or "")
    assert any("uv is unusable" in w for w in report.warnings)


def test_real_uv_is_found() -> None:
    path = find_uv()
    if path is None:
        pytest.skip("uv is not installed")
    report = gather(Path("/nonexistent-home-for-doctor"), sandbox=SANDBOX)
    assert (report.uv.version or "").startswith("uv ")


def test_unsandboxed_machine_is_a_warning(home: Path) -> None:
    none = SandboxSupport(
        "unsandboxed", None, "kernel built without Landlock", False, None, False, False
    )
    report = gather(home, sandbox=none)
    assert any("unsandboxed" in w for w in report.warnings)
    assert not any("unsandboxed" in w for w in gather(home, sandbox=SANDBOX).warnings)


def test_report_is_json_serialisable(home: Path) -> None:
    data = json.loads(json.dumps(gather(home).model_dump(mode="json")))
    assert data["sandbox"]["best"] in {"landlock", "bubblewrap", "unsandboxed"}
    assert data["vault_file"]["expected"] == "0600"


def test_the_interactive_kernel_sandbox_is_reported(home: Path) -> None:
    from watchdog_lab.provisioning import describe_kernel_sandbox

    assert gather(home, sandbox=SANDBOX).kernel_sandbox == describe_kernel_sandbox("best")
    given = "landlock (ABI 7) + private mounts + private /proc"
    report = gather(home, sandbox=SANDBOX, kernel_sandbox=given)
    assert report.kernel_sandbox == given
    assert not any("Interactive kernels" in w for w in report.warnings)


def test_unconfined_interactive_kernels_are_a_warning(home: Path) -> None:
    report = gather(home, sandbox=SANDBOX, kernel_sandbox="unconfined: no Landlock")
    (warning,) = [w for w in report.warnings if "Interactive kernels" in w]
    assert "(no Landlock)" in warning and "Jupyter token" in warning


def _leftover(home: Path) -> str:
    """A bot folder and kernelspec with no registry entry, as a killed promote leaves them."""
    from watchdog_lab.bots.kernelspec import kernelspec_dir

    bot_id = uuid.uuid4().hex
    (home / "bots" / bot_id / "venv").mkdir(parents=True)
    (home / "bots" / bot_id / "venv" / "big").write_bytes(b"x" * 4096)
    kernelspec_dir(home, bot_id).mkdir(parents=True)
    return bot_id


def test_bot_files_no_registered_bot_owns_are_reported(home: Path) -> None:
    bot_id = _leftover(home)
    report = gather(home, sandbox=SANDBOX)
    (left,) = report.leftovers
    assert left.id == bot_id and left.size_bytes == 4096
    assert left.folder == str(home / "bots" / bot_id) and left.kernelspec is not None
    assert any("doctor --fix" in w for w in report.warnings)


def test_leftovers_are_not_removed_while_a_promote_runs(home: Path) -> None:
    bot_id = _leftover(home)
    with promoting(home):  # as a promote holds it until its bot is registered
        report = gather(home, sandbox=SANDBOX)
        assert report.promote_running
        assert not any("doctor --fix" in w for w in report.warnings)
        with pytest.raises(PromoteRunning):
            remove_leftovers(home, lambda: registered_bots(home), {bot_id})
    assert (home / "bots" / bot_id).is_dir()


def test_removal_spares_a_bot_registered_after_the_report(home: Path) -> None:
    bot_id = _leftover(home)
    removed = remove_leftovers(home, lambda: {bot_id}, {bot_id})
    assert removed == [] and (home / "bots" / bot_id).is_dir()
