"""uv as the bots' installer: found without a system install, run clean, stopped on time."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from watchdog_lab.bots.errors import EnvironmentBuildFailed
from watchdog_lab.bots.uvtool import (
    error_summary,
    find_uv,
    run_uv,
    scrub_credentials,
    uv_environment,
)


def make_script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


# --- finding uv -----------------------------------------------------------------------------


def test_uv_is_found_from_the_python_package_without_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    found = find_uv()
    assert os.access(found, os.X_OK)
    assert Path(found).name.startswith("uv")


# --- the clean environment ------------------------------------------------------------------


def test_only_allowlisted_variables_reach_uv(tmp_path: Path) -> None:
    source = {
        "PATH": "/usr/bin",
        "HOME": "/home/quant",
        "HTTPS_PROXY": "http://proxy.example:3128",
        "UV_INDEX_URL": "https://mirror.example/simple",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "WATCHDOG_LAB_VAULT_PASSWORD": "hunter2-hunter2",
        "JPY_SESSION_NAME": "notebook.ipynb",
        "PYTHONPATH": "/somewhere/else",
        "LD_PRELOAD": "/evil.so",
    }
    env = uv_environment(tmp_path / "cache", source)
    assert env["PATH"] == "/usr/bin"
    assert env["HOME"] == "/home/quant"
    assert env["HTTPS_PROXY"] == source["HTTPS_PROXY"]
    assert env["UV_INDEX_URL"] == source["UV_INDEX_URL"]
    assert env["UV_CACHE_DIR"] == str(tmp_path / "cache")
    for name in ("AWS_SECRET_ACCESS_KEY", "WATCHDOG_LAB_VAULT_PASSWORD", "JPY_SESSION_NAME"):
        assert name not in env
    assert "PYTHONPATH" not in env and "LD_PRELOAD" not in env
    assert not any("hunter2" in value for value in env.values())


def test_per_index_credentials_pass_but_lookalikes_do_not(tmp_path: Path) -> None:
    source = {
        "UV_INDEX_INTERNAL_USERNAME": "ci",
        "UV_INDEX_INTERNAL_PASSWORD": "token",
        "UV_INDEX_INTERNAL_SECRET": "nope",
    }
    env = uv_environment(tmp_path, source)
    assert env["UV_INDEX_INTERNAL_USERNAME"] == "ci"
    assert env["UV_INDEX_INTERNAL_PASSWORD"] == "token"
    assert "UV_INDEX_INTERNAL_SECRET" not in env


def test_pip_index_settings_are_translated_for_uv(tmp_path: Path) -> None:
    source = {
        "PIP_INDEX_URL": "https://mirror.example/simple",
        "PIP_EXTRA_INDEX_URL": "https://extra.example/simple",
        "PIP_FIND_LINKS": "/srv/wheels  /opt/more-wheels",
        "PIP_CERT": "/etc/company-ca.pem",
        "PIP_TRUSTED_HOST": "mirror.example",
    }
    env = uv_environment(tmp_path, source)
    assert env["UV_INDEX_URL"] == "https://mirror.example/simple"
    assert env["UV_EXTRA_INDEX_URL"] == "https://extra.example/simple"
    assert env["UV_FIND_LINKS"] == "/srv/wheels,/opt/more-wheels"
    assert env["SSL_CERT_FILE"] == "/etc/company-ca.pem"
    assert "UV_INSECURE_HOST" not in env
    assert not any(name.startswith("PIP_") for name in env)


def test_a_uv_setting_wins_over_its_pip_counterpart(tmp_path: Path) -> None:
    source = {"PIP_INDEX_URL": "https://pip.example/simple", "UV_INDEX_URL": "https://uv.example"}
    assert uv_environment(tmp_path, source)["UV_INDEX_URL"] == "https://uv.example"


# --- error messages -------------------------------------------------------------------------


def test_error_summary_keeps_uvs_error_block_and_drops_the_chatter() -> None:
    stderr = (
        "Using Python 3.11.7 environment at: venv\n"
        "Resolved 30 packages in 12ms\n"
        "error: No solution found when resolving dependencies\n"
        "  cause: Because docopt==0.6.2 has no usable wheels ...\n"
        "hint: Wheels are required for `docopt`\n"
    )
    summary = error_summary(stderr)
    assert summary.startswith("error: No solution found")
    assert "docopt" in summary and "hint:" in summary
    assert "Resolved 30 packages" not in summary


def test_credentials_in_index_urls_are_hidden() -> None:
    text = "error: Failed to fetch https://ci:s3cr3t-t0ken@mirror.example/simple/six/"
    scrubbed = scrub_credentials(text)
    assert "s3cr3t-t0ken" not in scrubbed and "ci:" not in scrubbed
    assert "https://****@mirror.example/simple/six/" in scrubbed
    assert "s3cr3t-t0ken" not in error_summary(text)


# --- running --------------------------------------------------------------------------------


def test_a_failing_uv_raises_with_its_error_lines(tmp_path: Path) -> None:
    fake = make_script(
        tmp_path / "uv", 'echo "Resolved 1 package" >&2; echo "error: boom" >&2; exit 2'
    )
    with pytest.raises(EnvironmentBuildFailed, match=r"(?s)while testing \(exit 2\).*error: boom"):
        run_uv(fake, [], env={"PATH": os.defpath}, cwd=tmp_path, timeout=30, action="testing")


def test_uvs_stderr_is_streamed_line_by_line(tmp_path: Path) -> None:
    fake = make_script(tmp_path / "uv", "echo one >&2; echo two >&2; echo out")
    lines: list[str] = []
    result = run_uv(
        fake, [], env={}, cwd=tmp_path, timeout=30, action="testing", on_line=lines.append
    )
    assert lines == ["one", "two"]
    assert result.stdout == "out\n"


def test_arguments_reach_uv_verbatim_without_a_shell(tmp_path: Path) -> None:
    fake = make_script(tmp_path / "uv", 'for a in "$@"; do echo "$a"; done')
    tricky = ["six; touch pwned", "$(touch pwned)", "a b"]
    result = run_uv(fake, tricky, env={}, cwd=tmp_path, timeout=30, action="testing")
    assert result.stdout.splitlines() == tricky
    assert not (tmp_path / "pwned").exists()


def test_timeout_kills_uv_and_everything_it_started(tmp_path: Path) -> None:
    child_pid_file = tmp_path / "child.pid"
    fake = make_script(tmp_path / "uv", f'sleep 60 & echo $! > "{child_pid_file}"; wait')
    started = time.monotonic()
    with pytest.raises(EnvironmentBuildFailed, match="Timed out"):
        run_uv(fake, [], env={"PATH": os.defpath}, cwd=tmp_path, timeout=1, action="testing")
    assert time.monotonic() - started < 10
    child = int(child_pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_failing_progress_callback_does_not_stall_uv(tmp_path: Path) -> None:
    # 20,000 lines (~190 KB) overflow a pipe buffer: had the reader stopped at the first
    # callback error, uv would block writing and the run would time out instead of finishing.
    fake = make_script(
        tmp_path / "uv", 'i=0; while [ $i -lt 20000 ]; do echo "line $i" >&2; i=$((i+1)); done'
    )

    def broken(line: str) -> None:
        raise RuntimeError("log sink is gone")

    result = run_uv(fake, [], env={}, cwd=tmp_path, timeout=20, action="testing", on_line=broken)
    assert result.stderr.count("\n") == 20000
